"""The nightly checklist job: batched, it leaves every checklist item and audit entry exactly as the job did
one system at a time, and its query count does not grow with the number of systems."""

import pytest
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext as _

from attt.compliance import services as compliance
from attt.compliance.models import ChecklistItem, ChecklistStatus
from attt.core.models import AuditEvent
from attt.registry import services as registry
from attt.registry.tests.factories import make_system
from attt.regulation import services as regulation
from attt.vulns import services
from attt.vulns.models import OPEN_STATUSES, VulnWarning, WarningStatus
from attt.vulns.tests.factories import make_warning as warn

pytestmark = pytest.mark.django_db
CODE = "M.OPS.VULN"


def per_system_job() -> int:
    """The job as it ran before batching, one system at a time through single-system queries and model
    saves (audited by the save signals): the behaviour the batched job must keep."""
    with_warnings = registry.visible_systems(registry.system_actor()).filter(
        pk__in=VulnWarning.objects.values("system_id").distinct()
    )
    changed = 0
    for system in with_warnings:
        today = timezone.localdate()
        state = VulnWarning.objects.filter(system=system, active=True, status__in=OPEN_STATUSES).aggregate(
            open=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today))
        )
        status = "not_met" if state["overdue"] else ("partly" if state["open"] else "met")
        note = _("%(open)s open warnings, %(overdue)s overdue (early-warning module).") % state
        items = ChecklistItem.objects.filter(system=system).exclude(status=ChecklistStatus.NOT_APPLICABLE)
        for regime in set(items.values_list("regime", flat=True)):
            key = "vulnerability_management"
            codes = {r.code for level in range(1, 6) for r in regulation.requirements(regime, level) if r.key == key}
            for item in items.filter(regime=regime, requirement__in=codes):
                if (item.status, item.reason) != (status, note):
                    item.status, item.reason = status, note
                    if status != ChecklistStatus.MET and not item.remediation:
                        item.remediation = _("Handle the open warnings of the early-warning module.")
                    item.save()
                    changed += 1
    return changed


def outcome(job) -> tuple:
    """What `job` returns and leaves behind (every checklist item, the audit entries it added), rolled back."""
    last = AuditEvent.objects.aggregate(seq=Max("seq"))["seq"] or 0
    with transaction.atomic():
        changed = job()
        items = sorted(
            ChecklistItem.objects.values_list("system_id", "regime", "requirement", "status", "reason", "remediation")
        )
        events = sorted(
            AuditEvent.objects.filter(seq__gt=last).values_list(
                "action", "object_type", "object_id", "object_repr", "organization_id", "changes", "actor_name"
            ),
            key=repr,
        )
        transaction.set_rollback(True)
    return changed, items, events


def item(system, regime: str = "ND331_2026") -> ChecklistItem:
    return ChecklistItem.objects.get(system=system, regime=regime, requirement=CODE)


def checklist(organization, regime: str = "ND331_2026", level: int = 3):
    system = make_system(organization, regime=regime)
    compliance.sync_checklist(system, regime, level)
    return system


