"""Business rules of level-based security management; other modules call these, never the tables."""

import calendar
import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from attt.compliance.documents import Outline as Outline
from attt.compliance.documents import Section as Section
from attt.compliance.documents import Table as Table
from attt.compliance.documents import outline_docx as outline_docx
from attt.compliance.models import (
    Attachment,
    ChecklistItem,
    ChecklistStatus,
    DossierEvent,
    DossierState,
    LevelAssessment,
    LevelDossier,
    PeriodicCheck,
    ProtectionLayers,
)
from attt.compliance.workflow import TRANSITIONS, Transition
from attt.core import audit, scoping, uploads
from attt.core.locks import for_update, lock_current, lock_unchanged
from attt.core.models import AuditEvent, Organization, User
from attt.core.services.notifications import notify_permission_holders
from attt.registry import services as registry
from attt.regulation import services as regulation
from attt.regulation.errors import RegulationLookupError

# Authority codes of the regulation data that mean "someone inside the owner organisation".
OWNER_SIDE = {"owner", "specialised_unit", "operating_unit", "independent_appraiser"}
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
# Law 116/2025 Art 45.1: systems classified under the old law meet the new measures within 12 months.
NEW_REGIME_MEASURES_DEADLINE = datetime.date(2027, 7, 1)


# --- Level assessment ---------------------------------------------------------------------------------


def assess_system(
    system, *, by: User | None = None, regime: str | None = None, facts: dict | None = None
) -> LevelAssessment:
    """Run the level engine on the system's facts (or on given facts) and keep the result with its inputs."""
    facts = facts if facts is not None else registry.level_facts(system)
    regime = regime or system.regime or regulation.regime_in_force(timezone.localdate()).code
    result = regulation.assess(facts, regime=regime)
    return LevelAssessment.objects.create(
        organization_id=system.organization_id,
        system=system,
        regime=result.regime,
        facts=facts,
        level=result.level,
        deciding_criterion=result.deciding_id,
        result=result.to_dict(),
        created_by=by,
    )


def requirement_row(regime: str, code: str):
    """The catalogue row of a checklist item (any level: rows replaced at higher levels included), or None."""
    try:
        return regulation.requirement(regime, code)
    except (KeyError, LookupError, ValueError):
        return None


def requirement_text(regime: str, code: str) -> str:
    """The requirement's wording in the active language, for checklists and reports."""
    row = requirement_row(regime, code)
    return row.text() if row is not None else code


# --- Dossier workflow ------------------------------------------------------------------------------


def new_dossier(
    system, *, by: User, assessment: LevelAssessment | None = None, kind: str = LevelDossier.Kind.INITIAL
) -> LevelDossier:
    assessment = assessment or assess_system(system, by=by)
    authority = _authority(assessment.regime, assessment.level, assessment.result)
    return LevelDossier.objects.create(
        organization_id=system.organization_id,
        system=system,
        regime=assessment.regime,
        kind=kind,
        proposed_level=assessment.level,
        assessment=assessment,
        title=_("Level %(level)s proposal: %(system)s") % {"level": assessment.level, "system": system.name},
        justification=assessment.result.get("explanation", {}).get("vi", ""),
        appraiser=_actor(authority.appraises).label_vi,
        approver=_actor(authority.approves).label_vi,
    )


def _authority(regime: str, level: int, result: dict | None = None):
    return regulation.authority(
        regime, level, national_security_important=bool((result or {}).get("national_security_important"))
    )


def _actor(roles):
    """The default actor of a step: the first listed (the others act only under their stated condition)."""
    return roles[0].actor


# The permission an actor of the regulation data exercises: the security unit (or a council, or the
# national authority) appraises; the owner's leadership (or the Prime Minister) decides.
ACTOR_PERMISSION = {
    "operating_unit": "compliance.leveldossier.change",
    "specialised_unit": "compliance.leveldossier.appraise",
    "independent_appraiser": "compliance.leveldossier.appraise",
    "national_authority": "compliance.leveldossier.appraise",
    "ministry_of_defence": "compliance.leveldossier.appraise",
    "ministry_of_public_security": "compliance.leveldossier.appraise",
    "owner": "compliance.leveldossier.approve",
    "prime_minister": "compliance.leveldossier.approve",
}


