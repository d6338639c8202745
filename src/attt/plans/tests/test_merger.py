"""Provinces merge (34 from 63 in 2025), and a national plan assigned its tasks to each of them: a merger of two
provinces that shared a task was refused until someone deleted one province's assignment and its reports."""

import datetime

from django.core.files.base import ContentFile

from attt.core.services import organizations
from attt.core.testing import make_user
from attt.plans.models import Assignment, Evidence, Indicator, IndicatorValue, ProgressReport
from attt.plans.tests.factories import make_assignment, make_plan, make_task


def _report(assignment, period="2026-Q3", comment=""):
    report = ProgressReport.objects.create(
        organization=assignment.organization,
        assignment=assignment,
        period=period,
        period_end=datetime.date(2026, 10, 5),
        comment=comment,
    )
    evidence = Evidence(organization=report.organization, report=report, filename="bien-ban.pdf", sha256="0" * 64)
    evidence.file.save("bien-ban.pdf", ContentFile(b"%PDF-1.7"), save=False)
    evidence.save()
    return report


def test_a_merger_of_two_units_assigned_one_task_keeps_each_assignment_as_filed(tree):
    plan = make_plan(tree.root)
    shared, own = make_task(tree.root, plan), make_task(tree.root, plan)
    kept = make_assignment(tree.province_a, shared)
    moved = make_assignment(tree.province_a, own)
    theirs = make_assignment(tree.province_b, shared)
    kept_report, moved_report = _report(kept, comment="Tỉnh A: đã triển khai"), _report(moved)
    _report(theirs, comment="Tỉnh B: đang triển khai")

    counts = organizations.merge(tree.province_a, tree.province_b)

    assert counts["plans.assignment_kept"] == 1 and counts["plans.assignment"] == 1
    assert counts["plans.progressreport_kept"] == 1 and counts["plans.evidence_kept"] == 1
    for record in (kept, kept_report, kept_report.evidence.get()):
        record.refresh_from_db()
        assert record.organization_id == tree.province_a.pk, record  # as filed, by the merged-away province
    for record in (moved, moved_report, moved_report.evidence.get()):
        record.refresh_from_db()
        assert record.organization_id == tree.province_b.pk, record
    assert kept_report.comment == "Tỉnh A: đã triển khai"
    assert Assignment.objects.filter(task=shared).count() == 2


def test_the_merged_provinces_people_see_and_answer_for_the_assignment_that_stayed(tree, api):
    plan = make_plan(tree.root)
    shared = make_task(tree.root, plan)
    kept = make_assignment(tree.province_a, shared)
    make_assignment(tree.province_b, shared)
    report = _report(kept)
    organizations.merge(tree.province_a, tree.province_b)
    api.force_authenticate(make_user(tree.province_b, "security_officer", username="can-bo-tinh-b"))
    assert api.get(f"/api/v1/plans/assignments/{kept.pk}/").status_code == 200
    assert api.get(f"/api/v1/plans/progress-reports/{report.pk}/").status_code == 200
    answer = {"assignment": str(kept.pk), "period": "2026-Q4", "status": "in_progress", "progress": 60}
    assert api.post("/api/v1/plans/progress-reports/", answer, format="json").status_code == 201
    api.force_authenticate(make_user(tree.ministry, "security_officer", username="can-bo-bo"))
    assert api.get(f"/api/v1/plans/assignments/{kept.pk}/").status_code == 404


def test_indicator_values_of_one_period_held_by_both_each_stay(tree):
    plan = make_plan(tree.root)
    indicator = Indicator.objects.create(organization=tree.root, plan=plan, number=1, name="Tỷ lệ hệ thống")
    a = IndicatorValue.objects.create(indicator=indicator, organization=tree.province_a, period="2026", value="60%")
    b = IndicatorValue.objects.create(indicator=indicator, organization=tree.province_b, period="2026", value="70%")
    other = IndicatorValue.objects.create(indicator=indicator, organization=tree.province_a, period="2025", value="5%")
    counts = organizations.merge(tree.province_a, tree.province_b)
    assert counts["plans.indicatorvalue_kept"] == 1
    owners = {v.pk: v.organization_id for v in IndicatorValue.objects.all()}
    assert owners == {a.pk: tree.province_a.pk, b.pk: tree.province_b.pk, other.pk: tree.province_b.pk}
