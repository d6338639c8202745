"""Incident response: intake, classification (RSIT type, the regime's "serious" test, TLP), coordination tasks,
statutory deadlines per regime, observables and their sightings, sharing through intel, the network.

What other modules may call: `report_incident` (detection escalates alerts through it), `open_incidents_count`.
Regulation is data: deadlines, the serious test and forms come from `regulation.services.incident_policy`.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from attt.compliance import services as compliance
from attt.core import audit, scoping
from attt.core.auth import lockout
from attt.core.formats import local_time
from attt.core.locks import EditConflict, for_update, lock_current, lock_unchanged
from attt.core.models import Organization, User
from attt.core.services.notifications import notify_permission_holders
from attt.incidents.models import (
    OPEN_STATES,
    Deadline,
    Incident,
    IncidentTask,
    MemberReport,
    NetworkMember,
    Observable,
    Severity,
    Source,
    State,
    TimelineEntry,
)
from attt.intel import services as intel
from attt.intel.sharing import TLP_LEVELS, SharedObservable, SharedReport, strictest
from attt.registry import services as registry
from attt.regulation import services as regulation
from attt.regulation.errors import NoRegimeInForce

DATA = Path(__file__).resolve().parent / "data"
NAMESPACE = uuid.UUID("5b0f6d1e-3c55-4a4e-9d0a-1f6c2a9e7c11")  # stable STIX/MISP ids per incident
DUPLICATE_WINDOW = datetime.timedelta(hours=72)
CLOCK_SKEW = datetime.timedelta(minutes=5)  # how far ahead of ours a sender's clock may run
RECIPIENT_TLP = ("clear", "green", "amber", "amber+strict")  # what an assignee may see of the incident


# --- Taxonomy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentType:
    code: str  # "class/type"
    class_vi: str
    class_en: str
    vi: str
    en: str

    def label(self, lang: str | None = None) -> str:
        vi = (lang or get_language() or "vi").startswith("vi")
        return f"{self.class_vi} – {self.vi}" if vi else f"{self.class_en} – {self.en}"


@lru_cache(maxsize=1)
def taxonomy() -> dict[str, IncidentType]:
    """The RSIT classes and types (data/rsit.yaml) by code "class/type"."""
    data = yaml.safe_load((DATA / "rsit.yaml").read_text(encoding="utf-8"))
    return {
        f"{c['code']}/{t['code']}": IncidentType(f"{c['code']}/{t['code']}", c["vi"], c["en"], t["vi"], t["en"])
        for c in data["classes"]
        for t in c["types"]
    }


def category_choices() -> list[tuple[str, str]]:
    return [(code, t.label()) for code, t in taxonomy().items()]


# --- The serious-incident rule and the statutory deadlines ------------------------------------------


def is_serious(
    policy: regulation.IncidentPolicy,
    *,
    levels: list[int | None],
    national_important: bool,
    impacts: list[str],
    beyond_capacity: bool,
) -> bool:
    """The regime's test: an affected system at the rule's level (or national-important) suffering one of the
    listed impacts, and (when the rule says so) the owner unable to contain it alone."""
    rule = policy.serious_rule
    qualifies = any(level is not None and level >= rule.min_level for level in levels) or (
        rule.national_important_counts and national_important
    )
    hit = any(i in rule.impacts for i in impacts)
    return qualifies and hit and (beyond_capacity or not rule.requires_beyond_capacity)


def computed_severity(incident: Incident) -> str:
    """Severity from the rule and the affected systems' approved levels (compliance) and registry facts."""
    systems = list(incident.systems.all())
    levels = compliance.approved_levels([s.pk for s in systems])
    serious = is_serious(
        regulation.incident_policy(incident.regime),
        levels=[levels.get(s.pk) or s.decided_level for s in systems],
        national_important=any(s.national_important for s in systems),
        impacts=list(incident.impacts or []),
        beyond_capacity=incident.beyond_capacity,
    )
    return Severity.SERIOUS if serious else Severity.ORDINARY


def due_at(start: datetime.datetime, deadline) -> datetime.datetime:
    """When a statutory deadline falls: hours run on the clock; days end at the close of the last day, moved to
    the next working day when the data says so; working days use the regulation's calendar."""
    if deadline.unit == "hours":
        return start + datetime.timedelta(hours=deadline.amount)
    day = timezone.localtime(start).date()
    if deadline.unit == "working_days":
        day = regulation.add_working_days(day, deadline.amount)
    else:
        day = day + datetime.timedelta(days=deadline.amount)
        if deadline.roll_forward:
            day = regulation.next_working_day(day)
    end = datetime.datetime.combine(day, datetime.time(23, 59, 59))
    return timezone.make_aware(end)


