"""The plan cascade link (scoped, cycle-free, written only by services.set_parent, from the form and
the API) and progress reports through the API (period checked by the form's rule, the same service
as the form, so period_end and the roll-up follow)."""

import datetime
import signal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from attt.core.testing import make_user
from attt.plans import services
from attt.plans.models import Plan, ProgressReport, Status
from attt.plans.tests.factories import make_assignment, make_indicator_value, make_plan, make_task

PROBLEM = "application/problem+json"


@pytest.fixture
def officer_a(tree):
    return make_user(tree.province_a, "security_officer", username="officer-links-a")


@pytest.fixture
def deadline():
    """Turn a hang into a failure: the test fails if it runs longer than a few seconds."""

    def expired(*_):
        raise TimeoutError("did not finish")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def set_parent_calls(monkeypatch):
    """Record every call of services.set_parent (still doing its work)."""
    calls = []
    real = services.set_parent

    def spy(plan, parent):
        calls.append((plan.pk, parent.pk if parent else None))
        return real(plan, parent)

    monkeypatch.setattr(services, "set_parent", spy)
    return calls


# --- the plan link ---------------------------------------------------------------------------------


def test_set_parent_ends_on_a_cycle_already_stored(tree, deadline):
    p1, p2, p3 = make_plan(tree.root), make_plan(tree.root), make_plan(tree.root)
    Plan.objects.filter(pk=p2.pk).update(parent=p3)
    Plan.objects.filter(pk=p3.pk).update(parent=p2)  # a cycle written before the rule existed
    services.set_parent(p1, Plan.objects.get(pk=p2.pk))  # p1 is not in that cycle: linked, no hang
    assert Plan.objects.get(pk=p1.pk).parent_id == p2.pk
    with pytest.raises(ValidationError):
        services.set_parent(Plan.objects.get(pk=p3.pk), Plan.objects.get(pk=p2.pk))


def test_api_refuses_a_cycle_and_links_through_set_parent(api, tree, officer_a, set_parent_calls):
    api.force_authenticate(officer_a)
    p1, p2 = make_plan(tree.province_a), make_plan(tree.dept_a)
    r = api.patch(f"/api/v1/plans/plans/{p1.pk}/", {"parent": str(p2.pk)}, format="json")
    assert r.status_code == 200 and r.json()["parent"] == str(p2.pk)
    assert set_parent_calls == [(p1.pk, p2.pk)]
    for plan, parent in [(p2, p1), (p1, p1)]:
        r = api.patch(f"/api/v1/plans/plans/{plan.pk}/", {"parent": str(parent.pk)}, format="json")
        assert r.status_code == 400 and r["Content-Type"].startswith(PROBLEM), r.content
        assert r.json()["errors"]["parent"]
    p1.refresh_from_db(), p2.refresh_from_db()
    assert p1.parent_id == p2.pk and p2.parent_id is None
    r = api.post(
        "/api/v1/plans/plans/",
        {"organization": str(tree.dept_a.pk), "code": "kh-con", "title": "Kế hoạch con", "parent": str(p1.pk)},
        format="json",
    )
    assert r.status_code == 201, r.content
    child = Plan.objects.get(code="kh-con")
    assert child.parent_id == p1.pk and len(set_parent_calls) == 1  # a new plan is saved with its parent, once
    r = api.patch(f"/api/v1/plans/plans/{child.pk}/", {"title": "Đổi tên"}, format="json")  # no parent sent
    assert r.status_code == 200 and Plan.objects.get(pk=child.pk).parent_id == p1.pk


def _plan_form(plan, parent) -> dict:
    return {
        "organization": str(plan.organization_id),
        "code": plan.code,
        "title": plan.title,
        "kind": plan.kind,
        "parent": str(parent.pk) if parent else "",
    }


def test_plan_form_offers_and_accepts_only_visible_parents(client, tree, officer_a, set_parent_calls):
    mine, child = make_plan(tree.province_a), make_plan(tree.dept_a)
    elsewhere = make_plan(tree.province_b)
    services.set_parent(child, mine)
    set_parent_calls.clear()
    client.force_login(officer_a)
    page = client.get(f"/plans/plans/{mine.pk}/edit/")
    assert page.status_code == 200
    offered = {str(p.pk) for p in page.context["form"].fields["parent"].queryset}
    assert offered == {str(child.pk)}  # neither the plan itself nor province B's plan
    assert elsewhere.title not in page.content.decode() and str(elsewhere.pk) not in page.content.decode()
    r = client.post(f"/plans/plans/{mine.pk}/edit/", _plan_form(mine, elsewhere))
    assert r.status_code == 200 and "parent" in r.context["form"].errors
    r = client.post(f"/plans/plans/{mine.pk}/edit/", _plan_form(mine, child))  # its own sub-plan
    assert r.status_code == 200
    with pytest.raises(ValidationError) as refused:
        services.check_parent(mine, child)
    assert r.context["form"].errors["parent"] == refused.value.messages  # the service's sentence, translated
    assert Plan.objects.get(pk=mine.pk).parent_id is None and set_parent_calls == []
    other = make_plan(tree.province_a)
    r = client.post(f"/plans/plans/{mine.pk}/edit/", _plan_form(mine, other))
    assert r.status_code == 302 and Plan.objects.get(pk=mine.pk).parent_id == other.pk
    assert set_parent_calls == [(mine.pk, other.pk)]