def step_actor(dossier: LevelDossier, actor: str, roots: dict | None = None) -> tuple[str, Organization]:
    """The permission and the organisation on which it must be held to take a step of `actor`'s. `roots`: the
    tops of trees already read, by id, kept by a caller going through many dossiers (a list's rows)."""
    if actor == "owner":
        return "compliance.leveldossier.change", dossier.organization
    authority = _authority(
        dossier.regime, dossier.proposed_level, dossier.assessment.result if dossier.assessment_id else None
    )
    body = _actor(authority.appraises if actor == "appraiser" else authority.approves)
    default = "compliance.leveldossier.appraise" if actor == "appraiser" else "compliance.leveldossier.approve"
    permission = ACTOR_PERMISSION.get(body.code, default)
    if body.code in OWNER_SIDE or dossier.organization.parent_id is None:
        return permission, dossier.organization
    roots = {} if roots is None else roots
    root_id = dossier.organization.lineage_ids[0]
    if root_id not in roots:  # the national authority at the top of the dossier's tree
        roots[root_id] = Organization.objects.get(pk=root_id)
    return permission, roots[root_id]


def may_take(user: User, dossier: LevelDossier, step: Transition, roots: dict | None = None) -> bool:
    permission, organization = step_actor(dossier, step.actor, roots)
    return scoping.can_in(user, permission, organization)


def allowed_transitions(user: User, dossier: LevelDossier, roots: dict | None = None) -> list[Transition]:
    """The steps the user may take now; `roots` as in `step_actor`."""
    return [t for t in TRANSITIONS.values() if dossier.state in t.sources and may_take(user, dossier, t, roots)]


@dataclass
class DecisionInput:
    decision_number: str = ""
    decision_date: datetime.date | None = None
    approved_by_name: str = ""
    approved_level: int | None = None


def is_editable(dossier: LevelDossier) -> bool:
    """A dossier's content is changed only while its owner holds it: as a draft, or returned for more work."""
    return dossier.state in (DossierState.DRAFT, DossierState.RETURNED)


def _validate_submission(dossier: LevelDossier) -> None:
    missing = [
        label
        for label, value in (
            (_("system overview"), dossier.summary),
            (_("level justification"), dossier.justification),
            (_("protection plan"), dossier.protection_plan),
        )
        if not value.strip()
    ]
    if dossier.proposed_level >= 4 and not dossier.attachments.filter(kind=Attachment.Kind.EXPERT_OPINION).exists():
        missing.append(_("expert opinion of the security unit (levels 4 and 5)"))
    if missing:
        raise ValidationError(
            _("The dossier cannot be submitted yet; missing: %(items)s.") % {"items": ", ".join(missing)}
        )


@transaction.atomic
def transition(
    dossier: LevelDossier,
    name: str,
    *,
    by: User,
    comment: str = "",
    decision: DecisionInput | None = None,
    today: datetime.date | None = None,
) -> LevelDossier:
    """Take one workflow step, checking state, actor and required content; start the next legal timer. The step
    works on the stored dossier (a stale page's step gets the wrong step's refusal) and writes only its fields."""
    lock_current(dossier)
    step = TRANSITIONS.get(name)
    if step is None:
        raise ValidationError(_("Unknown step."))
    if dossier.state not in step.sources:
        raise ValidationError(
            _("This step is not possible while the dossier is '%(state)s'.") % {"state": dossier.get_state_display()}
        )
    if not may_take(by, dossier, step):
        raise PermissionDenied(_("This step belongs to another body under the regime's rules."))
    if step.needs_comment and not comment.strip():
        raise ValidationError(_("Write a comment for this step."))
    today = today or timezone.localdate()
    before = dossier.state
    changed = ["state", "step_started", "step_due", "updated_at"]
    if name == "submit":
        _validate_submission(dossier)
        dossier.submitted_at = timezone.now()
        changed.append("submitted_at")
    elif name == "appraise":
        dossier.appraisal_opinion = comment
        changed.append("appraisal_opinion")
    elif name == "approve":
        _apply_decision(dossier, decision or DecisionInput())
        changed += DECISION_FIELDS
    dossier.state = step.target
    dossier.step_started = today
    dossier.step_due = _due(dossier, step.timer, today)
    dossier.save(update_fields=changed)
    DossierEvent.objects.create(
        dossier=dossier, from_state=before, to_state=step.target, comment=comment, due=dossier.step_due, by=by
    )
    audit.record(
        AuditEvent.Action.WORKFLOW,
        obj=dossier,
        changes={
            "step": name,
            "before": {"state": before},
            "after": {"state": step.target, "step_due": dossier.step_due},
            "comment": comment,
        },
    )
    if name == "approve":
        sync_checklist(dossier.system, dossier.regime, dossier.approved_level)
        plan_periodic_checks(dossier.system, dossier.regime, dossier.approved_level, start=today)
    _notify_next(dossier, step)
    return dossier


