"""Writers on a stale copy of an assignment (the reminder job's read, an edit request's load): a progress report
made meanwhile keeps its status and progress."""

import datetime

import pytest
from django import forms

from attt.core.locks import VERSION_FIELD
from attt.core.testing import make_user
from attt.core.views.generic import CONFLICT_MESSAGE
from attt.plans import services
from attt.plans.models import Assignment, Plan, Status
from attt.plans.tests.factories import make_assignment, make_plan
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


def test_an_edit_page_opened_before_someone_else_saved_is_refused_then_saved_on_purpose(client, tree):
    """Every edit page sends back the version of the record it showed: a change made on a page opened before
    someone else saved the record is refused with a sentence (nothing written), and the page it returns carries
    the new version, so saving again writes the person's values on purpose."""
    plan = make_plan(tree.province_a)
    client.force_login(make_user(tree.province_a, "security_officer", username="officer-version"))
    url = f"/plans/plans/{plan.pk}/edit/"
    shown = client.get(url).context["version"]
    assert f'name="{VERSION_FIELD}" value="{shown}"' in client.get(url).content.decode()
    other = _copy(plan)
    other.title = "Tên do người khác sửa"
    other.save()
    mine = {"organization": str(tree.province_a.pk), "code": plan.code, "title": "Tên của tôi", "kind": plan.kind}
    mine[VERSION_FIELD] = shown
    refused = client.post(url, mine)
    assert refused.status_code == 200, refused
    assert refused.context["form"].errors == {"__all__": [str(CONFLICT_MESSAGE)]}
    assert Plan.objects.get(pk=plan.pk).title == "Tên do người khác sửa"
    mine[VERSION_FIELD] = refused.context["version"]
    assert mine[VERSION_FIELD] != shown
    assert client.post(url, mine).status_code == 302 and Plan.objects.get(pk=plan.pk).title == "Tên của tôi"