def mixed_registry(tree) -> None:
    """Systems in every situation the job meets, in two organisations."""
    checklist(tree.dept_a)  # no warning at all: not visited by the job
    clean = checklist(tree.dept_a)  # only closed, inactive or handled warnings: met
    warn(clean, status=WarningStatus.PATCHED, due_in=-5)
    warn(clean, active=False, due_in=-5)
    warn(clean, status=WarningStatus.NOT_AFFECTED)
    partly = checklist(tree.dept_b)  # open, none overdue: partly, with the default roadmap
    warn(partly)
    warn(partly, status=WarningStatus.ACKNOWLEDGED)
    overdue = checklist(tree.dept_a)  # overdue: not met, keeps its own roadmap
    warn(overdue, due_in=-1)
    warn(overdue)
    own = item(overdue)
    own.remediation = "Vá trong quý 1"
    own.save()
    both = checklist(tree.dept_b, "ND85_2016", 4)  # items in two regimes: both follow
    compliance.sync_checklist(both, "ND331_2026", 4)
    warn(both, due_in=-3)
    by_hand = checklist(tree.dept_a)  # a status entered by hand is overwritten, as before
    warn(by_hand, status=WarningStatus.MITIGATED)
    hand = item(by_hand)
    hand.status, hand.reason = ChecklistStatus.PARTLY, "Nhập tay"
    hand.save()
    not_applicable = checklist(tree.dept_a)  # marked not applicable: left alone
    warn(not_applicable, due_in=-2)
    na = item(not_applicable)
    na.status, na.reason = ChecklistStatus.NOT_APPLICABLE, "Không dùng phần mềm bên ngoài"
    na.save()
    level_two = checklist(tree.dept_b, level=2)  # a checklist without the requirement
    warn(level_two, due_in=-2)
    warn(make_system(tree.dept_b), due_in=-2)  # no checklist at all
    unchanged = checklist(tree.dept_a)  # already showing what the job would write: not rewritten
    warn(unchanged)
    same = item(unchanged)
    same.status = ChecklistStatus.PARTLY
    same.reason = _("%(open)s open warnings, %(overdue)s overdue (early-warning module).") % {"open": 1, "overdue": 0}
    same.save()


def test_batched_job_leaves_the_same_items_and_audit_entries_as_the_per_system_job(tree, monkeypatch):
    mixed_registry(tree)
    monkeypatch.setattr(services, "CHECKLIST_BATCH", 4)  # 9 systems with warnings: pages of 4, 4 and 1
    before = outcome(per_system_job)
    after = outcome(services.update_checklists)
    assert after == before
    changed, items, events = after
    assert changed == 6 and len(events) == 6
    statuses = {(system_id, regime): status for system_id, regime, code, status, _r, _m in items if code == CODE}
    assert sorted(statuses.values()).count("not_met") == 3  # overdue, both regimes of one system
    assert ChecklistItem.objects.filter(requirement=CODE, status=ChecklistStatus.NOT_APPLICABLE).count() == 1
    # Run for real: a second run changes nothing.
    assert services.update_checklists() == 6
    assert outcome(services.update_checklists)[0] == 0


def test_given_systems_are_updated_even_without_warnings(tree):
    system = checklist(tree.dept_a)
    assert services.update_checklists([system]) == 1
    assert item(system).status == ChecklistStatus.MET
    assert services.update_checklists([]) == 0


def test_record_requirement_status_refuses_a_status_another_module_may_not_set(tree):
    system = checklist(tree.dept_a)
    with pytest.raises(ValueError):
        compliance.record_requirement_statuses("vulnerability_management", {system.pk: ("not_applicable", "")})
    assert item(system).status == ChecklistStatus.UNKNOWN


def _systems(organization, n: int) -> list:
    systems = []
    for i in range(n):
        system = checklist(organization)
        warn(system, due_in=-1 if i % 3 == 0 else 5)
        systems.append(system)
    return systems


def _queries(job) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        changed = job()
    return len(captured.captured_queries), changed


def test_query_count_does_not_grow_with_the_number_of_systems(tree):
    few = _systems(tree.dept_a, 5)
    services.update_checklists()
    steady_few, changed = _queries(services.update_checklists)
    assert changed == 0
    warn(few[1], due_in=-1)  # one system changes
    one_change_few, changed = _queries(services.update_checklists)
    assert changed == 1

    _systems(tree.dept_b, 45)
    services.update_checklists()
    steady_many, changed = _queries(services.update_checklists)
    assert changed == 0
    warn(few[2], due_in=-1)
    one_change_many, changed = _queries(services.update_checklists)
    assert changed == 1
    assert (steady_many, one_change_many) == (steady_few, one_change_few)
    assert steady_many <= 4  # two pages of systems, the counts, the items