DECISION_FIELDS = ["decision_number", "decision_date", "approved_by_name", "approved_level"]


def _apply_decision(dossier: LevelDossier, decision: DecisionInput) -> None:
    errors = {}
    if not decision.decision_number.strip():
        errors["decision_number"] = _("The decision number is required.")
    if decision.decision_date is None:
        errors["decision_date"] = _("The decision date is required.")
    if not decision.approved_by_name.strip():
        errors["approved_by_name"] = _("Name the person who signed the decision.")
    if decision.approved_level is not None and not 1 <= decision.approved_level <= 5:
        errors["approved_level"] = _("A level is between 1 and 5.")
    elif decision.approved_level is not None and not _within_path(dossier, decision.approved_level):
        errors["approved_level"] = _(
            "Level %(level)s is appraised or approved by other bodies than level %(proposed)s under this regime: "
            "return the dossier so that it is proposed at that level."
        ) % {"level": decision.approved_level, "proposed": dossier.proposed_level}
    if errors:
        raise ValidationError(errors)
    dossier.decision_number = decision.decision_number.strip()
    dossier.decision_date = decision.decision_date
    dossier.approved_by_name = decision.approved_by_name.strip()
    dossier.approved_level = decision.approved_level or dossier.proposed_level


def _within_path(dossier: LevelDossier, level: int) -> bool:
    """Whether the bodies that appraised and now approve the dossier may decide `level` (regime data). A lower
    level is theirs to decide (each level's bodies are at least those of the levels below); a higher one whose
    bodies differ would skip those the law gives it (a level-5 decision without the Prime Minister, a level-4 one
    without the national authority's appraisal)."""
    if level <= dossier.proposed_level:
        return True
    result = dossier.assessment.result if dossier.assessment_id else None
    bodies = [_authority(dossier.regime, n, result) for n in (dossier.proposed_level, level)]
    proposed, approved = ((_actor(a.appraises).code, _actor(a.approves).code) for a in bodies)
    return proposed == approved


def _due(dossier: LevelDossier, timer_step: str | None, start: datetime.date) -> datetime.date | None:
    if timer_step is None:
        return None
    policy = regulation.timer(dossier.regime, timer_step, dossier.proposed_level)
    return regulation.due_date(start, policy) if policy is not None else None


def _notify_next(dossier: LevelDossier, step: Transition) -> None:
    nxt = {"submitted": "appraiser", "appraisal": "appraiser", "appraised": "approver"}.get(dossier.state)
    link = dossier.get_absolute_url()
    if nxt:
        notify_permission_holders(
            *step_actor(dossier, nxt),
            title=_("Dossier waiting for you: %(t)s") % {"t": dossier.title},
            link=link,
            body=_("Due %(due)s.") % {"due": dossier.step_due or "—"},
        )
    else:
        notify_permission_holders(
            "compliance.leveldossier.change",
            dossier.organization,
            title=_("Dossier %(t)s: %(state)s") % {"t": dossier.title, "state": dossier.get_state_display()},
            link=link,
        )