def _conditions(incident: Incident) -> set[str]:
    found = {"always"}
    if incident.severity == Severity.SERIOUS or (not incident.severity and incident.severity_computed == "serious"):
        found.add("serious")
    if incident.beyond_capacity:
        found.add("beyond_capacity")
    if incident.national_security:
        found.add("national_security")
    return found


def plan_deadlines(incident: Incident) -> list[Deadline]:
    """Create or move the incident's deadlines to what its regime and current facts require; a deadline that
    no longer applies and was not met is dropped."""
    policy = regulation.incident_policy(incident.regime)
    starts = {"discovered": incident.discovered_at, "responded": incident.responded_at}
    conditions = set() if incident.state == State.REJECTED else _conditions(incident)  # not an incident: none due
    current = {d.code: d for d in incident.deadlines.all()}
    kept = []
    for rule in policy.deadlines:
        start = starts[rule.starts]
        existing = current.pop(rule.code, None)
        if start is None or not conditions.intersection(rule.when):
            if existing is not None and existing.met_at is None:
                existing.delete()
            elif existing is not None:
                kept.append(existing)
            continue
        when = due_at(start, rule)
        if existing is None:
            existing = Deadline.objects.create(
                incident=incident, organization=incident.organization, code=rule.code, due_at=when
            )
        elif existing.due_at != when:
            existing.due_at = when
            existing.late = existing.met_at is not None and existing.met_at > when
            existing.save(update_fields=["due_at", "late", "updated_at"])
        kept.append(existing)
    for stale in current.values():
        if stale.met_at is None:
            stale.delete()
    return kept


def deadline_rule(regime: str, code: str):
    return next((d for d in regulation.incident_policy(regime).deadlines if d.code == code), None)


# --- Intake ------------------------------------------------------------------------------------------


def _number() -> str:
    return f"SC{timezone.localdate():%y}-{secrets.token_hex(3).upper()}"


def _create_numbered(**fields) -> Incident:
    """A new incident under a random number; a number already taken (at 10^5 incidents a year, about 300 draws
    a year clash) draws another instead of failing the report."""
    for _attempt in range(8):
        number = _number()
        try:
            with transaction.atomic():  # a savepoint: a clash leaves the caller's transaction usable
                return Incident.objects.create(number=number, **fields)
        except IntegrityError:
            if not Incident.objects.filter(number=number).exists():
                raise  # another constraint
    raise IntegrityError("no free incident number after 8 draws")


def log(incident: Incident, action: str, *, by: User | None = None, note: str = "") -> TimelineEntry:
    """One line of the incident's timeline, and the same step in the audit chain."""
    entry = TimelineEntry.objects.create(
        incident=incident,
        organization=incident.organization,
        at=timezone.now(),
        actor=by if getattr(by, "pk", None) else None,
        action=action,
        note=note[:4000],
    )
    audit.record("workflow", obj=incident, changes={"step": action, "note": note[:500]})
    return entry


def national_coordinator() -> Organization:
    """The root of the tree: public reports and external CERTs' records go there."""
    return Organization.objects.filter(parent__isnull=True, is_active=True).order_by("created_at").first()


def report_incident(
    *,
    organization,
    title: str,
    description: str,
    source: str,
    reporter=None,
    systems: list[uuid.UUID] | None = None,
    observables: list[tuple[str, str]] | None = None,
    occurred_at: datetime.datetime | None = None,
    category: str | None = None,
):
    """Open an incident (state "received") as if reported through the authenticated form; `source` is one of
    the intake channels (e.g. "soc" when detection escalates an alert). Returns the Incident."""
    if source not in Source.values:
        raise ValidationError({"source": _("Unknown intake channel %(s)r.") % {"s": source}})
    if category and category not in taxonomy():
        raise ValidationError({"category": _("Unknown incident type %(c)r.") % {"c": category}})
    if not (title or "").strip():
        raise ValidationError({"title": _("An incident needs a title.")})
    for field, text in (("title", title), ("description", description or "")):
        if "\x00" in text:  # no text column keeps it (PostgreSQL refuses the whole statement)
            raise ValidationError({field: _("The text contains a NUL character.")})
    limit = MAX_PUBLIC_OBSERVABLES if source == Source.PUBLIC else MAX_OBSERVABLES
    if len(observables or []) > limit:
        raise ValidationError({"observables": _("At most %(n)s observables.") % {"n": limit}})
    normalised = []
    for i, (kind, value) in enumerate(observables or []):
        try:
            normalised.append((kind, intel.normalise_observable(kind, value)))
        except ValueError as exc:
            raise ValidationError({"observables": f"{i + 1}: {exc}"}) from None
    system_ids = list(dict.fromkeys(systems or []))
    if system_ids:
        found = set(
            registry.systems_of_organization(national_coordinator())
            .filter(pk__in=system_ids)
            .values_list("pk", flat=True)
        )
        if missing := [str(s) for s in system_ids if s not in found]:
            raise ValidationError({"systems": _("Unknown systems: %(ids)s.") % {"ids": ", ".join(missing)}})
    discovered = occurred_at or timezone.now()
    regime = _regime_of_discovery(discovered)
    with transaction.atomic():
        incident = _create_numbered(
            organization=organization,
            title=title.strip()[:255],
            description=description or "",
            source=source,
            regime=regime,
            category=category or "",
            reporter=reporter if getattr(reporter, "pk", None) else None,
            discovered_at=discovered,
        )
        if system_ids:
            incident.systems.set(system_ids)
        Observable.objects.bulk_create(
            [
                Observable(incident=incident, organization=organization, kind=k, value=v)
                for k, v in dict.fromkeys(normalised)
            ]
        )
        incident.severity_computed = computed_severity(incident)
        incident.save(update_fields=["severity_computed"])
        plan_deadlines(incident)
        log(incident, "received", by=reporter, note=Source(source).label)
        transaction.on_commit(lambda: _notify_received(incident))
    return incident


