"""Deadlines as the plans write them, periodic reports, the roll-up down a cascade of three levels, and the
daily reminder job as a unit's officer lives it."""

import datetime

import pytest
from django_q.models import Schedule

from attt.core.models import Notification
from attt.core.services.organizations import create_organization
from attt.core.testing import make_user
from attt.plans import services
from attt.plans.models import Assignment
from attt.plans.parsing import parse_deadline
from attt.plans.tests.factories import make_assignment, make_task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "kind", "start", "due"),
    [
        ("Giai đoạn 2025–2030", "range", datetime.date(2025, 1, 1), datetime.date(2030, 12, 31)),
        ("2024–2025", "range", datetime.date(2024, 1, 1), datetime.date(2025, 12, 31)),
        ("giai đoạn 2024 - 2025", "range", datetime.date(2024, 1, 1), datetime.date(2025, 12, 31)),
        ("Quý I–II/2024", "range", datetime.date(2024, 1, 1), datetime.date(2024, 6, 30)),
        ("- Tháng 9/2024 - Tháng 12/2024", "range", datetime.date(2024, 9, 1), datetime.date(2024, 12, 31)),
        ("Trong năm 2024", "date", datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)),
        ("Trước ngày 15/12/2024", "date", None, datetime.date(2024, 12, 15)),
        ("Trước ngày 31/02/2024", "unknown", None, None),
    ],
)
def test_deadlines_as_the_plans_write_them(text, kind, start, due):
    """A task "Giai đoạn 2025–2030" (an en dash, as office files write it) showed no deadline at all, and the seed's
    "- Tháng 9/2024 - Tháng 12/2024" (approve by September, carry out by December) was due, and overdue, on
    30 September; "Trước ngày 15/12/2024" was "not stated"."""
    d = parse_deadline(text)
    assert (d.kind, d.start, d.due) == (kind, start, due)


def test_a_report_after_the_years_occurrences_moves_the_assignment(tree):
    """Once `attt plans occurrences 2024` had made the empty Q1–Q4 reports, a unit's Q1 report never reached its
    assignment or the task: the empty Q4 report, ending last, counted as the latest one."""
    task = make_task(tree.root, deadline_kind="quarterly", recurrence_day=28, due_date=None)
    (a,) = services.assign(task, [tree.dept_a])
    services.create_occurrences(2024)
    services.report_progress(a, period="2024-Q1", status="in_progress", progress=30)
    a.refresh_from_db()
    task.refresh_from_db()
    assert (a.status, a.progress) == ("in_progress", 30)
    assert (task.status, task.progress) == ("in_progress", 30)


def test_a_cascade_of_three_levels_rolls_up_to_the_task(tree):
    """A province handing a task to a department, which hands it to its centre: the centre's "done" left the
    province's assignment and the task "not started" at 100 % when the province came first in the loop."""
    top = create_organization(parent=tree.root, code="a-top", name="A tỉnh", kind="province")
    mid = create_organization(parent=top, code="b-mid", name="B sở", kind="department")
    leaf = create_organization(parent=mid, code="c-leaf", name="C trung tâm", kind="operator")
    task = make_task(tree.root)
    (a,) = services.assign(task, [top])
    (b,) = services.assign(task, [mid], parent=a)
    (c,) = services.assign(task, [leaf], parent=b)
    services.report_progress(c, period="2024", status="done", progress=100)
    task.refresh_from_db()
    assert [x.status for x in Assignment.objects.filter(pk__in=[a.pk, b.pk]).order_by("organization__code")] == [
        "done",
        "done",
    ]
    assert (task.status, task.progress) == ("done", 100)


def test_a_unit_added_to_a_finished_task_reopens_it(tree):
    """A task done by its only unit stayed "done" at 100 % after a second unit was given it, which had not
    started; removing an overdue unit left the task overdue."""
    task = make_task(tree.root)
    (a,) = services.assign(task, [tree.dept_a])
    services.report_progress(a, period="2024", status="done", progress=100)
    (b,) = services.assign(task, [tree.dept_b])
    task.refresh_from_db()
    assert (task.status, task.progress) == ("in_progress", 50)
    services.report_progress(b, period="2024", status="blocked", progress=10)
    task.refresh_from_db()
    assert task.status == "blocked"
    b.delete()
    task.refresh_from_db()
    assert (task.status, task.progress) == ("done", 100)


def test_an_overdue_unit_is_told_once_not_every_day(tree):
    """A unit's officer found a new "Overdue" notice every morning for as long as the task stayed late."""
    officer = make_user(tree.dept_a, "security_officer", username="off-a")
    a = make_assignment(tree.dept_a, task=make_task(tree.root), due_date=datetime.date(2024, 6, 30))
    for day in range(1, 6):
        services.remind(datetime.date(2024, 7, day))
    assert Notification.objects.filter(recipient=officer, level="danger").count() == 1
    a.refresh_from_db()
    assert a.status == "overdue"