def overdue_dossiers(queryset=None, today: datetime.date | None = None):
    today = today or timezone.localdate()
    queryset = queryset if queryset is not None else LevelDossier.objects.all()
    return queryset.filter(step_due__lt=today).exclude(
        state__in=[DossierState.APPROVED, DossierState.WITHDRAWN, DossierState.DRAFT, DossierState.RETURNED]
    )


def approved_level(system) -> int | None:
    """The level in force for a system: its latest approved dossier's decision."""
    dossier = (
        LevelDossier.objects.filter(system=system, state=DossierState.APPROVED)
        .order_by("-decision_date", "-updated_at")
        .first()
    )
    return dossier.approved_level if dossier else None


def approved_levels(system_ids) -> dict:
    """The level in force for each of many systems (its latest approved decision), in one query."""
    rows = (
        LevelDossier.objects.filter(system_id__in=list(system_ids), state=DossierState.APPROVED)
        .order_by("system_id", "-decision_date", "-updated_at")
        .values_list("system_id", "approved_level")
    )
    levels: dict = {}
    for system_id, level in rows:
        levels.setdefault(system_id, level)
    return levels


def remind_dossiers(today: datetime.date | None = None) -> int:
    """Daily job: warn the body holding each dossier on the reminder days its step's timer sets (`reminders`
    of the regime's timers.yaml, lead times before the due date), and every day once overdue."""
    today = today or timezone.localdate()
    sent = 0
    active = LevelDossier.objects.filter(step_due__isnull=False).exclude(
        state__in=[DossierState.APPROVED, DossierState.WITHDRAWN, DossierState.DRAFT, DossierState.RETURNED]
    )
    for dossier in active.select_related("organization"):
        days_left = (dossier.step_due - today).days
        if days_left < 0 or today in _reminder_days(dossier):
            actor = "approver" if dossier.state == DossierState.APPRAISED else "appraiser"
            title = (_("Overdue: %(t)s") if days_left < 0 else _("Due in %(n)s days: %(t)s")) % {
                "t": dossier.title,
                "n": days_left,
            }
            notify_permission_holders(
                *step_actor(dossier, actor),
                title=title,
                link=dossier.get_absolute_url(),
                level="warning" if days_left >= 0 else "danger",
            )
            sent += 1
    return sent


def _reminder_days(dossier: LevelDossier) -> list[datetime.date]:
    """The reminder days of the timer the dossier's current step runs under (the step that led to its state)."""
    timer_step = next((t.timer for t in TRANSITIONS.values() if t.target == dossier.state and t.timer), None)
    policy = regulation.timer(dossier.regime, timer_step, dossier.proposed_level) if timer_step else None
    if policy is None or dossier.step_started is None:
        return []
    return regulation.reminder_dates(dossier.step_started, policy)


# --- Attachments -----------------------------------------------------------------------------------


def attach(
    upload: UploadedFile, *, by: User, kind: str, dossier: LevelDossier | None = None, item: ChecklistItem | None = None
) -> Attachment:
    """Store a document of a dossier or a checklist item (see attt.core.uploads for the safety rules)."""
    owner = dossier or item
    checked = uploads.check_upload(upload, max_bytes=MAX_ATTACHMENT_BYTES)
    attachment = Attachment(
        organization_id=owner.organization_id,
        dossier=dossier,
        checklist_item=item,
        kind=kind,
        filename=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
    )
    attachment.file.save(checked.storage_name(), upload, save=False)
    attachment.save()
    return attachment


# --- Checklist -------------------------------------------------------------------------------------


def sync_checklist(system, regime: str, level: int) -> int:
    """Add the requirements of the level that the system's checklist lacks; returns how many were added."""
    have = set(ChecklistItem.objects.filter(system=system, regime=regime).values_list("requirement", flat=True))
    new = [
        ChecklistItem(organization_id=system.organization_id, system=system, regime=regime, requirement=r.code)
        for r in regulation.requirements(regime, level)
        if r.code not in have
    ]
    ChecklistItem.objects.bulk_create(new)
    if new:
        audit.record(
            AuditEvent.Action.WORKFLOW,
            obj=system,
            changes={"step": "checklist_sync", "after": {"regime": regime, "level": level, "added": len(new)}},
        )
    return len(new)