def _regime_of_discovery(discovered: datetime.datetime) -> str:
    """The regime the deadlines of an incident discovered then run under. A discovery after now would move every
    deadline out of reach (a sender's clock may run a little ahead), and one before any regime has none."""
    if discovered > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"discovered_at": _("The discovery time lies in the future.")})
    day = timezone.localtime(discovered).date()
    try:
        return regulation.regime_in_force(day).code
    except NoRegimeInForce:
        raise ValidationError(
            {"discovered_at": _("No legal regime in the data was in force on %(d)s.") % {"d": f"{day:%d/%m/%Y}"}}
        ) from None


def _notify_received(incident: Incident) -> None:
    notify_permission_holders(
        "incidents.incident.classify",
        incident.organization,
        title=_("New incident %(n)s: %(t)s") % {"n": incident.number, "t": incident.title},
        link=incident.get_absolute_url(),
        email=False,
    )


PUBLIC_LIMIT_PER_HOUR = 5
MAX_OBSERVABLES = 500  # per incident through a form or the API
MAX_PUBLIC_OBSERVABLES = 20  # per public report: an anonymous sender must not fill the observable tables


def public_reports_from(address: str | None, since: datetime.datetime) -> int:
    """How many public reports came from this address since `since` (counted in the database, so the limit
    holds across server processes): an IPv4 address, or the /64 of an IPv6 one, as the log-in lock-out counts."""
    return Incident.objects.filter(
        source=Source.PUBLIC, reporter_address=lockout.address_source(address), received_at__gte=since
    ).count()


def report_public(*, title: str, description: str, name: str, contact: str, address: str | None, observables=()):
    """A report from the public web form: to the national coordinator, TLP:AMBER until verified. The reporter's
    details are written in the same transaction: the hourly limit counts by address (kept as it counts them; the
    audit log has the full one)."""
    with transaction.atomic():
        incident = report_incident(
            organization=national_coordinator(),
            title=title,
            description=description,
            source=Source.PUBLIC,
            observables=list(observables),
        )
        reporter = {
            "reporter_name": name,
            "reporter_contact": contact,
            "reporter_address": lockout.address_source(address),
        }
        Incident.objects.filter(pk=incident.pk).update(**reporter)
        for field, value in reporter.items():
            setattr(incident, field, value)
    return incident


def duplicate_hints(user: User, incident: Incident, limit: int = 10) -> QuerySet[Incident]:
    """Visible incidents close in time sharing an affected system or an observable: probably the same one."""
    window = Q(discovered_at__gte=incident.discovered_at - DUPLICATE_WINDOW) & Q(
        discovered_at__lte=incident.discovered_at + DUPLICATE_WINDOW
    )
    pairs = list(incident.observables.values_list("kind", "value")[:200])
    same_obs = Q()
    for kind, value in pairs:
        same_obs |= Q(kind=kind, value=value)
    by_obs = (
        Observable.objects.filter(same_obs).values("incident_id")
        if pairs
        else Observable.objects.none().values("incident_id")
    )
    system_ids = list(incident.systems.values_list("pk", flat=True))
    match = Q(pk__in=by_obs) | Q(systems__in=system_ids) if system_ids else Q(pk__in=by_obs)
    return (
        scoping.visible(user, Incident.objects.filter(window).filter(match).exclude(pk=incident.pk))
        .distinct()
        .order_by("-discovered_at")[:limit]
    )


