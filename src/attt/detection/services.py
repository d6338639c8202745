"""Detection's business rules: loading Sigma rules, turning engine hits into de-duplicated alerts routed to the
source's organisation, the alert lifecycle (acknowledge, close, escalate to an incident) and the dashboard's
figures. Other modules call the functions under "For other modules" only."""

from __future__ import annotations

import datetime
import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Max, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from attt.core import audit, scoping
from attt.core.formats import local_time
from attt.core.locks import lock_current
from attt.core.models import AuditEvent, Organization, User
from attt.core.services import notifications
from attt.detection import conf, engine
from attt.detection.models import (
    NOTIFY_SEVERITIES,
    SEVERITY_ORDER,
    Alert,
    EngineStamp,
    Severity,
    SigmaRule,
    hour_of,
)

log = logging.getLogger(__name__)

# --- Severity ---------------------------------------------------------------------------------------------


def severity_for_level(level: object) -> str:
    """A Sigma `level` as an alert severity; a missing or unknown level counts as medium."""
    text = str(level or "").strip().lower()
    return text if text in SEVERITY_ORDER else Severity.MEDIUM.value


# An indicator only becomes active once an analyst has vetted it, and intel hands detection no confidence or
# TLP to grade it by: every indicator hit is high.
IOC_SEVERITY = Severity.HIGH.value


# --- Engine version stamp ---------------------------------------------------------------------------------

STAMP_KEY = "detector"


def current_stamp() -> int:
    return EngineStamp.objects.filter(key=STAMP_KEY).values_list("version", flat=True).first() or 0


def bump_stamp() -> None:
    """Tell every process's detector that rules or indicators changed."""
    EngineStamp.objects.get_or_create(key=STAMP_KEY)
    EngineStamp.objects.filter(key=STAMP_KEY).update(version=F("version") + 1, changed_at=timezone.now())


# --- Sigma rules ------------------------------------------------------------------------------------------

MAX_RULE_BYTES = 2 * 1024 * 1024  # the largest SigmaHQ rule (vulnerable drivers) is ~290 KB
RULE_SUFFIXES = (".yml", ".yaml")
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: ~10× faster


@dataclass
class RuleLoadReport:
    files: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unsupported: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)


def _rule_files(paths: Iterable[Path], report: RuleLoadReport) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in RULE_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            report.errors.append((str(path), _("No such file or folder.")))
    return files


