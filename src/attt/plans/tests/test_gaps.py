"""Evidence downloads, indicator values, periodic report links, the import cascade (--parent and the
demo's seed links) and assignments created from the unit review."""

import hashlib
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from attt.core.models import AuditEvent
from attt.core.testing import make_user
from attt.plans import demo_data, services
from attt.plans.models import Assignment, IndicatorValue, Plan
from attt.plans.tests.factories import make_assignment, make_indicator, make_plan, make_task
from attt.plans.tests.test_plans import needs_seeds, seed

# --- 1. evidence -----------------------------------------------------------------------------------


def _evidence_in(org, body=b"<html><script>alert(1)</script></html>", name="bien-ban.txt"):
    a = make_assignment(org)
    report = services.report_progress(a, period="2024", status="in_progress", progress=10)
    return a, services.attach_evidence(report, SimpleUploadedFile(name, body))


def test_evidence_download_is_scoped_and_served_as_attachment(client, tree):
    officer = make_user(tree.province_a, "security_officer", username="off-ev")
    body = b"<html><script>alert(1)</script></html>"
    a, inside = _evidence_in(tree.dept_a, body)
    _b, outside = _evidence_in(tree.province_b)
    client.force_login(officer)
    page = client.get(f"/plans/assignments/{a.pk}/").content.decode()
    assert f"/plans/evidence/{inside.pk}/download/" in page  # linked where the evidence is listed
    r = client.get(f"/plans/evidence/{inside.pk}/download/")
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == body and hashlib.sha256(body).hexdigest() == inside.sha256
    assert r["Content-Disposition"].startswith("attachment;") and "bien-ban.txt" in r["Content-Disposition"]
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert r["Content-Type"].startswith("text/plain")
    assert client.get(f"/plans/evidence/{outside.pk}/download/").status_code == 404
    assert client.get("/plans/evidence/00000000-0000-0000-0000-000000000000/download/").status_code == 404
    client.logout()
    assert client.get(f"/plans/evidence/{inside.pk}/download/").status_code == 302  # to the login page