def sightings(user: User, observables: list[Observable]) -> dict[tuple[str, str], int]:
    """For each (kind, value): in how many other visible incidents it was seen."""
    if not observables:
        return {}
    cond = Q()
    for o in observables:
        cond |= Q(kind=o.kind, value=o.value)
    rows = (
        scoping.visible(user, Observable.objects.filter(cond))
        .values("kind", "value")
        .annotate(n=Count("incident", distinct=True))
    )
    return {(r["kind"], r["value"]): r["n"] - 1 for r in rows}


# --- Lifecycle ---------------------------------------------------------------------------------------


STEPS = {
    # step: (from states, to state, permission action)
    "classify": ((State.RECEIVED, State.CLASSIFIED), State.CLASSIFIED, "classify"),
    "reject": ((State.RECEIVED,), State.REJECTED, "classify"),
    "respond": ((State.CLASSIFIED, State.COORDINATING), State.RESPONDED, "change"),
    "closure_report": ((State.RESPONDED,), State.CLOSURE_REPORTED, "change"),
    "close": ((State.CLOSURE_REPORTED,), State.CLOSED, "close"),
}


def allowed_steps(user: User, incident: Incident) -> list[str]:
    return [
        step
        for step, (sources, _to, action) in STEPS.items()
        if incident.state in sources and scoping.can(user, action, incident)
    ]


def _step(incident: Incident, step: str, by: User, read_version: str = "") -> None:
    """Refuse a step the incident's current state does not allow (a stale copy gets the same refusal), or one sent
    from a page showing another version of it (`read_version`, see `core.locks.lock_unchanged`)."""
    try:
        lock_unchanged(incident, read_version)
    except EditConflict:
        raise ValidationError(
            _("Someone else changed this incident after you opened the page; nothing was saved. Check it again.")
        ) from None
    sources, _to, action = STEPS[step]
    if incident.state not in sources:
        raise ValidationError(
            _("This step is not possible while the incident is %(state)s.") % {"state": incident.get_state_display()}
        )
    if not scoping.can(by, action, incident):
        raise PermissionDenied


CLASSIFICATION_FIELDS = (
    "category",
    "tlp",
    "impacts",
    "beyond_capacity",
    "national_security",
    "severity_computed",
    "severity",
    "severity_confirmed_by",
)


@transaction.atomic
def classify(
    incident: Incident,
    *,
    by: User,
    category: str,
    tlp: str,
    impacts: list[str] | None = None,
    beyond_capacity: bool = False,
    national_security: bool = False,
    severity: str | None = None,
    note: str = "",
    read_version: str = "",
) -> Incident:
    """Verify and classify: type, impacts, TLP; the severity is computed from the rule and may be confirmed or
    overridden by the coordinator (`severity`). Re-classifying later recomputes the deadlines; `read_version` is
    the incident's version the coordinator's page showed (a re-classification would else undo another's unseen)."""
    _step(incident, "classify", by, read_version)
    if category not in taxonomy():
        raise ValidationError({"category": _("Unknown incident type.")})
    if tlp not in TLP_LEVELS:
        raise ValidationError({"tlp": _("Unknown TLP marking.")})
    rule = regulation.incident_policy(incident.regime).serious_rule
    if bad := [i for i in impacts or [] if i not in rule.impacts]:
        raise ValidationError({"impacts": _("Unknown impacts: %(i)s.") % {"i": ", ".join(bad)}})
    if severity and severity not in Severity.values:
        raise ValidationError({"severity": _("Unknown severity.")})
    incident.category, incident.tlp, incident.impacts = category, tlp, list(impacts or [])
    incident.beyond_capacity, incident.national_security = beyond_capacity, national_security
    incident.severity_computed = computed_severity(incident)
    incident.severity = severity or incident.severity_computed
    incident.severity_confirmed_by = by
    if incident.state == State.RECEIVED:
        incident.state = State.CLASSIFIED
    incident.save(update_fields=[*CLASSIFICATION_FIELDS, "state", "updated_at"])
    plan_deadlines(incident)
    text = _("Type %(c)s, severity %(s)s (computed: %(x)s), TLP:%(t)s.") % {
        "c": category,
        "s": incident.get_severity_display(),
        "x": incident.get_severity_computed_display(),
        "t": tlp.upper(),
    }
    log(incident, "classified", by=by, note=(text + " " + note).strip())
    return incident