# --- progress reports through the API --------------------------------------------------------------


@pytest.mark.parametrize("period", ["abc", "2024-Q9", "2024-Q0", "2024-13", "2024-00", "0000", "2024-6", "-5"])
def test_api_refuses_a_malformed_period_with_a_problem(api, tree, officer_a, period):
    api.force_authenticate(officer_a)
    a = make_assignment(tree.dept_a, task=make_task(tree.province_a))
    r = api.post("/api/v1/plans/progress-reports/", {"assignment": str(a.pk), "period": period}, format="json")
    assert r.status_code == 400 and r["Content-Type"].startswith(PROBLEM), r.content
    assert r.json()["errors"]["period"]
    report = services.report_progress(a, period="2024", status="in_progress", progress=10)
    r = api.patch(f"/api/v1/plans/progress-reports/{report.pk}/", {"period": period}, format="json")
    assert r.status_code == 400 and r.json()["errors"]["period"]
    assert not ProgressReport.objects.exclude(pk=report.pk).exists()


def test_api_reports_roll_up_and_keep_period_end(api, tree, officer_a):
    api.force_authenticate(officer_a)
    task = make_task(tree.province_a)
    a = make_assignment(tree.dept_a, task=task)
    r = api.post(
        "/api/v1/plans/progress-reports/",
        {"assignment": str(a.pk), "period": "2024-Q2", "status": "in_progress", "progress": 40},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["period_end"] == "2024-06-30" and r.json()["submitted_at"]
    a.refresh_from_db(), task.refresh_from_db()
    assert (a.status, a.progress) == (Status.IN_PROGRESS, 40)
    assert (task.status, task.progress) == (Status.IN_PROGRESS, 40)
    report = ProgressReport.objects.get()
    r = api.patch(f"/api/v1/plans/progress-reports/{report.pk}/", {"period": "2024-03"}, format="json")
    assert r.status_code == 200 and r.json()["period_end"] == "2024-03-31"
    report.refresh_from_db()
    assert (report.period, report.period_end, report.progress) == ("2024-03", datetime.date(2024, 3, 31), 40)
    r = api.patch(f"/api/v1/plans/progress-reports/{report.pk}/", {"status": "done"}, format="json")
    assert r.status_code == 200 and r.json()["progress"] == 100
    task.refresh_from_db()
    assert (task.status, task.progress) == (Status.DONE, 100)
    # a second period's report cannot be renamed onto the first; a report cannot move to another assignment
    services.report_progress(a, period="2024", status="done", progress=100)
    r = api.patch(f"/api/v1/plans/progress-reports/{report.pk}/", {"period": "2024"}, format="json")
    assert r.status_code == 400 and r["Content-Type"].startswith(PROBLEM)
    with pytest.raises(ValidationError):  # the service refuses it too, for any caller
        services.report_progress(a, period="2024", status="done", progress=100, report=report)
    other = make_assignment(tree.dept_a)
    r = api.patch(f"/api/v1/plans/progress-reports/{report.pk}/", {"assignment": str(other.pk)}, format="json")
    assert r.status_code == 400 and r.json()["errors"]["assignment"]
    assert ProgressReport.objects.get(pk=report.pk).assignment_id == a.pk


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=12), st.from_regex(r"\d{4}(-Q\d|-\d{1,2})?", fullmatch=True)))
def test_check_period_accepts_only_labels_with_an_end(label):
    try:
        checked = services.check_period(label)
    except ValidationError:
        return
    assert services.check_period(checked) == checked == label.strip()
    assert services.period_end(checked).year == int(checked[:4])