def techniques_of(tags) -> tuple[str, ...]:
    """ATT&CK technique ids from Sigma tags ("attack.t1059.001" → "T1059.001")."""
    return tuple(str(t).split(".", 1)[1].upper() for t in tags if str(t).lower().startswith("attack.t"))


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_texts(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_mapping(value: object) -> bool:
    return isinstance(value, dict)


TEXT, TEXTS, MAPPING = gettext_lazy("text"), gettext_lazy("a list of texts"), gettext_lazy("a mapping")

# The fields parse_rule and the engine read, with the YAML type the Sigma specification gives them. A field of
# another type (`tags: 5`, a date where text belongs, `detection: [..]`) refuses the file with a reason, so one
# odd rule is reported and skipped instead of stopping the whole load or being stored wrong.
RULE_FIELD_TYPES = {
    "id": (_is_text, TEXT),
    "title": (_is_text, TEXT),
    "description": (_is_text, TEXT),
    "status": (_is_text, TEXT),
    "level": (_is_text, TEXT),
    "author": (lambda value: _is_text(value) or _is_texts(value), gettext_lazy("text or a list of texts")),
    "tags": (_is_texts, TEXTS),
    "references": (_is_texts, TEXTS),
    "falsepositives": (_is_texts, TEXTS),
    "logsource": (_is_mapping, MAPPING),
    "detection": (_is_mapping, MAPPING),
}
LOGSOURCE_FIELDS = ("product", "category", "service")


def _check_types(doc: dict) -> None:
    fields = [(name, doc.get(name), check, expected) for name, (check, expected) in RULE_FIELD_TYPES.items()]
    logsource = doc.get("logsource") if _is_mapping(doc.get("logsource")) else {}
    fields += [(f"logsource.{name}", logsource.get(name), _is_text, TEXT) for name in LOGSOURCE_FIELDS]
    for name, value, check, expected in fields:
        if value is not None and not check(value):
            raise ValueError(_("The rule's %(field)s must be %(expected)s.") % {"field": name, "expected": expected})


def parse_rule(text: str) -> dict:
    """The metadata of one Sigma rule's YAML; ValueError with a sentence when it is not a single rule or a field
    it reads has the wrong type."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=SAFE_LOADER) if d is not None]
    except yaml.YAMLError as exc:
        raise ValueError(_("Not valid YAML: %(error)s") % {"error": str(exc).splitlines()[0]}) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ValueError(_("Expected one Sigma rule (a mapping) per file."))
    doc = documents[0]
    _check_types(doc)
    rule_id, title = (doc.get("id") or "").strip(), (doc.get("title") or "").strip()
    if not rule_id or not title:
        raise ValueError(_("A Sigma rule needs an id and a title."))
    if len(rule_id) > 64:
        raise ValueError(_("The rule id is longer than 64 characters."))
    tags = doc.get("tags") or []
    logsource = doc.get("logsource") or {}
    author = doc.get("author") or ""
    if isinstance(author, list):
        author = ", ".join(author)
    return {
        "rule_id": rule_id,
        "title": title[:255],
        "description": doc.get("description") or "",
        "level": severity_for_level(doc.get("level")),
        "status": (doc.get("status") or "")[:16],
        "author": author[:500],
        "tags": tags,
        "techniques": " ".join(techniques_of(tags))[:500],
        "product": (logsource.get("product") or "")[:64],
        "category": (logsource.get("category") or "")[:64],
        "service": (logsource.get("service") or "")[:64],
    }


def _unsupported(items: list[tuple[str, str]]) -> dict[str, str]:
    """What the engine refuses, by rule id or file name → reason."""
    ruleset = engine.RuleSet.from_texts(items, cache_dir=conf.rule_cache_dir())
    return {str(key): str(reason) for key, reason in ruleset.unsupported}


RULE_FIELDS = [
    "title",
    "description",
    "level",
    "status",
    "author",
    "tags",
    "techniques",
    "product",
    "category",
    "service",
    "path",
    "text",
    "supported",
    "unsupported_reason",
]


def load_rules(paths: Iterable[Path]) -> RuleLoadReport:
    """Load (or refresh) Sigma rules from files and folders; every bad file is reported and skipped, a rule's
    `enabled` flag survives a reload. One transaction: a failure writes nothing."""
    report = RuleLoadReport()
    parsed: dict[str, dict] = {}
    for path in _rule_files(paths, report):
        report.files += 1
        try:
            if path.stat().st_size > MAX_RULE_BYTES:
                raise ValueError(_("The file is larger than %(n)d KB.") % {"n": MAX_RULE_BYTES // 1024})
            text = path.read_text(encoding="utf-8")
            meta = parse_rule(text)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            report.errors.append((str(path), str(exc)))
            continue
        if meta["rule_id"] in parsed:
            report.errors.append(
                (str(path), _("Same rule id as %(other)s.") % {"other": parsed[meta["rule_id"]]["path"]})
            )
            continue
        parsed[meta["rule_id"]] = {**meta, "path": str(path)[-500:], "text": text}
    with transaction.atomic():
        audit.lock_chain()  # before the rules' rows, as the reload's audit entry comes after
        existing = {r.rule_id: r for r in SigmaRule.objects.filter(rule_id__in=list(parsed))}
        # Only new or edited texts go through the engine (compiling thousands of rules takes seconds).
        edited = [
            m for m in parsed.values() if m["rule_id"] not in existing or existing[m["rule_id"]].text != m["text"]
        ]
        refused = _unsupported([(m["path"], m["text"]) for m in edited])
        edited_ids = {m["rule_id"] for m in edited}
        for meta in parsed.values():
            if meta["rule_id"] in edited_ids:
                reason = refused.get(meta["rule_id"]) or refused.get(meta["path"]) or ""
                meta["supported"], meta["unsupported_reason"] = not reason, reason[:500]
            else:
                rule = existing[meta["rule_id"]]
                meta["supported"], meta["unsupported_reason"] = rule.supported, rule.unsupported_reason
            report.unsupported += not meta["supported"]
        new, changed = [], []
        for rule_id, meta in parsed.items():
            rule = existing.get(rule_id)
            if rule is None:
                new.append(SigmaRule(rule_id=rule_id, **{k: meta[k] for k in RULE_FIELDS}))
            elif any(getattr(rule, k) != meta[k] for k in RULE_FIELDS):
                for k in RULE_FIELDS:
                    setattr(rule, k, meta[k])
                rule.updated_at = timezone.now()
                changed.append(rule)
            else:
                report.unchanged += 1
        SigmaRule.objects.bulk_create(new, batch_size=500)
        SigmaRule.objects.bulk_update(changed, [*RULE_FIELDS, "updated_at"], batch_size=500)
        report.created, report.updated = len(new), len(changed)
        if new or changed:
            audit.record(
                AuditEvent.Action.WORKFLOW,
                object_type="detection.sigmarule",
                object_repr=_("Sigma rules loaded"),
                changes={"step": "load", "created": len(new), "updated": len(changed), "errors": len(report.errors)},
            )
            bump_stamp()
    return report


def can_change_rules(user) -> bool:
    """Rules are national reference data: only a holder of detection.sigmarule.change on a root changes them."""
    return scoping.can_in(user, "detection.sigmarule.change", None)


def set_rules_enabled(rules: models.QuerySet[SigmaRule], enabled: bool, *, by: User) -> int:
    if not can_change_rules(by):
        raise PermissionDenied
    with transaction.atomic():
        audit.lock_chain()  # before the rows' update, as their audit entries come after
        ids = list(rules.exclude(enabled=enabled).values_list("pk", flat=True))
        SigmaRule.objects.filter(pk__in=ids).update(enabled=enabled, updated_at=timezone.now())
        for rule in SigmaRule.objects.filter(pk__in=ids).only("pk", "rule_id", "title"):
            audit.record(
                AuditEvent.Action.WORKFLOW,
                obj=rule,
                changes={"step": "enable" if enabled else "disable", "after": {"enabled": enabled}},
            )
        if ids:
            bump_stamp()
    return len(ids)


# --- Hits → alerts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One event matched by one rule or one indicator."""

    event_id: str
    source_id: uuid.UUID
    organization_id: uuid.UUID
    timestamp: datetime.datetime
    kind: str  # Alert.Kind
    signature: str  # the rule id, or "ioc:<indicator id>"
    title: str
    severity: str
    system_id: uuid.UUID | None = None
    rule_id: str = ""
    rule_author: str = ""
    techniques: tuple[str, ...] = ()
    indicator_id: uuid.UUID | None = None
    indicator_kind: str = ""
    indicator_value: str = ""


def window_start(moment: datetime.datetime, minutes: int | None = None) -> datetime.datetime:
    """The start of the fixed window (aligned on the epoch, UTC) the moment falls in."""
    minutes = minutes or conf.window_minutes()
    seconds = minutes * 60
    epoch = int(moment.timestamp())
    return datetime.datetime.fromtimestamp(epoch - epoch % seconds, tz=datetime.UTC)


RECENT_IDS = 512  # how many of an alert's latest event ids are kept to recognise a redelivered batch


def record_hits(hits: Iterable[Hit], *, notify: bool = True) -> list[Alert]:
    """Add hits to their alerts (same signature, source and window) or open new ones; returns the new alerts.
    Safe beside other workers: a clash on the window's unique key retries the batch once."""
    groups: dict[tuple, list[Hit]] = defaultdict(list)
    minutes = conf.window_minutes()
    for hit in hits:
        groups[(hit.signature, hit.source_id, window_start(hit.timestamp, minutes))].append(hit)
    if not groups:
        return []
    for attempt in range(2):
        try:
            created = _apply(groups)
            break
        except IntegrityError:
            if attempt:
                raise
    if notify:
        _notify(created)
    return created


def _apply(groups: dict[tuple, list[Hit]]) -> list[Alert]:
    limit = conf.sample_size()
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (a.signature, a.source_id, a.window_start): a
            for a in Alert.objects.select_for_update().filter(
                signature__in={k[0] for k in groups},
                source_id__in={k[1] for k in groups},
                window_start__in={k[2] for k in groups},
            )
        }
        new, changed = [], []
        for key, group in groups.items():
            alert = existing.get(key)
            seen = set(alert.sample_event_ids) | set(alert.recent_event_ids) if alert else set()
            fresh: dict[str, Hit] = {}
            for h in group:
                if h.event_id not in seen:
                    fresh.setdefault(h.event_id, h)
            if not fresh:
                continue  # the whole group was counted before: a redelivered batch
            group = list(fresh.values())
            first = min(h.timestamp for h in group)
            last = max(h.timestamp for h in group)
            ids = list(fresh)
            if alert is None:
                hit = group[0]
                new.append(
                    Alert(
                        organization_id=hit.organization_id,
                        kind=hit.kind,
                        signature=hit.signature[:100],
                        source_id=hit.source_id,
                        system_id=next((h.system_id for h in group if h.system_id), None),
                        title=hit.title[:255],
                        rule_id=hit.rule_id,
                        rule_author=hit.rule_author[:500],
                        techniques=list(hit.techniques),
                        indicator_id=hit.indicator_id,
                        indicator_kind=hit.indicator_kind,
                        indicator_value=hit.indicator_value,
                        severity=hit.severity,
                        window_start=key[2],
                        first_seen=first,
                        first_hour=hour_of(first),
                        last_seen=last,
                        count=len(group),
                        sample_event_ids=ids[:limit],
                        recent_event_ids=ids[-RECENT_IDS:],
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                alert.count += len(group)
                alert.first_seen, alert.last_seen = min(alert.first_seen, first), max(alert.last_seen, last)
                alert.first_hour = hour_of(alert.first_seen)
                alert.sample_event_ids = (alert.sample_event_ids + ids)[:limit]
                alert.recent_event_ids = (alert.recent_event_ids + ids)[-RECENT_IDS:]
                alert.system_id = alert.system_id or next((h.system_id for h in group if h.system_id), None)
                alert.updated_at = now
                changed.append(alert)
        Alert.objects.bulk_create(new)
        Alert.objects.bulk_update(
            changed,
            [
                "count",
                "first_seen",
                "first_hour",
                "last_seen",
                "sample_event_ids",
                "recent_event_ids",
                "system",
                "updated_at",
            ],
        )
    return new


def _notify(alerts: list[Alert]) -> None:
    """High and critical alerts go to the owning organisation's handlers (not the whole national staff, who
    watch the dashboard): holders of detection.alert.change working in the alert's branch of the tree. The
    recipients are looked up once per organisation, not once per alert."""
    urgent = [a for a in alerts if a.severity in NOTIFY_SEVERITIES]
    if not urgent:
        return
    orgs = Organization.objects.in_bulk({a.organization_id for a in urgent})
    recipients = {org_id: _handlers(org) for org_id, org in orgs.items()}
    for alert in urgent:
        notifications.notify(
            recipients[alert.organization_id],
            title=_("%(severity)s alert: %(title)s") % {"severity": alert.get_severity_display(), "title": alert.title},
            body=_("Organisation: %(org)s. First seen %(at)s.")
            % {"org": orgs[alert.organization_id].name, "at": local_time(alert.first_seen)},
            link=alert.get_absolute_url(),
            level="danger" if alert.severity == Severity.CRITICAL else "warning",
        )


def _handlers(org: Organization) -> list[User]:
    """Holders of detection.alert.change on `org` who work inside its top-level branch."""
    branch = org.path[: 1 + SEGMENT * 2] if org.depth >= 1 else org.path
    holders = notifications.permission_holders("detection.alert.change", org)
    workplaces = dict(
        Organization.objects.filter(pk__in={u.organization_id for u in holders if u.organization_id}).values_list(
            "pk", "path"
        )
    )
    return [u for u in holders if workplaces.get(u.organization_id, "").startswith(branch)]


# --- Lifecycle --------------------------------------------------------------------------------------------

TRANSITIONS = {
    Alert.Status.OPEN: {Alert.Status.ACKNOWLEDGED, Alert.Status.CLOSED, Alert.Status.ESCALATED},
    Alert.Status.ACKNOWLEDGED: {Alert.Status.CLOSED, Alert.Status.ESCALATED},
}


class WrongState(ValidationError):
    """The step is not possible from the alert's current status (the API answers 409)."""


def _check(alert: Alert, to: str, *, by: User, action: str) -> None:
    """Refuse a step the alert's stored status does not allow: the alert is re-read under a row lock first, so a
    copy a page loaded before another analyst acted gets the same refusal, and two steps at once take turns."""
    lock_current(alert)
    if not scoping.can(by, action, alert):
        raise PermissionDenied
    if to not in TRANSITIONS.get(alert.status, ()):
        raise WrongState(
            {
                "status": _("This step is not possible from the status “%(status)s”.")
                % {"status": alert.get_status_display()}
            }
        )


def _step(alert: Alert, to: str, *, by: User, action: str, reason: str = "") -> Alert:
    _check(alert, to, by=by, action=action)
    return _record_step(alert, to, by=by, reason=reason)


def _record_step(alert: Alert, to: str, *, by: User, reason: str = "", **extra) -> Alert:
    """Write the step (after `_check`): only the fields a step owns, so the detector's counts, times and sample
    events, added to the open alert meanwhile, are kept."""
    before = alert.status
    alert.status, alert.handled_by, alert.handled_at = to, by, timezone.now()
    changed = ["status", "handled_by", "handled_at", "updated_at", *extra]
    if reason:
        alert.reason = reason[:4000]
        changed.append("reason")
    for name, value in extra.items():
        setattr(alert, name, value)
    alert.save(update_fields=changed)
    audit.record(
        AuditEvent.Action.WORKFLOW,
        obj=alert,
        changes={
            "step": to,
            "before": {"status": before},
            "after": {"status": to, **{k: str(v) for k, v in extra.items()}},
        },
    )
    return alert


def allowed_steps(user, alert: Alert) -> list[str]:
    """The steps the user may take on the alert now (for the page's buttons)."""
    possible = TRANSITIONS.get(alert.status, set())
    steps = []
    if scoping.can(user, "change", alert):
        steps += [s for s in (Alert.Status.ACKNOWLEDGED, Alert.Status.CLOSED) if s in possible]
    if Alert.Status.ESCALATED in possible and scoping.can(user, "escalate", alert):
        steps.append(Alert.Status.ESCALATED)
    return steps


@transaction.atomic
def acknowledge(alert: Alert, *, by: User) -> Alert:
    return _step(alert, Alert.Status.ACKNOWLEDGED, by=by, action="change")


@transaction.atomic
def close(alert: Alert, *, by: User, reason: str) -> Alert:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the alert is closed (false positive, handled, …).")})
    if "\x00" in reason:  # no text column keeps it (PostgreSQL refuses the whole statement)
        raise ValidationError({"reason": _("The text contains a NUL character.")})
    return _step(alert, Alert.Status.CLOSED, by=by, action="change", reason=reason)


def incident_description(alert: Alert) -> str:
    lines = [
        _("Escalated from a detection alert."),
        _("Severity: %(s)s.") % {"s": alert.get_severity_display()},
        _("Events: %(n)d between %(a)s and %(b)s.")
        % {"n": alert.count, "a": local_time(alert.first_seen), "b": local_time(alert.last_seen)},
    ]
    if alert.kind == Alert.Kind.SIGMA:
        lines.append(_("Rule: %(t)s (%(id)s).") % {"t": alert.title, "id": alert.rule_id})
        lines.append(alert.attribution)
        if alert.techniques:
            lines.append(_("ATT&CK: %(t)s.") % {"t": ", ".join(alert.techniques)})
    else:
        lines.append(_("Indicator: %(k)s %(v)s.") % {"k": alert.indicator_kind, "v": alert.indicator_value})
    lines.append(_("Sample events: %(ids)s") % {"ids": ", ".join(alert.sample_event_ids[:10])})
    return "\n".join(lines)


@transaction.atomic
def escalate(alert: Alert, *, by: User) -> Alert:
    """Open an incident from the alert in one step (incidents' intake channel "soc") and keep its id; the alert
    is locked from the check to the write, so two analysts escalating at once open one incident, not two."""
    _check(alert, Alert.Status.ESCALATED, by=by, action="escalate")
    from attt.incidents import services as incidents

    observables = [(alert.indicator_kind, alert.indicator_value)] if alert.kind == Alert.Kind.IOC else []
    incident = incidents.report_incident(
        organization=alert.organization,
        title=alert.title[:255],
        description=incident_description(alert),
        source="soc",
        reporter=by,
        systems=[alert.system_id] if alert.system_id else [],
        observables=observables,
        occurred_at=min(alert.first_seen, timezone.now()),  # a device clock running fast
    )
    return _record_step(alert, Alert.Status.ESCALATED, by=by, incident_id=incident.pk)


def incident_url(alert: Alert) -> str:
    if not alert.incident_id:
        return ""
    try:
        return reverse("incidents:incident_detail", args=[alert.incident_id])
    except NoReverseMatch:
        return ""


# --- Dashboard --------------------------------------------------------------------------------------------

OPEN_STATUSES = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)
SEGMENT = 33  # one organisation's part of a materialised path: 32 hex digits and "/"


def dashboard(user, within: Organization | None = None, *, now: datetime.datetime | None = None) -> dict:
    """Every figure of the live dashboard for the alerts the user sees (optionally one subtree), in a fixed
    number of aggregate queries whatever the number of alerts. Each aggregate groups plain indexed columns
    (organisation, system, signature, the stored hour bucket) so the database answers it from one index; the
    organisation tree, sectors and titles are looked up for the few groups afterwards."""
    now = now or timezone.now()
    alerts = _visible_alerts(user, within)
    day, month = now - datetime.timedelta(hours=24), now - datetime.timedelta(days=30)
    recent = alerts.filter(last_seen__gte=month)

    open_counts: dict = defaultdict(int)
    # Grouped by (status, severity), the order of the covering index (status, severity, organisation): only the
    # open alerts are read, instead of every alert in severity order.
    for _status, severity, n in (
        alerts.filter(status__in=OPEN_STATUSES).values_list("status", "severity").annotate(n=Count("*")).order_by()
    ):
        open_counts[severity] += n
    last_day = {
        row["severity"]: row
        for row in alerts.filter(last_seen__gte=day)
        .values("severity")
        .annotate(n=Count("*"), events=Sum("count"))
        .order_by()
    }
    severities = [
        {
            "value": s.value,
            "label": s.label,
            "open": open_counts.get(s.value, 0),
            "day": last_day.get(s.value, {}).get("n", 0),
            "events": last_day.get(s.value, {}).get("events") or 0,
        }
        for s in reversed(Severity)
    ]
    # One pass over the month by (organisation, system): branches, sectors and systems all come from it. The
    # rows stream into plain sums (thousands of them: few objects kept, so the garbage collector stays quiet).
    per_org: dict = defaultdict(int)
    per_system: dict = defaultdict(int)
    events_of: dict = defaultdict(int)
    for org_id, system_id, n, events in (
        recent.values_list("organization_id", "system_id")
        .annotate(n=Count("*"), events=Sum("count"))
        .order_by()
        .iterator(chunk_size=2000)
    ):
        per_org[org_id] += n
        key = system_id.hex if system_id else None  # a str is not tracked by the garbage collector, a UUID is
        per_system[key] += n
        events_of[key] += events or 0
    depth = (within.depth + 1) if within is not None else 1
    branches = _branches(per_org, depth, within, scoping.get_scope(user))
    # The systems' sectors through a sub-select, not a list of thousands of ids to bind.
    sectors, systems = _sectors_and_systems(per_system, events_of, recent.values("system_id"))
    # By (signature, kind): the pair no index orders, so the month is read from the covering index instead of
    # walking every alert in signature order; a signature's title is the greatest of its
    # alerts' (one row each).
    top = list(
        recent.values_list("signature", "kind")
        .annotate(n=Count("*"), events=Sum("count"))
        .order_by("-n", "signature")[:10]
    )
    titles = dict(
        recent.filter(signature__in=[t[0] for t in top])
        .values_list("signature")
        .annotate(title=Max("title"))
        .order_by()
    )
    rules = [
        {"signature": sig, "title": titles.get(sig, sig), "kind": kind, "n": n, "events": events or 0}
        for sig, kind, n, events in top
    ]
    hour0 = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    hours = [hour0 - datetime.timedelta(hours=i) for i in range(23, -1, -1)]
    today = timezone.localdate(now)
    days = [today - datetime.timedelta(days=i) for i in range(29, -1, -1)]
    # New alerts per stored hour bucket since the first shown day's local midnight: the hourly and the daily
    # series both add these up (local hours and days are whole UTC hours in Vietnam).
    first_midnight = timezone.make_aware(datetime.datetime.combine(days[0], datetime.time()))
    per_hour = dict(
        alerts.filter(first_hour__gte=first_midnight).values_list("first_hour").annotate(n=Count("*")).order_by()
    )
    return {
        "severities": severities,
        "open_total": sum(s["open"] for s in severities),
        "day_total": sum(s["day"] for s in severities),
        "sectors": sectors,
        "branches": branches,
        "branch_label": _("By province / ministry") if within is None or within.depth == 0 else _("By unit"),
        "rules": rules,
        "systems": systems,
        "hourly": _series(hours, per_hour, timezone.localtime),
        "daily": _series(days, per_hour, timezone.localdate),
        "now": now,
    }


def _visible_alerts(user, within: Organization | None) -> models.QuerySet[Alert]:
    """The alerts the user sees (in one subtree), selected as "organisation among the visible ones": the
    scope's path test runs once per organisation instead of once per alert through a join, and the alert
    indexes that lead with the organisation answer the aggregates on their own."""
    organizations = scoping.get_scope(user).filter(Organization.objects.all(), "detection.alert.view")
    if within is not None:
        organizations = organizations.filter(path__startswith=within.path)
    return Alert.objects.filter(organization__in=organizations.values("pk"))


def _branches(per_org: dict, depth: int, within: Organization | None, scope) -> list[dict]:
    """Alerts per ancestor at `depth` (the level below the viewed one) of each alert's organisation; alerts of
    the viewed organisation itself count under its own name. `openable`: the user may narrow the dashboard to
    the branch (a department's analyst sees its province's row, but not the province's dashboard)."""
    paths = dict(Organization.objects.filter(pk__in=list(per_org)).values_list("pk", "path"))
    per_branch: dict = defaultdict(int)
    for org_id, n in per_org.items():
        segment = paths.get(org_id, "")[1 + SEGMENT * depth : SEGMENT * (depth + 1)]
        per_branch[uuid.UUID(segment) if len(segment) == 32 else None] += n
    names, openable = {}, set()
    for org in Organization.objects.filter(pk__in=[k for k in per_branch if k]).only("name", "path", "is_active"):
        names[org.pk] = org.name
        if org.is_active and scope.allows("detection.alert.view", org):
            openable.add(org.pk)
    fallback = within.name if within is not None else _("National")
    branches = [
        {"id": key, "name": names.get(key) or fallback, "n": n, "openable": key in openable}
        for key, n in per_branch.items()
    ]
    return sorted(branches, key=lambda b: (-b["n"], str(b["name"])))


def _sectors_and_systems(alerts: dict, events: dict, systems_in_view) -> tuple[list[dict], list[dict]]:
    """Alerts per priority sector of the system (none: "No sector") and the ten most attacked systems, from
    the alerts and events per system id (hex)."""
    from attt.registry import services as registry

    per_sector: dict = defaultdict(int)
    if None in alerts:  # alerts on no known system
        per_sector[""] = alerts[None]
    for pk, sector in registry.system_sectors(systems_in_view):
        per_sector[sector or ""] += alerts.get(pk.hex, 0)
    labels = dict(_sector_choices())
    sectors = [
        {"sector": sector, "label": labels.get(sector, _("No sector")), "n": n}
        for sector, n in sorted(per_sector.items(), key=lambda item: (-item[1], item[0]))
    ]
    top = [uuid.UUID(k) for k in sorted((k for k in alerts if k), key=lambda k: (-alerts[k], k))[:10]]
    names = registry.system_labels(top)
    systems = [
        {
            "system_id": k,
            "system__name": names[k][0],
            "system__organization__name": names[k][1],
            "n": alerts[k.hex],
            "events": events[k.hex],
        }
        for k in top
        if k in names
    ]
    return sectors, systems


def cached_dashboard(user, within: Organization | None = None) -> dict:
    """`dashboard` shared for a few seconds (the poll interval) by every viewer with the same scope, so a
    wall of screens polling the national view costs one computation per interval, not one per screen."""
    paths = scoping.get_scope(user).paths("detection.alert.view")
    key = (
        "detection:dashboard:"
        + hashlib.sha256(repr((paths, within.pk if within else None, translation.get_language())).encode()).hexdigest()
    )
    figures = cache.get(key)
    if figures is None:
        figures = dashboard(user, within)
        cache.set(key, figures, conf.poll_seconds())
    return figures


def _series(keys: list, counts: dict, normalise) -> list[dict]:
    totals: dict = defaultdict(int)
    for key, n in counts.items():
        if key is not None:
            totals[normalise(key)] += n
    peak = max(totals.values(), default=0) or 1
    series = []
    for i, k in enumerate(keys):
        height = round(50 * totals.get(k, 0) / peak)
        series.append({"key": k, "n": totals.get(k, 0), "x": i * 10 + 1, "y": 52 - height, "h": height})
    return series


def _sector_choices() -> list[tuple[str, str]]:
    from attt.registry.services import PrioritySector

    return [(value, str(label)) for value, label in PrioritySector.choices] + [("", _("No sector"))]


# --- For other modules ------------------------------------------------------------------------------------


def indicators_changed() -> None:
    """Intel calls this when indicators are added, changed or retired: detectors rebuild their index."""
    bump_stamp()


def open_alert_counts(user, organization: Organization | None = None) -> dict[str, int]:
    """Open alerts by severity in the user's scope (optionally one subtree)."""
    qs = scoping.visible(user, Alert.objects.filter(status__in=OPEN_STATUSES))
    if organization is not None:
        qs = qs.filter(organization__path__startswith=organization.path)
    return dict(qs.values_list("severity").annotate(n=Count("pk")).order_by())