@dataclass
class ChecklistProgress:
    total: int = 0
    applicable: int = 0
    met: int = 0
    partly: int = 0
    not_met: int = 0
    unknown: int = 0
    not_applicable: int = 0
    by_group: dict = field(default_factory=dict)

    @property
    def percent_met(self) -> float:
        return round(100.0 * self.met / self.applicable, 1) if self.applicable else 0.0

    @property
    def fully_implemented(self) -> bool:
        return self.applicable > 0 and self.met == self.applicable


def checklist_progress(system, regime: str) -> ChecklistProgress:
    counts = dict(
        ChecklistItem.objects.filter(system=system, regime=regime).values_list("status").annotate(n=Count("pk"))
    )
    progress = ChecklistProgress(
        met=counts.get(ChecklistStatus.MET, 0),
        partly=counts.get(ChecklistStatus.PARTLY, 0),
        not_met=counts.get(ChecklistStatus.NOT_MET, 0),
        unknown=counts.get(ChecklistStatus.UNKNOWN, 0),
        not_applicable=counts.get(ChecklistStatus.NOT_APPLICABLE, 0),
    )
    progress.total = sum(counts.values())
    progress.applicable = progress.total - progress.not_applicable
    return progress


ITEM_FIELDS = ("status", "reason", "responsible", "due_date", "remediation")


@transaction.atomic
def update_item(item: ChecklistItem, *, read_version: str = "", **changes) -> ChecklistItem:
    """A person's assessment of one requirement: the given fields (of `ITEM_FIELDS`) change, on the stored item,
    so a field not given keeps what the nightly evidence job (or another person) wrote meanwhile. `read_version`:
    the item's version the person's page showed; `EditConflict` if it was saved since (its status may have
    changed under the page)."""
    if unknown := set(changes) - set(ITEM_FIELDS):
        raise TypeError(f"not a checklist item field: {sorted(unknown)}")
    lock_unchanged(item, read_version)
    for name, value in changes.items():
        setattr(item, name, value)
    status, reason, remediation = item.status, item.reason, item.remediation
    if status not in ChecklistStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    if status == ChecklistStatus.NOT_APPLICABLE and not reason.strip():
        raise ValidationError({"reason": _("Say why this requirement does not apply.")})
    if status in (ChecklistStatus.NOT_MET, ChecklistStatus.PARTLY) and not (remediation.strip() and item.due_date):
        raise ValidationError(
            {"remediation": _("A requirement not fully met needs a remediation roadmap and a due date.")}
        )
    item.full_clean()
    item.save(update_fields=[*changes, "updated_at"])
    return item


_EVIDENCE_FIELDS = ("status", "reason", "remediation")


