"""Alert steps on a stale copy (what a page loaded before another analyst acted, or the detector added events):
a step works on the stored status, so one the alert has left is refused, an escalation opens one incident only,
and the events the detector added meanwhile are not undone by a step (the detector itself locks the alerts it
adds to and writes only its own fields). The last test runs two
escalations really at once (PostgreSQL only)."""

import datetime

import pytest

from attt.core import scoping
from attt.core.testing import at_once, build_tree, make_user, postgresql_only, stored_copy
from attt.detection import services
from attt.detection.models import Alert
from attt.detection.tests.factories import make_alert


@pytest.fixture
def analyst(tree):
    return make_user(tree.province_a, "soc_analyst", username="soc-a")


def _incidents():
    from attt.incidents.models import Incident

    return Incident.objects.filter(source="soc")


def _hit_on(alert: Alert, event: str) -> services.Hit:
    """A hit the detector adds to `alert` (same signature, source and window)."""
    return services.Hit(
        event_id=event,
        source_id=alert.source_id,
        organization_id=alert.organization_id,
        timestamp=alert.window_start + datetime.timedelta(seconds=30),
        kind=alert.kind,
        signature=alert.signature,
        title=alert.title,
        severity=alert.severity,
        rule_id=alert.rule_id,
    )


def _in_window(tree) -> Alert:
    moment = services.window_start(datetime.datetime.now(datetime.UTC))
    return make_alert(tree.dept_a, at=moment, sample_event_ids=["e0"], recent_event_ids=["e0"])


@pytest.mark.django_db
def test_a_stale_escalation_is_refused_and_opens_no_second_incident(tree, analyst):
    alert = make_alert(tree.dept_a)
    stale = stored_copy(alert)
    services.escalate(alert, by=analyst)
    with pytest.raises(services.WrongState) as refused:
        services.escalate(stale, by=analyst)
    with pytest.raises(services.WrongState) as wrong_step:  # the same refusal as on the current object
        services.escalate(alert, by=analyst)
    assert refused.value.message_dict == wrong_step.value.message_dict
    assert _incidents().count() == 1
    assert stale.status == Alert.Status.ESCALATED and stale.incident_id == alert.incident_id


@pytest.mark.django_db
def test_a_stale_close_after_an_escalation_is_refused(tree, analyst):
    alert = make_alert(tree.dept_a)
    stale = stored_copy(alert)
    services.escalate(alert, by=analyst)
    with pytest.raises(services.WrongState):
        services.close(stale, by=analyst, reason="Dương tính giả")
    with pytest.raises(services.WrongState):
        services.acknowledge(stale, by=analyst)
    stored = stored_copy(alert)
    assert (stored.status, stored.reason, stored.incident_id) == (Alert.Status.ESCALATED, "", alert.incident_id)


@pytest.mark.django_db
def test_a_step_on_a_stale_copy_keeps_the_detectors_events(tree, analyst):
    alert = _in_window(tree)
    stale = stored_copy(alert)  # the page the analyst acts from
    services.record_hits([_hit_on(alert, "e1"), _hit_on(alert, "e2")], notify=False)
    services.acknowledge(stale, by=analyst)
    stored = stored_copy(alert)
    assert stored.status == Alert.Status.ACKNOWLEDGED
    assert stored.count == 3
    assert stored.sample_event_ids == stored.recent_event_ids == ["e0", "e1", "e2"]


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_escalations_at_once_open_one_incident(monkeypatch):
    """Two analysts press "escalate" at the same moment, each on the alert their page loaded: without the row
    lock both pass the status check (where they are held) and each opens an incident."""
    tree = build_tree()
    analyst = make_user(tree.province_a, "soc_analyst", username="soc-a")
    alert = make_alert(tree.dept_a)
    first, second = stored_copy(alert), stored_copy(alert)
    outcomes = at_once(
        monkeypatch,
        scoping,
        "can",
        lambda: services.escalate(first, by=analyst),
        lambda: services.escalate(second, by=analyst),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Alert", "WrongState"], outcomes
    assert _incidents().count() == 1
    assert stored_copy(alert).incident_id == _incidents().get().pk


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rule_reload_and_disabling_a_rule_take_turns(monkeypatch, tmp_path):
    """A reload writes the edited rules (their rows), then records it (the audit chain); disabling takes the
    chain, then the rules' rows. The reload takes the chain first too."""
    from attt.core.testing import crossing
    from attt.detection.models import SigmaRule
    from attt.detection.tests.test_rules import RULE, write

    tree = build_tree()
    admin = make_user(tree.root, "national_admin", username="national-rules")
    write(tmp_path, "r/whoami.yml", RULE)
    services.load_rules([tmp_path])
    rule = SigmaRule.objects.get()
    write(tmp_path, "r/whoami.yml", RULE.replace("level: high", "level: critical"))
    outcomes = crossing(
        monkeypatch,
        lambda: services.load_rules([tmp_path]),
        lambda: services.set_rules_enabled(SigmaRule.objects.filter(pk=rule.pk), False, by=admin),
    )
    assert outcomes == [None, None], outcomes
    assert SigmaRule.objects.get(pk=rule.pk).enabled is False
