"""Writers on a stale copy of an assignment (the reminder job's read, an edit request's load): a progress report
made meanwhile keeps its status and progress."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from attt.core.locks import VERSION_FIELD
from attt.core.testing import (
    at_once,
    build_tree,
    crossing,
    make_user,
    postgresql_only,
    read_meanwhile,
    shown_version,
    stored_copy,
)
from attt.core.views.generic import CONFLICT_MESSAGE
from attt.plans import services
from attt.plans.models import Assignment, Plan, Status
from attt.plans.tests.factories import make_assignment, make_plan
from attt.plans.views import AssignmentEditView

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 24)


def test_the_reminder_job_keeps_a_report_made_while_it_ran(tree, monkeypatch):
    """The job reads the overdue assignment, notifies, then writes; the unit reports it done in between."""
    a = make_assignment(
        tree.province_a,
        status=Status.OVERDUE,
        due_date=TODAY - datetime.timedelta(days=3),
        reminded_on=TODAY.replace(day=1),
    )
    real = services.notify_permission_holders

    def report_meanwhile(*args, **kwargs):
        if stored_copy(a).status != Status.DONE:
            services.report_progress(stored_copy(a), period="2026", status=Status.DONE, progress=100)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "notify_permission_holders", report_meanwhile)
    services.remind(today=TODAY)
    stored = stored_copy(a)
    assert (stored.status, stored.progress) == (Status.DONE, 100)


def test_an_assignment_edit_loaded_before_a_report_keeps_the_report(tree, client, monkeypatch):
    """The unit reports progress after the edit request read the assignment (a client that sends no version):
    the edit's due date goes onto the assignment as stored, with the report's status and progress."""
    a = make_assignment(tree.province_a, due_date=datetime.date(2026, 12, 31))
    client.force_login(make_user(tree.province_a, "security_officer", username="officer-assignment"))
    read_meanwhile(
        monkeypatch,
        lambda: services.report_progress(stored_copy(a), period="2026", status=Status.IN_PROGRESS, progress=60),
        AssignmentEditView,
    )
    response = client.post(f"/plans/assignments/{a.pk}/edit/", {"due_date": "2027-01-15", "comment": "Gia hạn"})
    assert response.status_code == 302, response.context and response.context["form"].errors
    stored = Assignment.objects.get(pk=a.pk)
    assert (stored.status, stored.progress, stored.due_date) == (Status.IN_PROGRESS, 60, datetime.date(2027, 1, 15))


def test_an_edit_page_opened_before_someone_else_saved_is_refused_then_saved_on_purpose(client, tree):
    """Every edit page sends back the version of the record it showed: a change made on a page opened before
    someone else saved the record is refused with a sentence (nothing written), and the page it returns carries
    the new version, so saving again writes the person's values on purpose. A page shown again for a mistake in
    the form keeps the version first shown: the person has still not seen the other change."""
    plan = make_plan(tree.province_a)
    client.force_login(make_user(tree.province_a, "security_officer", username="officer-version"))
    url = f"/plans/plans/{plan.pk}/edit/"
    shown = shown_version(client.get(url))
    other = stored_copy(plan)
    other.title = "Tên do người khác sửa"
    other.save()
    mine = {"organization": str(tree.province_a.pk), "code": plan.code, "title": "", "kind": plan.kind}
    mine[VERSION_FIELD] = shown
    mistake = client.post(url, mine)
    assert mistake.status_code == 200 and "title" in mistake.context["form"].errors
    assert shown_version(mistake) == shown
    mine["title"] = "Tên của tôi"
    refused = client.post(url, mine)
    assert refused.status_code == 200, refused
    assert refused.context["form"].errors == {"__all__": [str(CONFLICT_MESSAGE)]}
    assert Plan.objects.get(pk=plan.pk).title == "Tên do người khác sửa"
    mine[VERSION_FIELD] = shown_version(refused)
    assert mine[VERSION_FIELD] != shown
    assert client.post(url, mine).status_code == 302 and Plan.objects.get(pk=plan.pk).title == "Tên của tôi"


def test_an_edit_page_opened_before_a_reminder_still_saves(tree, client):
    """Sending a reminder is the job's bookkeeping, not a change the person must see first: the assignment's
    version stays, and the edit page opened before the job saves."""
    a = make_assignment(tree.province_a, due_date=TODAY + datetime.timedelta(days=7))
    client.force_login(make_user(tree.province_a, "security_officer", username="officer-reminded"))
    url = f"/plans/assignments/{a.pk}/edit/"
    shown = shown_version(client.get(url))
    assert services.remind(today=TODAY)["reminded"] == 1 and stored_copy(a).reminded_on == TODAY
    response = client.post(url, {"due_date": "2026-12-15", "comment": "Gia hạn", VERSION_FIELD: shown})
    assert response.status_code == 302, response.context and response.context["form"].errors
    assert stored_copy(a).due_date == datetime.date(2026, 12, 15)


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_indicator_value_form_and_an_api_correction_take_turns(monkeypatch):
    """`update_or_create` locks the value's row before its audited save; an API PATCH takes the audit chain, then
    that row. The form's service must take the chain first too, or the two wait on each other."""
    from attt.core.locks import lock_current
    from attt.plans.models import IndicatorValue
    from attt.plans.tests.factories import make_indicator_value

    value = make_indicator_value(build_tree().dept_a)
    outcomes = crossing(
        monkeypatch,
        lambda: services.record_indicator_value(value.indicator, period=value.period, value="70%"),
        lambda: lock_current(IndicatorValue.objects.get(pk=value.pk)),
    )
    assert outcomes == [None, None], outcomes
    assert IndicatorValue.objects.get(pk=value.pk).value == "70%"


def test_a_link_checked_on_a_stale_parent_cannot_close_a_cycle(tree):
    """B was put under A after a page loaded B: linking A under that copy of B is refused, as it would be
    under B as stored (the walk reads each parent's link as stored, not from the objects it was given)."""
    a, b = make_plan(tree.province_a), make_plan(tree.province_a)
    page_copy_of_b = stored_copy(b)
    services.set_parent(b, a)
    with pytest.raises(ValidationError):
        services.set_parent(stored_copy(a), page_copy_of_b)
    assert stored_copy(a).parent_id is None


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_links_made_at_once_cannot_close_a_cycle(monkeypatch):
    """A under B and B under A, each checked before the other wrote: one goes through, the other is refused."""
    org = build_tree().province_a
    a, b = make_plan(org), make_plan(org)
    outcomes = at_once(
        monkeypatch,
        services,
        "check_parent",
        lambda: services.set_parent(stored_copy(a), stored_copy(b)),
        lambda: services.set_parent(stored_copy(b), stored_copy(a)),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Plan", "ValidationError"], outcomes
    assert [stored_copy(a).parent_id, stored_copy(b).parent_id].count(None) == 1
