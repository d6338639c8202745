"""Workflow steps on a stale copy of an incident or task (what a view loaded before another user acted, or two users
at once): a step works on the stored state, so one the incident has left is refused and no field another step
changed is lost. The last test runs two steps really at once (PostgreSQL only)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from attt.core import scoping
from attt.core.testing import at_once, build_tree, crossing, make_user, postgresql_only, stored_copy
from attt.incidents import services
from attt.incidents.models import Incident, IncidentTask, State
from attt.incidents.tests.factories import make_incident, make_member


@pytest.fixture
def coordinator(tree):
    make_member(tree.province_b, name="Đội ứng cứu tỉnh B")  # so tasks may go to province B
    return make_user(tree.root, "incident_responder", username="coordinator")


def _classified(tree, coordinator) -> Incident:
    incident = make_incident(tree.dept_a)
    services.classify(incident, by=coordinator, category="fraud/phishing", tlp="green")
    return incident


@pytest.mark.django_db
def test_stale_reject_after_classification_is_refused(tree, coordinator):
    incident = make_incident(tree.dept_a)
    stale, also_stale = stored_copy(incident), stored_copy(incident)
    services.classify(incident, by=coordinator, category="fraud/phishing", tlp="green")
    with pytest.raises(ValidationError) as refused:
        services.take_step(stale, "reject", by=coordinator)
    with pytest.raises(ValidationError) as wrong_step:  # the same refusal as on the current object
        services.take_step(incident, "reject", by=coordinator)
    assert refused.value.messages == wrong_step.value.messages
    with pytest.raises(ValidationError):
        services.mark_duplicate(also_stale, make_incident(tree.dept_a), by=coordinator)
    stored = stored_copy(incident)
    assert (stored.state, stored.category, stored.tlp) == (State.CLASSIFIED, "fraud/phishing", "green")
    assert stored.duplicate_of is None
    assert stale.state == State.CLASSIFIED  # the caller's object shows what is stored


@pytest.mark.django_db
def test_stale_classification_after_response_is_refused(tree, coordinator):
    incident = _classified(tree, coordinator)
    stale = stored_copy(incident)
    services.take_step(incident, "respond", by=coordinator)
    with pytest.raises(ValidationError):
        services.classify(stale, by=coordinator, category="other/other", tlp="red")
    stored = stored_copy(incident)
    assert stored.state == State.RESPONDED and stored.responded_at is not None
    assert (stored.category, stored.tlp) == ("fraud/phishing", "green")


@pytest.mark.django_db
def test_step_on_a_stale_copy_keeps_what_others_changed(tree, coordinator, fake_intel):
    incident = _classified(tree, coordinator)
    stale = stored_copy(incident)
    services.classify(incident, by=coordinator, category="availability/ddos", tlp="amber", note="re-classified")
    services.set_techniques(incident, ["T1566"], by=coordinator)
    services.take_step(stale, "respond", by=coordinator)
    stored = stored_copy(incident)
    assert stored.state == State.RESPONDED
    assert (stored.category, stored.tlp, stored.techniques) == ("availability/ddos", "amber", ["T1566"])


@pytest.mark.django_db
def test_task_on_a_stale_copy_does_not_move_the_incident_back(tree, coordinator):
    incident = _classified(tree, coordinator)
    stale = stored_copy(incident)
    services.take_step(incident, "respond", by=coordinator)
    services.add_task(stale, by=coordinator, assignee=tree.province_b, title="Rà soát", due_date=timezone.localdate())
    assert stored_copy(incident).state == State.RESPONDED
    services.take_step(incident, "closure_report", by=coordinator)
    with pytest.raises(ValidationError):
        services.add_task(stale, by=coordinator, assignee=tree.province_b, title="Muộn", due_date=timezone.localdate())
    assert stored_copy(incident).state == State.CLOSURE_REPORTED


@pytest.mark.django_db
def test_stale_task_step_is_refused_and_evidence_kept(tree, coordinator):
    incident = _classified(tree, coordinator)
    task = services.add_task(
        incident, by=coordinator, assignee=tree.province_b, title="Chặn tên miền", due_date=timezone.localdate()
    )
    responder_b = make_user(tree.province_b, "incident_responder", username="resp-b")
    stale = stored_copy(task)
    services.task_step(task, "acknowledged", by=responder_b)
    services.task_step(task, "done", by=responder_b, evidence="Đã chặn trên DNS")
    with pytest.raises(ValidationError):
        services.task_step(stale, "declined", by=responder_b)
    stored = stored_copy(task)
    assert (stored.status, stored.evidence) == (IncidentTask.Status.DONE, "Đã chặn trên DNS")
    assert stored.acknowledged_at is not None and stored.completed_at is not None


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_responses_at_once_one_is_refused(monkeypatch):
    """Two coordinators press "respond" at the same moment, each on the incident their page loaded: without the
    row lock both pass the state check (where they are held) before either writes."""
    tree = build_tree()
    coordinator = make_user(tree.root, "incident_responder", username="coordinator")
    incident = _classified(tree, coordinator)
    first, second = stored_copy(incident), stored_copy(incident)
    outcomes = at_once(
        monkeypatch,
        scoping,
        "can",
        lambda: services.take_step(first, "respond", by=coordinator),
        lambda: services.take_step(second, "respond", by=coordinator),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Incident", "ValidationError"], outcomes
    assert incident.timeline.filter(action="respond").count() == 1


def test_an_api_edit_sent_while_a_step_is_taken_keeps_the_step(tree, coordinator, api, monkeypatch):
    """A classification commits after a PATCH of the title read the incident: the edit must not write back the
    state and fields the request loaded."""
    from attt.core.testing import read_meanwhile

    incident = make_incident(tree.dept_a)
    read_meanwhile(
        monkeypatch,
        lambda: services.classify(stored_copy(incident), by=coordinator, category="fraud/phishing", tlp="amber"),
    )
    api.force_authenticate(coordinator)
    response = api.patch(f"/api/v1/incidents/incidents/{incident.pk}/", {"title": "Tiêu đề mới"}, format="json")
    assert response.status_code == 200, response.content
    incident.refresh_from_db()
    assert (incident.title, incident.state, incident.category) == ("Tiêu đề mới", "classified", "fraud/phishing")


def test_a_deadline_removed_while_the_reminder_job_runs_is_passed_over(tree, monkeypatch):
    """The job reads the open deadlines, then notifies one by one; re-planning (a step, a re-classification) may
    remove one meanwhile. It must be passed over, not fail the job with "did not affect any rows"."""
    from attt.incidents.models import Deadline

    incidents = [make_incident(tree.dept_a, occurred_at=timezone.now() - datetime.timedelta(hours=60)) for _ in "ab"]
    real = services.notify_permission_holders

    def notify_and_replan(*args, title, **kwargs):
        # as a concurrent re-planning would: the other incident's deadline goes
        Deadline.objects.filter(incident__in=[i for i in incidents if i.number not in title]).delete()
        return real(*args, title=title, **kwargs)

    monkeypatch.setattr(services, "notify_permission_holders", notify_and_replan)
    assert services.remind_deadlines() == {"reminded": 1, "escalated": 0}
    assert Deadline.objects.filter(reminded_at__isnull=False).count() == 1


def test_a_deadline_moved_while_the_escalation_runs_is_not_escalated(tree, monkeypatch):
    """Re-planning may move a missed deadline into the future after the job read it: no escalation for it."""
    from attt.incidents.models import Deadline

    incidents = [make_incident(tree.dept_a, occurred_at=timezone.now() - datetime.timedelta(hours=100)) for _ in "ab"]
    later = timezone.now() + datetime.timedelta(days=3)
    real = services.notify_permission_holders

    def notify_and_replan(*args, title, **kwargs):
        # as a concurrent re-planning would: the other incident's deadlines move into the future
        Deadline.objects.filter(incident__in=[i for i in incidents if i.number not in title]).update(due_at=later)
        return real(*args, title=title, **kwargs)

    monkeypatch.setattr(services, "notify_permission_holders", notify_and_replan)
    result = services.remind_deadlines()
    assert Deadline.objects.filter(escalated_at__isnull=False).exclude(due_at=later).count() == result["escalated"]
    assert not Deadline.objects.filter(due_at=later, escalated_at__isnull=False).exists()


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_report_recorded_as_sent_and_the_deadline_job_take_turns(monkeypatch):
    """ "Recorded as sent" meets the deadlines (their rows) and logs it (the audit chain); the reminder job locks a
    deadline after the chain. The page must take the chain first too, or the two wait on each other."""
    from attt.incidents.models import Deadline
    from attt.regulation import services as regulation

    tree = build_tree()
    coordinator = make_user(tree.dept_a, "incident_responder", username="coordinator-sent")
    incident = make_incident(tree.dept_a)
    deadline = incident.deadlines.filter(met_at__isnull=True).first()
    form = next(d.form for d in regulation.incident_policy(incident.regime).deadlines if d.code == deadline.code)
    outcomes = crossing(
        monkeypatch,
        lambda: services.mark_report_sent(stored_copy(incident), form, by=coordinator),
        lambda: services._still_open(Deadline.objects.get(pk=deadline.pk), "reminded_at"),
    )
    assert outcomes == [None, None], outcomes
    assert Deadline.objects.get(pk=deadline.pk).met_at is not None


@pytest.mark.django_db
def test_a_classification_from_a_page_opened_before_another_is_refused(client, tree, coordinator):
    """Two coordinators opened a new report; one classified it TLP:RED, then the other, still on the page showing
    it unclassified, classified it TLP:GREEN: accepted, so the incident's TLP went down to GREEN (shareable, shown
    to assignees) without that coordinator ever seeing the first one's decision."""
    from attt.core.locks import VERSION_FIELD
    from attt.core.testing import shown_version

    incident = make_incident(tree.dept_a)
    client.force_login(make_user(tree.root, "incident_responder", username="coordinator-2"))
    shown = shown_version(client.get(incident.get_absolute_url()))
    services.classify(incident, by=coordinator, category="intrusions/system-compromise", tlp="red")
    url = reverse("incidents:incident_classify", args=[incident.pk])
    mine = {"category": "fraud/phishing", "tlp": "green", VERSION_FIELD: shown}
    refused = client.post(url, mine, follow=True)
    incident.refresh_from_db()
    assert (incident.tlp, incident.category) == ("red", "intrusions/system-compromise")
    assert [m.level_tag for m in refused.context["messages"]] == ["error"]
    again = client.post(url, {**mine, VERSION_FIELD: shown_version(refused)})  # seen it: may now decide
    incident.refresh_from_db()
    assert again.status_code == 302 and (incident.tlp, incident.category) == ("green", "fraud/phishing")