def record_requirement_statuses(key: str, statuses: dict) -> int:
    """Live evidence from another module (vulns → the vulnerability-management item) for requirement `key` of
    many systems' checklists ({system id: (status, note)}): the status and the note go on every checklist item
    of that key, in every regime, except items a person marked not applicable. One query reads the items, and
    only those whose status or note changes are written (one UPDATE for all, and each its audit entry, as a
    save would). Returns how many items changed."""
    for status, _note in statuses.values():
        if status not in (ChecklistStatus.MET, ChecklistStatus.PARTLY, ChecklistStatus.NOT_MET):
            raise ValueError(f"status {status!r} cannot be set from another module")
    codes = {
        regime.code: {r.code for level in range(1, 6) for r in regulation.requirements(regime, level) if r.key == key}
        for regime in regulation.regimes()
    }
    of_key = Q(pk__in=[])
    for regime, regime_codes in codes.items():
        of_key |= Q(regime=regime, requirement__in=regime_codes)
    items = ChecklistItem.objects.filter(of_key, system_id__in=list(statuses)).exclude(
        status=ChecklistStatus.NOT_APPLICABLE
    )
    stale = [
        pk
        for pk, system_id, *stored in items.values_list("pk", "system_id", "status", "reason")
        if tuple(stored) != statuses[system_id]
    ]
    if not stale:
        return 0
    now, changed = timezone.now(), []
    with transaction.atomic():
        # Read again, locked, only the items to change: a person may have marked one not applicable or written
        # its remediation since the read above, and that must stay.
        locked = for_update(items.filter(pk__in=stale), of=("self",)).order_by("pk")
        for item in locked.select_related("organization"):  # each audit entry names the item's organisation
            status, note = statuses[item.system_id]
            if (item.status, item.reason) == (status, note):
                continue
            before = {name: getattr(item, name) for name in _EVIDENCE_FIELDS}
            item.status, item.reason, item.updated_at = status, note, now
            if status != ChecklistStatus.MET and not item.remediation:
                item.remediation = _("Handle the open warnings of the early-warning module.")
            changed.append((item, before))
        ChecklistItem.objects.bulk_update([item for item, _before in changed], [*_EVIDENCE_FIELDS, "updated_at"])
        entries = []
        for item, before in changed:
            fields = [name for name in _EVIDENCE_FIELDS if getattr(item, name) != before[name]]
            changes = {
                "before": {name: before[name] for name in fields},
                "after": {name: getattr(item, name) for name in fields},
            }
            entries.append({"action": AuditEvent.Action.UPDATE, "obj": item, "changes": changes})
        audit.record_many(entries)
    return len(changed)


@dataclass
class TransitionGap:
    """Old-regime systems must meet the new regime's measures by a legal deadline: how far they are."""

    deadline: datetime.date
    days_left: int
    required: int
    met: int

    @property
    def missing(self) -> int:
        return self.required - self.met


def transition_gap(system, level: int, today: datetime.date | None = None) -> TransitionGap | None:
    """None unless the system's level was approved under Decree 85/2016."""
    today = today or timezone.localdate()
    dossier = LevelDossier.objects.filter(system=system, state=DossierState.APPROVED).order_by("-decision_date").first()
    if dossier is None or dossier.regime != "ND85_2016":
        return None
    new = "ND331_2026"
    required = {r.code for r in regulation.requirements(new, level)}
    met = ChecklistItem.objects.filter(
        system=system,
        regime=new,
        requirement__in=required,
        status__in=[ChecklistStatus.MET, ChecklistStatus.NOT_APPLICABLE],
    ).count()
    return TransitionGap(NEW_REGIME_MEASURES_DEADLINE, (NEW_REGIME_MEASURES_DEADLINE - today).days, len(required), met)


# --- 4 layers and periodic checks --------------------------------------------------------------------


def layers_of(system, *, create: bool = True) -> ProtectionLayers:
    """The system's 4-layer record, made with the defaults when it has none yet; without `create` (a page that
    only shows it) nothing is written and the defaults come unsaved."""
    if not create:
        stored = ProtectionLayers.objects.filter(system=system).first()
        return stored or ProtectionLayers(system=system, organization_id=system.organization_id)
    layers, _created = ProtectionLayers.objects.get_or_create(
        system=system, defaults={"organization_id": system.organization_id}
    )
    return layers


LAYER4_SEEN_STEP = datetime.timedelta(hours=1)
LAYER4_FIELDS = ("national_monitoring_connected", "national_monitoring_source", "national_monitoring_seen")


@transaction.atomic
def set_national_monitoring(system, *, connected: bool, seen: datetime.datetime | None = None) -> None:
    """Layer 4, set by the monitoring module from live data (overrides what was entered by hand). Monitoring
    reports every few minutes; the row (and its audit entry) is written when the status or its origin changes,
    and otherwise when the last-seen time has moved by `LAYER4_SEEN_STEP`: thousands of systems would else add
    an audit entry each every five minutes."""
    layers = layers_of(system)
    seen = seen or timezone.now()

    def unchanged() -> bool:
        return (
            layers.national_monitoring_connected == connected
            and layers.national_monitoring_source == ProtectionLayers.Layer4Source.MONITORING
            and layers.national_monitoring_seen is not None
            and abs(seen - layers.national_monitoring_seen) < LAYER4_SEEN_STEP
        )

    if unchanged():  # most calls: no lock (the audit chain's among them) for a write that will not happen
        return
    lock_current(layers)  # a person's edit of the other layers meanwhile must stay
    if unchanged():
        return
    layers.national_monitoring_connected = connected
    layers.national_monitoring_source = ProtectionLayers.Layer4Source.MONITORING
    layers.national_monitoring_seen = seen
    layers.save(update_fields=[*LAYER4_FIELDS, "updated_at"])