def test_evidence_upload_through_the_progress_form_then_download(client, tree, national_admin):
    a = make_assignment(tree.dept_a)
    client.force_login(national_admin)
    upload = SimpleUploadedFile("ket-qua.pdf", b"%PDF-1.4 demo")
    r = client.post(
        f"/plans/assignments/{a.pk}/",
        {"period": "2024", "status": "in_progress", "progress": "30", "evidence": upload},
    )
    assert r.status_code == 302
    evidence = a.reports.get().evidence.get()
    r = client.get(f"/plans/evidence/{evidence.pk}/download/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert b"".join(r.streaming_content) == b"%PDF-1.4 demo"


# --- 2. indicator values ---------------------------------------------------------------------------


def test_indicator_value_form_records_updates_and_charts(client, tree, national_admin):
    ind = make_indicator(tree.root)
    client.force_login(national_admin)
    page = client.get(f"/plans/indicators/{ind.pk}/").content.decode()
    assert 'data-testid="value-form"' in page
    r = client.post(f"/plans/indicators/{ind.pk}/", {"period": "2024", "value": "65%", "note": "Số liệu 2024"})
    assert r.status_code == 302
    v = IndicatorValue.objects.get(indicator=ind)
    assert (v.organization, v.period, v.value, v.numeric, v.note) == (tree.root, "2024", "65%", 65.0, "Số liệu 2024")
    client.post(f"/plans/indicators/{ind.pk}/", {"period": "2024", "value": "70,5%", "note": ""})
    v.refresh_from_db()
    assert IndicatorValue.objects.filter(indicator=ind).count() == 1 and v.numeric == 70.5  # corrected, not doubled
    client.post(f"/plans/indicators/{ind.pk}/", {"period": "2025-Q1", "value": "72%"})
    page = client.get(f"/plans/indicators/{ind.pk}/").content.decode()
    assert "70,5%" in page and "2025-Q1" in page and "<svg" in page
    r = client.post(f"/plans/indicators/{ind.pk}/", {"period": "năm nay", "value": "1"})
    assert r.status_code == 200 and "2024-Q2" in r.content.decode()  # the form error explains the format
    r = client.post(f"/plans/indicators/{ind.pk}/", {"period": "2026", "value": "  "})
    assert r.status_code == 200
    assert IndicatorValue.objects.filter(indicator=ind).count() == 2


def test_indicator_value_needs_add_permission_on_the_indicator_organisation(client, tree):
    ind = make_indicator(tree.province_a)
    leader = make_user(tree.province_a, "leader", username="leader-ind")
    client.force_login(leader)
    page = client.get(f"/plans/indicators/{ind.pk}/")
    assert page.status_code == 200 and b'data-testid="value-form"' not in page.content
    assert client.post(f"/plans/indicators/{ind.pk}/", {"period": "2024", "value": "1"}).status_code == 403
    other = make_user(tree.province_b, "security_officer", username="off-b-ind")
    client.force_login(other)
    assert client.post(f"/plans/indicators/{ind.pk}/", {"period": "2024", "value": "1"}).status_code == 404
    below = make_user(tree.dept_a, "security_officer", username="off-dept-ind")  # scope below the owner
    client.force_login(below)
    assert client.post(f"/plans/indicators/{ind.pk}/", {"period": "2024", "value": "1"}).status_code == 404
    assert not IndicatorValue.objects.exists()


# --- 3. periodic reports ---------------------------------------------------------------------------


def test_report_periods():
    assert services.report_periods({"date"}, 2024) == ["2024"]
    assert services.report_periods({"quarterly"}, 2024)[1:] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    monthly = services.report_periods({"monthly", "quarterly"}, 2025)
    assert len(monthly) == 17 and monthly[-1] == "2025-12"


def test_plan_page_links_quarterly_and_monthly_reports(client, tree, national_admin):
    plan = make_plan(tree.root)
    quarterly = make_task(tree.root, plan=plan, deadline_kind="quarterly", recurrence_day=28, due_date=None)
    (a,) = services.assign(quarterly, [tree.dept_a])
    services.report_progress(a, period="2024-Q2", status="in_progress", progress=40, comment="Quý hai")
    client.force_login(national_admin)
    page = client.get(f"/plans/plans/{plan.pk}/?year=2024").content.decode()
    assert "period=2024-Q2" in page and "period=2024-Q4" in page and "period=2024-06" not in page
    r = client.get(f"/plans/plans/{plan.pk}/report.xlsx?year=2024&period=2024-Q2")
    assert r.status_code == 200 and "2024-Q2" in r["Content-Disposition"]
    make_task(tree.root, plan=plan, deadline_kind="monthly", due_date=None)
    page = client.get(f"/plans/plans/{plan.pk}/?year=2024").content.decode()
    assert "period=2024-06" in page and "period=2024-12" in page
    dated = make_plan(tree.root)
    make_task(tree.root, plan=dated)
    assert "period=" not in client.get(f"/plans/plans/{dated.pk}/?year=bad").content.decode()


# --- 4. cascade on import --------------------------------------------------------------------------


def test_set_parent_refuses_cycles(tree):
    top, mid, low = make_plan(tree.root), make_plan(tree.root), make_plan(tree.root)
    services.set_parent(mid, top)
    services.set_parent(low, mid)
    services.set_parent(low, mid)  # idempotent
    for plan, parent in [(top, low), (top, top)]:
        with pytest.raises(ValidationError):
            services.set_parent(plan, parent)
    top.refresh_from_db()
    assert top.parent is None


@needs_seeds
def test_import_with_parent_links_the_cascade_idempotently(tree):
    call_command("plans", "import", str(seed("000")), stdout=StringIO())
    national = Plan.objects.get()
    out = StringIO()
    call_command("plans", "import", str(seed("003")), "--parent", national.code, stdout=out)
    assert "implements" in out.getvalue()
    province = Plan.objects.exclude(pk=national.pk).get()
    assert province.parent == national
    call_command("plans", "import", str(seed("003")), "--parent", str(national.pk), stdout=StringIO())
    call_command("plans", "import", str(seed("003")), stdout=StringIO())  # re-import without --parent keeps it
    province.refresh_from_db()
    assert province.parent == national and Plan.objects.count() == 2
    assert list(national.children.all()) == [province]
    with pytest.raises(CommandError, match="No plan"):
        call_command("plans", "import", str(seed("003")), "--parent", "no-such-plan", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("plans", "import", str(seed("000")), "--parent", province.code, stdout=StringIO())
    national.refresh_from_db()
    assert national.parent is None


def test_demo_links_the_department_and_provincial_plans_under_the_national_one(tree):
    national = make_plan(tree.ministry, source_file="000_abc.txt")
    dept = make_plan(tree.dept_a, source_file="001_def.txt")
    province = make_plan(tree.province_a, source_file="003_ghi.txt")
    letter = make_plan(tree.ministry, source_file="004_jkl.txt")
    assert demo_data.link_cascade(national) == 2
    assert demo_data.link_cascade(national) == 2  # idempotent
    for plan in (dept, province, letter):
        plan.refresh_from_db()
    assert dept.parent == national and province.parent == national and letter.parent is None


# --- 6. unit review --------------------------------------------------------------------------------


def test_unit_review_creates_the_assignment_once_and_audits(client, tree, national_admin):
    plan = make_plan(tree.root)
    led = make_task(
        tree.root,
        plan=plan,
        lead_text="Đơn vị X",
        coordination_text="Đơn vị Y",
        unmatched_units=[{"name": "Đơn vị X", "candidates": 0}, {"name": "Đơn vị Y", "candidates": 0}],
    )
    already = make_task(
        tree.root, plan=plan, coordination_text="Đơn vị Y", unmatched_units=[{"name": "Đơn vị Y", "candidates": 0}]
    )
    make_assignment(tree.dept_b, task=already)
    client.force_login(national_admin)
    r = client.post("/plans/review/", {"name": "Đơn vị X", "organization": str(tree.dept_a.pk)})
    assert r.status_code == 302
    led.refresh_from_db()
    assert led.organization == tree.dept_a and led.unit_matched
    assert list(Assignment.objects.filter(task=led).values_list("organization", flat=True)) == [tree.dept_a.pk]
    r = client.post("/plans/review/", {"name": "Đơn vị Y", "organization": str(tree.dept_b.pk)})  # coordinating
    assert Assignment.objects.filter(task=led, organization=tree.dept_b).count() == 1
    assert Assignment.objects.filter(task=already, organization=tree.dept_b).count() == 1  # not duplicated
    assert Assignment.objects.count() == 3
    event = AuditEvent.objects.filter(action="workflow", changes__step="plans.unit_review").order_by("-seq").first()
    assert event.changes["assignments_created"] == 1 and event.changes["tasks"] == 2
    # choosing again for a name already settled changes nothing
    client.post("/plans/review/", {"name": "Đơn vị Y", "organization": str(tree.dept_b.pk)})
    assert Assignment.objects.count() == 3


def test_demo_has_a_plan_with_progress_even_without_the_seed_documents(db, tmp_path, monkeypatch, capsys):
    from django.core.management import call_command

    from attt.plans.models import Assignment, Plan, ProgressReport

    monkeypatch.setenv("ATTT_SEEDS_DIR", str(tmp_path / "absent"))
    call_command("demo", "--only", "core", "plans", verbosity=0)
    plan = Plan.objects.get()
    assert plan.tasks.count() == 5
    assert Assignment.objects.filter(task__plan=plan).exists()
    assert ProgressReport.objects.exists()