@transaction.atomic
def mark_duplicate(incident: Incident, original: Incident, *, by: User) -> Incident:
    """A report of an incident already known: linked to it and rejected, its observables kept for sightings."""
    _step(incident, "reject", by)
    if original.pk == incident.pk or not scoping.can(by, "view", original):
        raise ValidationError(_("Choose another visible incident as the original."))
    incident.duplicate_of = original
    incident.state = State.REJECTED
    incident.save(update_fields=["duplicate_of", "state", "updated_at"])
    plan_deadlines(incident)
    log(incident, "duplicate", by=by, note=original.number)
    log(original, "duplicate_linked", by=by, note=incident.number)
    return incident


@transaction.atomic
def take_step(incident: Incident, step: str, *, by: User, note: str = "") -> Incident:
    """respond / closure_report / close / reject (classify has its own form)."""
    if step not in STEPS or step == "classify":
        raise ValidationError(_("Unknown step."))
    _step(incident, step, by)
    now = timezone.now()
    incident.state = STEPS[step][1]
    changed = ["state", "updated_at"]
    if step == "respond":
        incident.responded_at = now
        changed.append("responded_at")
    if step == "close":
        incident.closed_at = now
        changed.append("closed_at")
    incident.save(update_fields=changed)
    plan_deadlines(incident)
    if step == "closure_report":
        mark_report_sent(incident, "closure_report", by=by, log_it=False)
    log(incident, step, by=by, note=note)
    return incident


@transaction.atomic
def mark_report_sent(incident: Incident, form: str, *, by: User, log_it: bool = True) -> int:
    """The report a form stands for was sent: every open deadline answered by that form is met now."""
    codes = [d.code for d in regulation.incident_policy(incident.regime).deadlines if d.form == form]
    now = timezone.now()
    audit.lock_chain()  # before the deadlines' rows: the one lock order (docs/architecture.md)
    open_ = incident.deadlines.filter(code__in=codes, met_at__isnull=True)
    met = open_.filter(due_at__lt=now).update(met_at=now, late=True) + open_.update(met_at=now)
    if log_it:
        log(incident, "report_sent", by=by, note=form)
    return met


# --- Coordination ----------------------------------------------------------------------------------------


@transaction.atomic
def add_task(
    incident: Incident,
    *,
    by: User,
    assignee: Organization,
    title: str,
    due_date: datetime.date,
    description: str = "",
    kind: str = IncidentTask.Kind.TASK,
) -> IncidentTask:
    """Ask an organisation (a network member, an operator) to act; the incident becomes "coordinating"."""
    lock_current(incident)
    if not scoping.can(by, "coordinate", incident):
        raise PermissionDenied
    if incident.state not in (State.CLASSIFIED, State.COORDINATING, State.RESPONDED):
        raise ValidationError(_("Classify the incident before coordinating it."))
    if not assignable_organizations(incident).filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": _("Tasks go to network members or to units of the incident's owner.")})
    task = IncidentTask.objects.create(
        incident=incident,
        organization=assignee,
        kind=kind,
        title=title,
        description=description,
        due_date=due_date,
    )
    if incident.state == State.CLASSIFIED:
        incident.state = State.COORDINATING
        incident.save(update_fields=["state", "updated_at"])
    log(incident, "task_added", by=by, note=f"{assignee.name}: {title}")
    transaction.on_commit(
        lambda: notify_permission_holders(
            "incidents.incidenttask.change",
            assignee,
            title=_("Incident task: %(t)s") % {"t": title},
            link=task.get_absolute_url(),
            email=False,
        )
    )
    return task


@transaction.atomic
def task_step(task: IncidentTask, status: str, *, by: User, evidence: str = "") -> IncidentTask:
    """The assignee acknowledges, completes (with evidence) or declines its task."""
    lock_current(task)
    if not scoping.can(by, "change", task):
        raise PermissionDenied
    allowed = {
        IncidentTask.Status.OPEN: {IncidentTask.Status.ACKNOWLEDGED, IncidentTask.Status.DECLINED},
        IncidentTask.Status.ACKNOWLEDGED: {IncidentTask.Status.DONE, IncidentTask.Status.DECLINED},
    }.get(task.status, set())
    if status not in allowed:
        raise ValidationError(_("This step is not possible for the task now."))
    if status == IncidentTask.Status.DONE and not (evidence.strip() or task.evidence or task.attachments.exists()):
        raise ValidationError({"evidence": _("Describe or attach the evidence of what was done.")})
    now = timezone.now()
    task.status = status
    if status == IncidentTask.Status.ACKNOWLEDGED:
        task.acknowledged_at = now
    else:
        task.completed_at = now
    if evidence.strip():
        task.evidence = (task.evidence + "\n" + evidence.strip()).strip()
    task.save(update_fields=["status", "acknowledged_at", "completed_at", "evidence", "updated_at"])
    log(task.incident, f"task_{status}", by=by, note=f"{task.organization.name}: {task.title}")
    return task


