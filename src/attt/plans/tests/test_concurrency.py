"""Writers on a stale copy of an assignment (the reminder job's read, an edit request's load): a progress report
made meanwhile keeps its status and progress."""

import datetime

import pytest
from django import forms

from attt.plans import services
from attt.plans.models import Assignment, Status
from attt.plans.tests.factories import make_assignment
from attt.plans.views import AssignmentEditView

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 24)


def _copy(obj):
    return type(obj).objects.get(pk=obj.pk)


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
        if _copy(a).status != Status.DONE:
            services.report_progress(_copy(a), period="2026", status=Status.DONE, progress=100)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "notify_permission_holders", report_meanwhile)
    services.remind(today=TODAY)
    stored = _copy(a)
    assert (stored.status, stored.progress) == (Status.DONE, 100)


def test_an_assignment_edit_loaded_before_a_report_keeps_the_report(tree):
    a = make_assignment(tree.province_a, due_date=datetime.date(2026, 12, 31))
    loaded = _copy(a)
    form = AssignmentEditView.form_class({"due_date": "2027-01-15", "comment": "Gia hạn"}, instance=loaded)
    assert isinstance(form, forms.ModelForm) and form.is_valid(), form.errors
    services.report_progress(_copy(a), period="2026", status=Status.IN_PROGRESS, progress=60)
    AssignmentEditView().save(form)
    stored = Assignment.objects.get(pk=a.pk)
    assert (stored.status, stored.progress, stored.due_date) == (Status.IN_PROGRESS, 60, datetime.date(2027, 1, 15))