def test_api_indicator_values_go_through_the_service(api, tree, officer_a):
    """A value sent through the API is checked and computed as the form's: its period refused when malformed,
    its number taken from the text, held by the indicator's owner; correcting it keeps indicator and period."""
    from attt.plans.tests.factories import make_indicator

    indicator = make_indicator(tree.province_a)
    api.force_authenticate(officer_a)
    url = "/api/v1/plans/indicator-values/"
    bad = api.post(url, {"indicator": str(indicator.pk), "period": "2024-13", "value": "65%"}, format="json")
    assert bad.status_code == 400 and bad["Content-Type"] == PROBLEM and "period" in bad.json()["errors"]
    made = api.post(url, {"indicator": str(indicator.pk), "period": "2026", "value": "65%"}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["numeric"] == 65 and made.json()["organization"] == str(tree.province_a.pk)
    value_url = f"{url}{made.json()['id']}/"
    assert api.patch(value_url, {"value": "80 %"}, format="json").json()["numeric"] == 80
    assert api.patch(value_url, {"period": "2027"}, format="json").status_code == 400


def test_correcting_an_older_report_leaves_the_assignment_at_its_latest(api, tree, officer_a):
    """The assignment (and its task) show the latest period's report; fixing an earlier one changes neither."""
    task = make_task(tree.province_a)
    a = make_assignment(tree.dept_a, task=task)
    old = services.report_progress(a, period="2024-03", status="in_progress", progress=20)
    services.report_progress(a, period="2024", status="done", progress=100)
    api.force_authenticate(officer_a)
    fixed = api.patch(f"/api/v1/plans/progress-reports/{old.pk}/", {"comment": "Bổ sung"}, format="json")
    assert fixed.status_code == 200 and fixed.json()["comment"] == "Bổ sung"
    a.refresh_from_db(), task.refresh_from_db()
    assert (a.status, a.progress, task.status, task.progress) == (Status.DONE, 100, Status.DONE, 100)
    services.report_progress(a, period="2023", status="in_progress", progress=5)  # an earlier period, late
    a.refresh_from_db()
    assert (a.status, a.progress) == (Status.DONE, 100)


def test_a_second_record_for_a_period_is_refused_on_the_period(api, tree, officer_a):
    """Posting a report or an indicator value for a period that already has one is a 400 on `period` (in
    Vietnamese), and the first record stays as it was."""
    from attt.plans.models import IndicatorValue
    from attt.plans.tests.factories import make_indicator

    api.force_authenticate(officer_a)
    a = make_assignment(tree.dept_a, task=make_task(tree.province_a))
    url = "/api/v1/plans/progress-reports/"
    assert api.post(url, {"assignment": str(a.pk), "period": "2024", "progress": 30}, format="json").status_code == 201
    again = api.post(url, {"assignment": str(a.pk), "period": "2024", "progress": 90}, format="json")
    assert again.status_code == 400 and "2024" in again.json()["errors"]["period"][0]
    assert "đã có báo cáo" in again.json()["errors"]["period"][0]
    assert ProgressReport.objects.get().progress == 30
    indicator = make_indicator(tree.province_a)
    url = "/api/v1/plans/indicator-values/"
    first = {"indicator": str(indicator.pk), "period": "2026", "value": "65%", "note": "nguồn: báo cáo"}
    assert api.post(url, first, format="json").status_code == 201
    again = api.post(url, {"indicator": str(indicator.pk), "period": "2026", "value": "70%"}, format="json")
    assert again.status_code == 400 and again.json()["errors"]["period"]
    assert IndicatorValue.objects.values_list("value", "note").get() == ("65%", "nguồn: báo cáo")


def test_corrections_through_their_own_services_honour_if_match_and_answer_the_stored_version(api, tree, officer_a):
    """Progress reports and indicator values are corrected through `report_progress` and
    `record_indicator_value`, not the base update: If-Match still refuses a correction made against an older
    version (412, nothing written), and the ETag answered is the version of the record as the correction stored
    it (the indicator value's service returns a new object), which the next correction sends."""
    api.force_authenticate(officer_a)
    report = services.report_progress(
        make_assignment(tree.dept_a, task=make_task(tree.province_a)), period="2024", status="in_progress", progress=10
    )
    url = f"/api/v1/plans/progress-reports/{report.pk}/"
    read = api.get(url)["ETag"]
    services.report_progress(report.assignment, period="2024", status="in_progress", progress=30, report=report)
    refused = api.patch(url, {"progress": 50}, format="json", HTTP_IF_MATCH=read)
    assert refused.status_code == 412, refused.content
    assert ProgressReport.objects.get(pk=report.pk).progress == 30
    current = api.get(url)["ETag"]
    corrected = api.patch(url, {"progress": 50}, format="json", HTTP_IF_MATCH=current)
    assert corrected.status_code == 200, corrected.content
    assert corrected["ETag"] != current and corrected["ETag"] == api.get(url)["ETag"]
    assert api.patch(url, {"progress": 60}, format="json", HTTP_IF_MATCH=corrected["ETag"]).status_code == 200
    value = make_indicator_value(tree.dept_a)
    url = f"/api/v1/plans/indicator-values/{value.pk}/"
    corrected = api.patch(url, {"value": "70%"}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"])
    assert corrected.status_code == 200 and corrected["ETag"] == api.get(url)["ETag"], corrected.content