def assignable_organizations(incident: Incident) -> QuerySet[Organization]:
    """Who a task may go to: network members' organisations and the units under the incident's owner."""
    members = NetworkMember.objects.filter(active=True).values("organization")
    return (
        Organization.objects.filter(is_active=True)
        .filter(Q(pk__in=members) | Q(path__startswith=incident.organization.path))
        .order_by("depth", "name")
    )


def recipient_view(task: IncidentTask) -> dict:
    """What the assignee of a task may see of its incident: the shareable part at the TLP allowed (TLP:RED
    shows nothing beyond the task itself)."""
    incident = task.incident
    if incident.tlp not in RECIPIENT_TLP:
        return {"incident": None, "observables": []}
    return {
        "incident": incident,
        "observables": list(incident.observables.filter(shareable=True)),
    }


# --- Observables ----------------------------------------------------------------------------------------


def add_observable(
    incident: Incident, kind: str, value: str, *, by: User, shareable: bool = True, comment: str = ""
) -> Observable:
    try:
        value = intel.normalise_observable(kind, value)
    except ValueError as exc:
        raise ValidationError({"value": str(exc)}) from None
    found, created = Observable.objects.get_or_create(
        incident=incident,
        kind=kind,
        value=value,
        defaults={"organization": incident.organization, "shareable": shareable, "comment": comment},
    )
    if created:
        log(incident, "observable_added", by=by, note=f"{kind}:{value}")
    return found


def set_techniques(incident: Incident, ids: list[str], *, by: User) -> Incident:
    """Tag the incident with ATT&CK techniques (ids checked against intel's ATT&CK data)."""
    known = {t[0] for t in intel.attack_techniques()}
    if bad := [i for i in ids if i not in known]:
        raise ValidationError({"techniques": _("Unknown ATT&CK techniques: %(i)s.") % {"i": ", ".join(bad)}})
    incident.techniques = sorted(set(ids))
    incident.save(update_fields=["techniques", "updated_at"])
    log(incident, "techniques", by=by, note=", ".join(incident.techniques))
    return incident


# --- Sharing --------------------------------------------------------------------------------------------


def shared_report(incident: Incident) -> SharedReport:
    """The shareable part of an incident: shareable observables only, its TLP; refused for TLP:RED."""
    if incident.tlp == "red":
        raise ValidationError(_("A TLP:RED incident is not shared outside its named recipients."))
    return SharedReport(
        id=uuid.uuid5(NAMESPACE, str(incident.pk)),
        title=f"{incident.number} {incident.title}",
        description=incident.description,
        created=incident.received_at or incident.created_at,
        modified=incident.updated_at,
        tlp=incident.tlp,
        labels=[incident.category] if incident.category else [],
        techniques=list(incident.techniques or []),
        observables=[
            SharedObservable(kind=o.kind, value=o.value, comment=o.comment, first_seen=o.created_at)
            for o in incident.observables.filter(shareable=True)
        ],
        producer=incident.organization.name,
    )


def export(incident: Incident, fmt: str) -> dict:
    report = shared_report(incident)
    return intel.to_stix_bundle(report) if fmt == "stix" else intel.to_misp_event(report)


@transaction.atomic
def share(incident: Incident, *, by: User, collection: str | None = None) -> int:
    if not scoping.can(by, "share", incident):
        raise PermissionDenied
    try:
        count = intel.publish(shared_report(incident), organization=incident.organization, collection=collection)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    log(incident, "shared", by=by, note=_("%(n)s indicators shared.") % {"n": count})
    return count


