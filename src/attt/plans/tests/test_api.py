"""The plans API through the scoping layer (create, list, update), problem+json errors, unknown
fields rejected; and the table reader fuzzed with arbitrary lines."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attt.core.testing import make_user
from attt.plans.models import IndicatorValue, Plan
from attt.plans.parsing import is_header, read_table
from attt.plans.tests.factories import make_assignment, make_indicator, make_plan, make_task

PROBLEM = "application/problem+json"


@pytest.fixture
def officer_a(tree):
    return make_user(tree.province_a, "security_officer", username="officer-api-a")


def _ids(response) -> set[str]:
    body = response.json()
    return {row["id"] for row in body.get("results", body)}


def test_plans_create_list_update_through_scoping(api, tree, officer_a):
    api.force_authenticate(officer_a)
    r = api.post(
        "/api/v1/plans/plans/",
        {"organization": str(tree.dept_a.pk), "code": "kh-so-a", "title": "Kế hoạch Sở A", "kind": "department"},
        format="json",
    )
    assert r.status_code == 201, r.content
    mine = Plan.objects.get(code="kh-so-a")
    assert mine.organization == tree.dept_a
    other = make_plan(tree.province_b)
    assert _ids(api.get("/api/v1/plans/plans/")) == {str(mine.pk)}
    assert api.get(f"/api/v1/plans/plans/{other.pk}/").status_code == 404
    assert api.patch(f"/api/v1/plans/plans/{other.pk}/", {"title": "x"}, format="json").status_code == 404
    r = api.patch(f"/api/v1/plans/plans/{mine.pk}/", {"title": "Kế hoạch mới"}, format="json")
    assert r.status_code == 200 and r.json()["title"] == "Kế hoạch mới"
    # creating into another subtree is refused; referring to an out-of-scope parent is "does not exist"
    r = api.post(
        "/api/v1/plans/plans/",
        {"organization": str(tree.province_b.pk), "code": "kh-b", "title": "B"},
        format="json",
    )
    assert r.status_code in (400, 403) and r["Content-Type"].startswith(PROBLEM)
    r = api.patch(f"/api/v1/plans/plans/{mine.pk}/", {"parent": str(other.pk)}, format="json")
    assert r.status_code == 400 and r["Content-Type"].startswith(PROBLEM) and "parent" in r.json()["errors"]
    assert not Plan.objects.filter(code="kh-b").exists()


def test_plans_api_problem_json_and_unknown_fields(api, tree, officer_a):
    api.force_authenticate(officer_a)
    plan = make_plan(tree.province_a)
    r = api.post("/api/v1/plans/plans/", {"organization": str(tree.province_a.pk)}, format="json")
    body = r.json()
    assert r.status_code == 400 and r["Content-Type"].startswith(PROBLEM)
    assert {"type", "title", "status", "detail"} <= body.keys() and {"code", "title"} <= body["errors"].keys()
    r = api.patch(f"/api/v1/plans/plans/{plan.pk}/", {"title": "x", "owner_secret": 1}, format="json")
    assert r.status_code == 400 and "owner_secret" in r.json()["errors"]
    r = api.patch(f"/api/v1/plans/plans/{plan.pk}/", {"source_file": "evil.txt"}, format="json")  # read-only
    assert r.status_code == 400
    plan.refresh_from_db()
    assert plan.title != "x" and plan.source_file == ""
    r = api.patch(f"/api/v1/plans/plans/{plan.pk}/", {"kind": "galaxy"}, format="json")
    assert r.status_code == 400 and "kind" in r.json()["errors"]


def test_tasks_assignments_reports_and_values_through_the_api(api, tree, officer_a):
    api.force_authenticate(officer_a)
    task = make_task(tree.province_a)
    hidden = make_task(tree.province_b)
    assert _ids(api.get("/api/v1/plans/tasks/")) == {str(task.pk)}
    r = api.patch(f"/api/v1/plans/tasks/{task.pk}/", {"details": "Chi tiết"}, format="json")
    assert r.status_code == 200
    assert api.patch(f"/api/v1/plans/tasks/{task.pk}/", {"status": "done"}, format="json").status_code == 400
    assert api.post("/api/v1/plans/tasks/", {}, format="json").status_code == 405
    r = api.post(
        "/api/v1/plans/assignments/", {"organization": str(tree.dept_a.pk), "task": str(task.pk)}, format="json"
    )
    assert r.status_code == 201, r.content
    r = api.post(
        "/api/v1/plans/assignments/", {"organization": str(tree.dept_a.pk), "task": str(hidden.pk)}, format="json"
    )
    assert r.status_code == 400 and "task" in r.json()["errors"]
    a = make_assignment(tree.dept_a, task=make_task(tree.province_a))
    r = api.post("/api/v1/plans/progress-reports/", {"assignment": str(a.pk), "period": "2024-Q2"}, format="json")
    assert r.status_code == 201 and r.json()["organization"] == str(tree.dept_a.pk)
    r = api.post(
        "/api/v1/plans/progress-reports/",
        {"assignment": str(a.pk), "period": "2024", "progress": 140},
        format="json",
    )
    assert r.status_code == 400 and "progress" in r.json()["errors"]
    ind = make_indicator(tree.province_a)
    r = api.post(
        "/api/v1/plans/indicator-values/",
        {"organization": str(tree.province_a.pk), "indicator": str(ind.pk), "period": "2024", "value": "70%"},
        format="json",
    )
    assert r.status_code == 201 and IndicatorValue.objects.get().value == "70%"


# --- the table reader under fuzzing -------------------------------------------------------------

line_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=60)
tabbed = st.lists(st.one_of(st.sampled_from(["", "1", "12.", "TT", "STT", "a"]), line_text), max_size=5).map("\t".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(line_text, tabbed), max_size=25))
def test_table_reader_never_raises_and_reports_every_line(texts):
    lines = list(enumerate(texts, start=1))
    unparsed: list = []
    rows = read_table(lines, unparsed)
    used = [n for r in rows for n in r.lines]
    assert len(used) == len(set(used))  # a line feeds one row at most
    reported = {n for n, _ in unparsed}
    assert not (set(used) & reported)
    for n, text in lines:
        if text.strip() and n not in used and n not in reported:
            assert is_header(text.split("\t")), (n, text)  # only repeated header rows are skipped
    assert read_table(lines) == rows  # the same rows without an unparsed list


def test_a_change_clashing_with_a_unique_record_is_a_409(api, tree, officer_a):
    """The plan is not a field the indicator API takes, so the serializer cannot check (plan, number): the
    database refuses, and the answer is a 409 problem, not a 500 (found by schemathesis)."""
    first = make_indicator(tree.province_a)
    second = make_indicator(tree.province_a, plan=first.plan)
    api.force_authenticate(officer_a)
    response = api.patch(f"/api/v1/plans/indicators/{second.pk}/", {"number": first.number}, format="json")
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    second.refresh_from_db()
    assert second.number != first.number
    renamed = api.patch(f"/api/v1/plans/indicators/{second.pk}/", {"name": "Chỉ tiêu mới"}, format="json")
    assert renamed.status_code == 200