def test_a_unit_added_through_the_api_reopens_the_task(tree, api, national_admin):
    """The API's new assignment left the finished task "done" as the assign page did."""
    task = make_task(tree.root)
    (a,) = services.assign(task, [tree.dept_a])
    services.report_progress(a, period="2024", status="done", progress=100)
    api.force_authenticate(national_admin)
    response = api.post(
        "/api/v1/plans/assignments/", {"task": str(task.pk), "organization": str(tree.dept_b.pk)}, format="json"
    )
    assert response.status_code == 201, response.content
    task.refresh_from_db()
    assert (task.status, task.progress) == ("in_progress", 50)


@pytest.mark.parametrize("query", ["organization=not-an-id", "organization=00000000-0000-0000-0000-000000000000"])
def test_a_report_for_a_malformed_or_unknown_organisation_is_not_found(tree, client, national_admin, query):
    """A report link with a mangled organisation id answered with a server error page."""
    task = make_task(tree.root)
    client.force_login(national_admin)
    response = client.get(f"/plans/plans/{task.plan_id}/report.docx?year=2024&{query}")
    assert response.status_code == 404


def test_a_report_in_another_format_is_not_found(tree, client, national_admin):
    """/report.pdf downloaded a spreadsheet named .pdf that no reader opened."""
    task = make_task(tree.root)
    client.force_login(national_admin)
    assert client.get(f"/plans/plans/{task.plan_id}/report.pdf?year=2024").status_code == 404


def test_a_mangled_id_in_a_posted_form_is_not_a_server_error(tree, client, national_admin):
    """Assigning under a mangled parent assignment, or choosing a mangled organisation on the unit review page,
    answered with a server error page."""
    task = make_task(tree.root, unmatched_units=[{"name": "Cục X", "role": "lead"}])
    client.force_login(national_admin)
    response = client.post(
        f"/plans/tasks/{task.pk}/assign/", {"organizations": [str(tree.dept_a.pk)], "parent": "not-an-id"}
    )
    assert response.status_code == 404
    response = client.post("/plans/review/", {"name": "Cục X", "organization": "not-an-id"})
    assert response.status_code == 302 and not Assignment.objects.filter(task=task).exists()


def test_a_recurring_task_reminds_before_each_periods_report(tree):
    """A quarterly task ("Trước ngày 28 của tháng cuối Quý") has no due date, so its unit was never reminded of a
    quarter's report; a quarter already reported is not reminded, nor is one reminded twice a day."""
    officer = make_user(tree.dept_a, "security_officer", username="off-a")
    task = make_task(tree.root, deadline_kind="quarterly", recurrence_day=28, due_date=None)
    (a,) = services.assign(task, [tree.dept_a])
    services.create_occurrences(2024)
    assert services.remind(datetime.date(2024, 3, 21))["reminded"] == 1  # Q1 due 28 March
    assert services.remind(datetime.date(2024, 3, 21))["reminded"] == 0
    notice = Notification.objects.get(recipient=officer)
    assert "2024-Q1" in notice.title and notice.link == a.get_absolute_url()
    services.report_progress(a, period="2024-Q2", status="in_progress", progress=40)
    assert services.remind(datetime.date(2024, 6, 14))["reminded"] == 0  # Q2 reported before its reminder


def test_the_daily_job_makes_the_periods_reports_so_recurring_units_are_reminded(tree, django_assert_num_queries):
    """Period reports came only from `attt plans occurrences YEAR` run by hand: without it a quarterly unit was
    never reminded. The daily job makes the missing ones (a unit assigned since, a quarter reported by hand
    early keeps its report), and in December the next year's; a second run finds nothing to do."""
    task = make_task(tree.root, deadline_kind="quarterly", recurrence_day=28, due_date=None)
    (a,) = services.assign(task, [tree.dept_a])
    services.report_progress(a, period="2024-Q1", status="in_progress", progress=10)
    assert services.ensure_occurrences(datetime.date(2024, 2, 1)) == 3  # Q2–Q4; Q1 was reported by hand
    with django_assert_num_queries(2):  # the assignments and their existing reports: nothing per report
        assert services.ensure_occurrences(datetime.date(2024, 2, 2)) == 0
    (b,) = services.assign(task, [tree.dept_b])
    assert services.ensure_occurrences(datetime.date(2024, 3, 1)) == 4
    assert services.remind(datetime.date(2024, 3, 21))["reminded"] == 1  # b's Q1 report, due 28 March
    assert services.ensure_occurrences(datetime.date(2024, 12, 1)) == 8  # 2025 for both units
    assert set(b.reports.values_list("period", flat=True)) >= {"2024-Q1", "2025-Q4"}


def test_the_periods_reports_are_made_every_day():
    assert Schedule.objects.filter(name="plans.occurrences", func="attt.plans.services.ensure_occurrences").exists()