@transaction.atomic
def import_stix(data: dict, *, organization: Organization, by: User, source: str = Source.STIX) -> list[Incident]:
    """One incident per report in a STIX 2.1 bundle (all or nothing); ValidationError with the parser's sentence.

    TLP is never lowered: the incident takes the strictest of its report's marking and its observables' own, and
    an observable marked stricter than its report is kept but not shareable."""
    if not scoping.can_in(by, "incidents.incident.add", organization):
        raise PermissionDenied
    try:
        reports = intel.parse_stix_bundle(data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if not reports:
        raise ValidationError(_("The bundle holds no report or indicator."))
    created = []
    for report in reports:
        incident = report_incident(
            organization=organization,
            title=report.title or _("Imported report"),
            description=report.description,
            source=source,
            reporter=by,
            observables=[(o.kind, o.value) for o in report.observables],
        )
        tlp = strictest(report.tlp, *(o.tlp for o in report.observables)) or "amber"
        Incident.objects.filter(pk=incident.pk).update(tlp=tlp, techniques=list(report.techniques))
        private = Q()
        for o in report.observables:
            if report.tlp_of(o) != report.tlp:
                private |= Q(kind=o.kind, value=intel.normalise_observable(o.kind, o.value))
        if private:
            incident.observables.filter(private).update(shareable=False)
        created.append(incident)
    return created


# --- Deadlines: reminders, escalation, breaches ----------------------------------------------------------


def breaches(user: User, now: datetime.datetime | None = None, *, met_late: bool = False) -> QuerySet[Deadline]:
    """Deadlines missed and still open (what needs action); with `met_late`, those met after their due time (the
    record). Each is one index range."""
    now = now or timezone.now()
    missed = Q(late=True) if met_late else Q(met_at__isnull=True, due_at__lt=now)
    return scoping.visible(user, Deadline.objects.filter(missed).select_related("incident", "organization"), "view")


def remind_deadlines(now: datetime.datetime | None = None) -> dict:
    """Periodic job: remind the incident's handlers before a deadline, escalate once it is missed (to the
    holders of incidents.incident.classify above the owner: the coordinator)."""
    now = now or timezone.now()
    reminded = escalated = 0
    open_ = Deadline.objects.filter(met_at__isnull=True).select_related("incident", "organization__parent")
    for deadline in open_.filter(escalated_at__isnull=True, due_at__lt=now):
        incident = deadline.incident
        with transaction.atomic():
            if not _still_open(deadline, "escalated_at"):
                continue
            notify_permission_holders(
                "incidents.incident.classify",
                deadline.organization.parent or deadline.organization,
                title=_("Missed deadline %(d)s: incident %(n)s") % {"d": deadline.code, "n": incident.number},
                link=incident.get_absolute_url(),
                level="danger",
                email=False,
            )
            deadline.escalated_at = now
            deadline.save(update_fields=["escalated_at"])
        escalated += 1
    for deadline in open_.filter(due_at__gte=now, reminded_at__isnull=True):
        rule = deadline_rule(deadline.incident.regime, deadline.code)
        if rule is None or not rule.reminders:
            continue
        lead = max(rule.reminders)
        span = datetime.timedelta(hours=lead) if rule.unit == "hours" else datetime.timedelta(days=lead)
        if deadline.due_at - span > now:
            continue
        with transaction.atomic():
            if not _still_open(deadline, "reminded_at"):
                continue
            notify_permission_holders(
                "incidents.incident.change",
                deadline.organization,
                title=_("Due %(when)s: %(d)s for incident %(n)s")
                % {
                    "when": local_time(deadline.due_at),
                    "d": rule.label(),
                    "n": deadline.incident.number,
                },
                link=deadline.incident.get_absolute_url(),
                level="warning",
                email=False,
            )
            deadline.reminded_at = now
            deadline.save(update_fields=["reminded_at"])
        reminded += 1
    return {"reminded": reminded, "escalated": escalated}


def _still_open(deadline: Deadline, mark: str) -> bool:
    """Lock the deadline if it is still as the job read it (there, unmet, due when it was, without `mark`): the
    list was read before, and meanwhile re-planning may have removed or moved it, a step met it, or another run
    of the job sent the same notice."""
    return (
        for_update(Deadline.objects.all())
        .filter(pk=deadline.pk, met_at__isnull=True, due_at=deadline.due_at, **{f"{mark}__isnull": True})
        .exists()
    )


# --- Network ----------------------------------------------------------------------------------------------


def member_statistics(members: QuerySet[NetworkMember], since: datetime.datetime | None = None) -> dict:
    """Per member organisation: tasks handled, done, and the mean time to acknowledge (hours)."""
    tasks = IncidentTask.objects.filter(organization__in=members.values("organization"))
    if since:
        tasks = tasks.filter(created_at__gte=since)
    rows = tasks.values("organization").annotate(
        handled=Count("pk"),
        done=Count("pk", filter=Q(status=IncidentTask.Status.DONE)),
        ack=Avg(F("acknowledged_at") - F("created_at")),
    )
    out = {}
    for r in rows:
        ack = r["ack"]
        hours = None
        if ack is not None:
            seconds = ack.total_seconds() if isinstance(ack, datetime.timedelta) else ack / 1e6
            hours = round(seconds / 3600, 1)
        out[r["organization"]] = {"handled": r["handled"], "done": r["done"], "ack_hours": hours}
    return out


def member_report_dates(year: int) -> list[tuple[str, str, datetime.date]]:
    """The member reports due in `year`, each under the regime in force on its due date (Decree 331's network
    rules are pending: no dates after 18 Aug 2026 until the data has them)."""
    found = []
    for regime in regulation.regimes():
        for m in regulation.incident_policy(regime.code).member_reports:
            if regime.in_force(m.due(year)):
                found.append((m.code, m.label(), m.due(year)))
    return sorted(found, key=lambda x: x[2])


def period_label(report: MemberReport, lang: str | None = None) -> str:
    """The name of a member report's period ("Báo cáo 6 tháng") in the regime in force on its due date."""
    policy = regulation.incident_policy(on=report.due_date)
    return next((m.label(lang) for m in policy.member_reports if m.code == report.period), report.period)


MEMBER_REPORT_LEADS = (10, 3, 1, -1)  # days before the due date (-1: the day after, when still missing)


def remind_member_reports(today: datetime.date | None = None) -> int:
    """Daily job: remind the network members whose periodic report is due soon (or just missed) and not yet
    submitted."""
    today = today or timezone.localdate()
    sent = 0
    for code, label, due in member_report_dates(today.year):
        if (due - today).days not in MEMBER_REPORT_LEADS:
            continue
        done = MemberReport.objects.filter(period=code, year=today.year, submitted_at__isnull=False).values("member")
        for member in (
            NetworkMember.objects.filter(active=True)
            .exclude(kind=NetworkMember.Kind.EXTERNAL)
            .exclude(pk__in=done)
            .select_related("organization")
        ):
            notify_permission_holders(
                "incidents.networkmember.change",
                member.organization,
                title=_("%(report)s of the response network due %(due)s")
                % {"report": label, "due": due.strftime("%d/%m/%Y")},
                link=member.get_absolute_url(),
                level="warning",
                email=False,
            )
            sent += 1
    return sent


CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone", "on_call")


def note_contact_change(member: NetworkMember, changed) -> None:
    """Stamp when the member's contact point last changed (pages and API alike), so stale contacts show."""
    if set(CONTACT_FIELDS) & set(changed):
        member.contact_updated_at = timezone.now()


@transaction.atomic
def submit_member_report(member: NetworkMember, *, period: str, year: int, by: User) -> MemberReport:
    if not scoping.can(by, "change", member) or member.kind == NetworkMember.Kind.EXTERNAL:
        raise PermissionDenied
    dates = {code: due for code, _label, due in member_report_dates(year)}
    if period not in dates:
        raise ValidationError({"period": _("The regime sets no such member report.")})
    since = timezone.make_aware(datetime.datetime(year, 1, 1))  # figures of the year so far
    figures = member_statistics(NetworkMember.objects.filter(pk=member.pk), since).get(member.organization_id, {})
    audit.lock_chain()  # update_or_create locks the row before its audited save
    report, _created = MemberReport.objects.update_or_create(
        member=member,
        period=period,
        year=year,
        defaults={
            "organization": member.organization,
            "due_date": dates[period],
            "submitted_at": timezone.now(),
            "figures": figures,
        },
    )
    audit.record("workflow", obj=report, changes={"step": "member_report_submitted"})
    return report


WIDGET_CACHE_SECONDS = 60


def open_incidents_count(user: User) -> dict[str, int]:
    """For dashboards: the user's open incidents by severity and the number of missed deadlines. Cached for a
    minute per scope (users with the same subtrees share it), so the home page stays fast at national scale."""
    scope = scoping.get_scope(user)
    key = (
        "incidents:counts:"
        + hashlib.sha256(
            repr((scope.paths("incidents.incident.view"), scope.paths("incidents.deadline.view"))).encode()
        ).hexdigest()
    )
    return cache.get_or_set(key, lambda: _open_incidents_count(user), WIDGET_CACHE_SECONDS)


def _open_incidents_count(user: User) -> dict[str, int]:
    rows = (
        scoping.visible(user, Incident.objects.filter(state__in=OPEN_STATES)).values("severity").annotate(n=Count("pk"))
    )
    counts = {r["severity"] or "unclassified": r["n"] for r in rows}
    counts["breaches"] = breaches(user).count()
    return counts


def prepare_merge(source: Organization, target: Organization) -> None:
    """Before `source`'s records move to `target` (a merger; registered on NetworkMember): a network member the
    source registered under a name the target already uses keeps its record, named after the source too, since an
    organisation holds each member name once."""
    taken = set(NetworkMember.objects.filter(organization=target).values_list("name", flat=True))
    limit = NetworkMember._meta.get_field("name").max_length
    for member in NetworkMember.objects.filter(organization=source, name__in=taken):
        member.name = f"{member.name} ({source.name})"[:limit]
        member.save(update_fields=["name", "updated_at"])
