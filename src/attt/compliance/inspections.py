"""Business rules of compliance inspections and their findings.

A finding moves open → acknowledged → remediated → verified: the inspected organisation acknowledges it
and reports the remediation, the inspecting body verifies it (or sends it back). Used by the pages and
the API of oversight.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from attt.compliance.models import Finding, Inspection
from attt.core import audit, scoping
from attt.core.locks import lock_current
from attt.core.models import AuditEvent, Organization, User
from attt.core.services.notifications import notify_permission_holders

ACKNOWLEDGE = "compliance.finding.acknowledge"
VERIFY = "compliance.finding.verify"
OPEN_FINDING_STATES = (Finding.State.OPEN, Finding.State.ACKNOWLEDGED)


def _finding_step(
    finding: Finding,
    *,
    by: User,
    allowed_from: tuple[str, ...],
    target: str,
    step: str,
    permission: str,
    where: Organization,
    comment: str = "",
    **changes,
) -> Finding:
    lock_current(finding)
    if finding.state not in allowed_from:
        raise ValidationError(
            _("This step is not possible while the finding is '%(state)s'.") % {"state": finding.get_state_display()}
        )
    if not scoping.can_in(by, permission, where):
        raise PermissionDenied(_("This step belongs to another organisation."))
    before = finding.state
    finding.state = target
    for name, value in changes.items():
        setattr(finding, name, value)
    finding.save(update_fields=["state", *changes, "updated_at"])
    audit.record(
        AuditEvent.Action.WORKFLOW,
        obj=finding,
        changes={"step": step, "before": {"state": before}, "after": {"state": target}, "comment": comment},
    )
    return finding


@transaction.atomic
def acknowledge_finding(finding: Finding, *, by: User, comment: str = "") -> Finding:
    """The inspected organisation confirms it has received the finding and will remediate it."""
    return _finding_step(
        finding,
        by=by,
        allowed_from=(Finding.State.OPEN,),
        target=Finding.State.ACKNOWLEDGED,
        step="acknowledge",
        permission=ACKNOWLEDGE,
        where=finding.organization,
        comment=comment,
        acknowledged_at=timezone.now(),
    )


@transaction.atomic
def remediate_finding(finding: Finding, *, by: User, evidence: str) -> Finding:
    """The inspected organisation reports the remediation with its evidence; the inspectors are told."""
    if not evidence.strip():
        raise ValidationError({"evidence": _("Describe what was done and where the evidence is.")})
    extra = {"acknowledged_at": finding.acknowledged_at or timezone.now()}
    finding = _finding_step(
        finding,
        by=by,
        allowed_from=OPEN_FINDING_STATES,
        target=Finding.State.REMEDIATED,
        step="remediate",
        permission=ACKNOWLEDGE,
        where=finding.organization,
        evidence=evidence.strip(),
        **extra,
    )
    notify_permission_holders(
        VERIFY,
        finding.inspection.organization,
        title=_("Remediation to verify: %(f)s") % {"f": finding},
        link=finding.get_absolute_url(),
    )
    return finding


@transaction.atomic
def verify_finding(finding: Finding, *, by: User, accept: bool = True, comment: str = "") -> Finding:
    """The inspecting body confirms the remediation, or sends the finding back with a comment."""
    if not accept and not comment.strip():
        raise ValidationError({"comment": _("Say why the remediation is not accepted.")})
    target = Finding.State.VERIFIED if accept else Finding.State.ACKNOWLEDGED
    finding = _finding_step(
        finding,
        by=by,
        allowed_from=(Finding.State.REMEDIATED,),
        target=target,
        step="verify" if accept else "reject_remediation",
        permission=VERIFY,
        where=finding.inspection.organization,
        comment=comment,
    )
    if not accept:
        notify_permission_holders(
            ACKNOWLEDGE,
            finding.organization,
            link=finding.get_absolute_url(),
            title=_("Remediation not accepted: %(f)s") % {"f": finding},
            body=comment,
            level="warning",
        )
    return finding


def notify_new_finding(finding: Finding) -> None:
    due = finding.due_date.strftime("%d/%m/%Y") if finding.due_date else "—"
    notify_permission_holders(
        ACKNOWLEDGE,
        finding.organization,
        link=finding.get_absolute_url(),
        title=_("Inspection finding to remediate: %(f)s") % {"f": finding},
        body=_("Remediate before %(due)s and acknowledge the finding.") % {"due": due},
    )


def finding_actions(user: User, finding: Finding) -> list[str]:
    """The workflow steps `user` may take on the finding now (for buttons and the API)."""
    steps = []
    if scoping.can_in(user, ACKNOWLEDGE, finding.organization):
        if finding.state == Finding.State.OPEN:
            steps.append("acknowledge")
        if finding.state in OPEN_FINDING_STATES:
            steps.append("remediate")
    if finding.state == Finding.State.REMEDIATED and scoping.can_in(user, VERIFY, finding.inspection.organization):
        steps.append("verify")
    return steps


def may_edit_finding(user: User, finding: Finding, action: str) -> bool:
    """What a finding says (and whether it stands) is the inspecting body's: `action` ("add", "change", "delete")
    is held on the inspection's organisation. The inspected organisation, which sees the finding and may hold
    `change` where it lies, answers it only through the steps (acknowledge, remediate)."""
    return scoping.can_in(user, f"compliance.finding.{action}", finding.inspection.organization)


def validate_inspection(inspection: Inspection, targets) -> None:
    """Targets lie inside the inspecting organisation's subtree; the dates are in order."""
    errors = {}
    outside = [t.name for t in targets if not t.path.startswith(inspection.organization.path)]
    if outside:
        errors["targets"] = _("Only organisations under the inspecting body can be inspected: %(names)s.") % {
            "names": ", ".join(outside)
        }
    if inspection.starts and inspection.ends and inspection.ends < inspection.starts:
        errors["ends"] = _("The inspection cannot end before it starts.")
    if errors:
        raise ValidationError(errors)


def validate_finding(finding: Finding) -> None:
    """A finding concerns one of the inspected organisations (or a unit of one), and its system is theirs."""
    errors = {}
    targets = list(finding.inspection.targets.all())
    org = finding.organization
    if targets and not any(org.path.startswith(t.path) for t in targets):
        errors["organization"] = _("The organisation is not among those this inspection covers.")
    elif not org.path.startswith(finding.inspection.organization.path):
        errors["organization"] = _("The organisation is outside the inspecting body's subtree.")
    if finding.system_id and not finding.system.organization.path.startswith(org.path):
        errors["system"] = _("The system does not belong to this organisation.")
    if errors:
        raise ValidationError(errors)