def plan_periodic_checks(system, regime: str, level: int, *, start: datetime.date) -> PeriodicCheck | None:
    """Plan the next periodic check from the level's frequency, unless one is already planned."""
    if PeriodicCheck.objects.filter(
        system=system, done_date__isnull=True, kind=PeriodicCheck.Kind.PERIODIC_CHECK
    ).exists():
        return None
    months = regulation.check_interval_months(regime, level)
    if not months:
        return None
    return PeriodicCheck.objects.create(
        organization_id=system.organization_id, system=system, regime=regime, due_date=_add_months(start, months)
    )


def follow_new_owner(system, former_organization_id, new_organization_id) -> int:
    """Registry's owner-change hook (`registry.register_owner_change`): a system handed to another organisation
    takes its compliance along in the same transaction — level assessments, dossiers (in any state: the level is
    the system's, and the new owner answers for it) with their attachments, checklist, 4-layer record and periodic
    checks — each move audited. Inspections and their findings stay: they record an inspection as it was made.
    Returns how many records moved."""
    kept_with_system = [model.objects.filter(system=system) for model in KEPT_WITH_SYSTEM]
    attachments = Attachment.objects.filter(Q(dossier__system=system) | Q(checklist_item__system=system))
    return sum(
        registry.move_with_system(records, system, new_organization_id) for records in [*kept_with_system, attachments]
    )


KEPT_WITH_SYSTEM = (LevelAssessment, LevelDossier, ChecklistItem, ProtectionLayers, PeriodicCheck)


@transaction.atomic
def follow_owners() -> int:
    """Daily safety net of `follow_new_owner`: the compliance of systems whose owner was written without a save
    (an UPDATE of the row), or handed over before the hook existed, goes to their owner now, each move audited.
    Returns how many records moved."""
    astray = {
        system.pk: system for model in KEPT_WITH_SYSTEM for system in registry.systems_astray(model.objects.all())
    }
    return sum(follow_new_owner(system, None, system.organization_id) for system in astray.values())


@transaction.atomic
def complete_check(check: PeriodicCheck, *, done: datetime.date, performer: str, result: str) -> PeriodicCheck:
    """Record a check and plan the next; a check recorded already (by another person, or since the page was
    loaded) is refused as the page refuses it, so the next one is not planned twice. A date after today is
    refused: the next check would be planned from it, and reports would count a check not yet done."""
    if done > timezone.localdate():
        raise ValidationError({"done_date": _("A check cannot be recorded as done after today.")})
    lock_current(check)
    if check.done_date is not None:
        raise PermissionDenied
    check.done_date, check.performer, check.result = done, performer, result
    check.save(update_fields=["done_date", "performer", "result", "updated_at"])
    try:
        months = regulation.check_interval_months(check.regime, approved_level(check.system) or 1, check.kind)
    except RegulationLookupError:  # a kind the regime sets no frequency for (risk assessment under Decree 85)
        months = None
    if months:
        PeriodicCheck.objects.create(
            organization_id=check.organization_id,
            system=check.system,
            regime=check.regime,
            kind=check.kind,
            due_date=_add_months(done, months),
        )
    return check


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def overdue_checks(queryset=None, today: datetime.date | None = None):
    today = today or timezone.localdate()
    queryset = queryset if queryset is not None else PeriodicCheck.objects.all()
    return queryset.filter(done_date__isnull=True, due_date__lt=today)


def coverage_filter() -> Q:
    """Systems whose four layers are all in place (for dashboards)."""
    return Q(
        onsite_staff__gt=0,
        soc_provider__isnull=False,
        last_assessment__isnull=False,
        national_monitoring_connected=True,
    )
