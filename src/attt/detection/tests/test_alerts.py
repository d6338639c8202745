"""Severity mapping, aggregation windows, routing to the source's organisation, notifications, the alert
lifecycle (acknowledge, close, escalate) and the detector wired to a fake engine."""

import datetime
import uuid
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from attt.core import scoping
from attt.core.models import AuditEvent, Notification
from attt.core.testing import make_user
from attt.detection import detector, services
from attt.detection.models import Alert, Severity
from attt.detection.tests.factories import Event, make_alert, make_rule
from attt.registry.tests.factories import make_system

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 20, 8, 0, tzinfo=datetime.UTC)


def hit(org, *, at=T0, source=None, signature="rule-a", severity="medium", event="e1", **extra) -> services.Hit:
    return services.Hit(
        event_id=event,
        source_id=source or uuid.UUID(int=1),
        organization_id=org.pk,
        timestamp=at,
        kind=extra.pop("kind", Alert.Kind.SIGMA),
        signature=signature,
        title=extra.pop("title", f"Rule {signature}"),
        severity=severity,
        rule_id=signature,
        **extra,
    )


# --- Severity ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "level, expected",
    [
        ("informational", "informational"),
        ("low", "low"),
        ("medium", "medium"),
        ("HIGH", "high"),
        ("critical", "critical"),
        ("", "medium"),
        (None, "medium"),
        ("severe", "medium"),
    ],
)
def test_sigma_level_maps_to_severity(level, expected):
    assert services.severity_for_level(level) == expected


# --- Aggregation ------------------------------------------------------------------------------------------


def test_hits_of_one_rule_on_one_source_in_one_window_make_one_alert(tree):
    services.record_hits(
        [hit(tree.dept_a, event="e1"), hit(tree.dept_a, at=T0 + datetime.timedelta(minutes=9), event="e2")]
    )
    alert = Alert.objects.get()
    assert alert.count == 2
    assert (alert.first_seen, alert.last_seen) == (T0, T0 + datetime.timedelta(minutes=9))
    assert alert.sample_event_ids == ["e1", "e2"]
    # A later batch in the same window adds to the same alert.
    services.record_hits([hit(tree.dept_a, at=T0 + datetime.timedelta(minutes=14), event="e3")])
    alert.refresh_from_db()
    assert Alert.objects.count() == 1 and alert.count == 3


def test_an_earlier_hit_moves_first_seen_and_its_hour_bucket(tree, settings):
    # A two-hour window spans two hour buckets: the later batch carries the earlier hit.
    settings.ATTT_DETECTION_WINDOW_MINUTES = 120
    services.record_hits([hit(tree.dept_a, at=T0 + datetime.timedelta(minutes=90), event="late")])
    assert Alert.objects.get().first_hour == T0 + datetime.timedelta(hours=1)
    services.record_hits([hit(tree.dept_a, at=T0 + datetime.timedelta(minutes=10), event="early")])
    alert = Alert.objects.get()
    assert (alert.first_seen, alert.first_hour, alert.count) == (T0 + datetime.timedelta(minutes=10), T0, 2)


def test_other_window_source_or_rule_opens_another_alert(tree):
    services.record_hits(
        [
            hit(tree.dept_a),
            hit(tree.dept_a, at=T0 + datetime.timedelta(minutes=15)),  # next 15-minute window
            hit(tree.dept_a, source=uuid.UUID(int=2)),
            hit(tree.dept_a, signature="rule-b"),
        ]
    )
    assert Alert.objects.count() == 4


def test_window_length_and_sample_bound_come_from_settings(tree, settings):
    settings.ATTT_DETECTION_WINDOW_MINUTES = 60
    settings.ATTT_DETECTION_SAMPLE_EVENTS = 3
    hits = [hit(tree.dept_a, at=T0 + datetime.timedelta(minutes=i * 10), event=f"e{i}") for i in range(6)]
    services.record_hits([*hits, hit(tree.dept_a, event="e9")])
    alert = Alert.objects.get()
    assert alert.count == 7
    assert alert.sample_event_ids == ["e0", "e1", "e2"]


def test_a_redelivered_batch_is_not_counted_twice(tree, settings):
    settings.ATTT_DETECTION_SAMPLE_EVENTS = 2
    batch = [hit(tree.dept_a, at=T0 + datetime.timedelta(seconds=i), event=f"e{i}") for i in range(5)]
    services.record_hits([*batch, batch[0]])  # the same event twice in one batch counts once
    services.record_hits(batch[3:])  # monitoring hands part of it over again (at-least-once delivery)
    alert = Alert.objects.get()
    assert alert.count == 5 and alert.sample_event_ids == ["e0", "e1"]
    services.record_hits([hit(tree.dept_a, event="e5")])
    alert.refresh_from_db()
    assert alert.count == 6


def test_window_start_is_aligned():
    at = datetime.datetime(2026, 11, 20, 8, 29, 59, tzinfo=datetime.UTC)
    assert services.window_start(at, 15) == datetime.datetime(2026, 11, 20, 8, 15, tzinfo=datetime.UTC)
    assert services.window_start(at, 60) == datetime.datetime(2026, 11, 20, 8, 0, tzinfo=datetime.UTC)


# --- Routing and scoping ----------------------------------------------------------------------------------


def test_alert_belongs_to_the_source_organisation_and_national_sees_all(tree, national_admin):
    services.record_hits([hit(tree.dept_a, signature="a"), hit(tree.dept_b, signature="b", source=uuid.UUID(int=9))])
    analyst_a = make_user(tree.province_a, "soc_analyst", username="soc-a")
    analyst_b = make_user(tree.dept_b, "soc_analyst", username="soc-b")
    assert [a.signature for a in scoping.visible(analyst_a, Alert.objects.all())] == ["a"]
    assert [a.signature for a in scoping.visible(analyst_b, Alert.objects.all())] == ["b"]
    assert scoping.visible(national_admin, Alert.objects.all()).count() == 2


def test_high_alerts_notify_the_owning_branch_only(tree, national_admin):
    analyst_a = make_user(tree.province_a, "soc_analyst", username="soc-a")
    analyst_b = make_user(tree.province_b, "soc_analyst", username="soc-b")
    services.record_hits([hit(tree.dept_a, severity="high", signature="h")])
    services.record_hits([hit(tree.dept_a, severity="low", signature="l")])
    notes = list(Notification.objects.values_list("recipient__username", "title"))
    assert [n[0] for n in notes] == [analyst_a.username]
    assert "Rule h" in notes[0][1]
    assert not Notification.objects.filter(recipient__in=[analyst_b, national_admin]).exists()


def test_urgent_alerts_look_up_their_recipients_once_per_organisation(tree, monkeypatch):
    analyst_a = make_user(tree.province_a, "soc_analyst", username="soc-a")
    calls = []
    original = services.notifications.permission_holders
    monkeypatch.setattr(
        services.notifications,
        "permission_holders",
        lambda permission, org: calls.append(org.pk) or original(permission, org),
    )
    services.record_hits([hit(tree.dept_a, severity="critical", signature=f"s{i}") for i in range(3)])
    assert calls == [tree.dept_a.pk]
    assert Notification.objects.filter(recipient=analyst_a).count() == 3


# --- Lifecycle --------------------------------------------------------------------------------------------


@pytest.fixture
def analyst(tree):
    return make_user(tree.province_a, "soc_analyst", username="soc-a")


def test_acknowledge_then_close_with_reason_audited(tree, analyst):
    alert = make_alert(tree.dept_a)
    services.acknowledge(alert, by=analyst)
    assert alert.status == Alert.Status.ACKNOWLEDGED
    with pytest.raises(ValidationError):
        services.close(alert, by=analyst, reason="  ")
    services.close(alert, by=analyst, reason="Dương tính giả")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.CLOSED and alert.reason == "Dương tính giả"
    steps = list(
        AuditEvent.objects.filter(object_id=str(alert.pk), action="workflow")
        .order_by("seq")
        .values_list("changes__step", flat=True)
    )
    assert steps == ["acknowledged", "closed"]
    with pytest.raises(services.WrongState):
        services.acknowledge(alert, by=analyst)


def test_read_only_roles_and_other_branches_cannot_act(tree, analyst):
    leader = make_user(tree.province_a, "leader", username="leader-a")
    alert = make_alert(tree.dept_a)
    with pytest.raises(PermissionDenied):
        services.acknowledge(alert, by=leader)
    other = make_alert(tree.dept_b)
    with pytest.raises(PermissionDenied):
        services.close(other, by=analyst, reason="x")
    assert services.allowed_steps(leader, alert) == []
    assert services.allowed_steps(analyst, alert) == ["acknowledged", "closed", "escalated"]


@pytest.fixture
def fake_incidents(monkeypatch):
    calls = []

    def report_incident(**kwargs):
        calls.append(kwargs)
        return SimpleNamespace(pk=uuid.UUID(int=77))

    monkeypatch.setattr("attt.incidents.services.report_incident", report_incident)
    return calls


def test_escalation_opens_an_incident_in_one_step(tree, analyst, fake_incidents):
    system = make_system(tree.dept_a)
    alert = make_alert(
        tree.dept_a,
        kind=Alert.Kind.IOC,
        signature="ioc:x",
        rule_id="",
        system=system,
        indicator_kind="ipv4",
        indicator_value="203.0.113.5",
    )
    services.escalate(alert, by=analyst)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ESCALATED and alert.incident_id == uuid.UUID(int=77)
    (call,) = fake_incidents
    assert call["organization"] == tree.dept_a and call["source"] == "soc" and call["reporter"] == analyst
    assert call["systems"] == [system.pk] and call["observables"] == [("ipv4", "203.0.113.5")]
    assert AuditEvent.objects.filter(object_id=str(alert.pk), changes__step="escalated").exists()
    with pytest.raises(services.WrongState):
        services.escalate(alert, by=analyst)


def test_escalation_with_the_real_incidents_module(tree, analyst):
    from attt.incidents.models import Incident

    alert = make_alert(tree.dept_a, title="Mimikatz trên máy chủ Sở A")
    services.escalate(alert, by=analyst)
    alert.refresh_from_db()
    incident = Incident.objects.get(pk=alert.incident_id)
    assert (incident.source, incident.title, incident.organization) == ("soc", alert.title, tree.dept_a)


def test_an_alert_from_a_device_whose_clock_runs_fast_is_escalated_as_of_now(tree, analyst):
    """A sensor's clock an hour ahead put the alert's first sighting in the future; incidents refuse a discovery
    time ahead of the server's clock, so the escalation failed. The incident is opened as discovered now."""
    from attt.incidents.models import Incident

    alert = make_alert(tree.dept_a, title="Quét cổng từ máy có đồng hồ chạy nhanh")
    type(alert).objects.filter(pk=alert.pk).update(first_seen=timezone.now() + datetime.timedelta(hours=1))
    alert.refresh_from_db()
    services.escalate(alert, by=analyst)
    alert.refresh_from_db()
    assert Incident.objects.get(pk=alert.incident_id).discovered_at <= timezone.now()


# --- Detector with a fake engine --------------------------------------------------------------------------


class FakeRuleSet:
    def __init__(self, items):
        self.items = list(items)
        self.unsupported = []
        self.rules = [
            SimpleNamespace(
                id="r-mimikatz", title="Mimikatz", level="critical", tags=["attack.t1003"], author="Florian Roth"
            )
        ]

    @classmethod
    def from_texts(cls, items, cache_dir=None):
        return cls(items)

    def match(self, fields):
        return [r for r in self.rules if "mimikatz" in str(fields.get("CommandLine", "")).lower()]


class FakeIndex:
    def __init__(self, items):
        self.items = {(k, v): ref for k, v, ref in items}

    @classmethod
    def build(cls, items):
        return cls(items)

    def match(self, candidates):
        return [self.items[c] for c in candidates if c in self.items]

    def match_each(self, candidate_lists):
        return [(n, refs) for n, candidates in enumerate(candidate_lists) if (refs := self.match(candidates))]


@pytest.fixture
def fake_engine(monkeypatch):
    engine = SimpleNamespace(RuleSet=FakeRuleSet, IndicatorIndex=FakeIndex)
    monkeypatch.setattr(services, "engine", engine)
    monkeypatch.setattr(detector, "engine", engine)
    indicator = uuid.UUID(int=5)
    monkeypatch.setattr("attt.intel.services.active_indicators", lambda: iter([("ipv4", "203.0.113.9", indicator)]))
    detector.forget()
    yield indicator
    detector.forget()


def test_consume_turns_sigma_and_indicator_hits_into_alerts(tree, fake_engine):
    make_rule(rule_id="r-mimikatz", author="Florian Roth")
    source = uuid.uuid4()
    events = [
        Event("ev1", source, tree.dept_a.pk, T0, fields={"CommandLine": "mimikatz.exe sekurlsa::logonpasswords"}),
        Event("ev2", source, tree.dept_a.pk, T0, observables=[("ipv4", "203.0.113.9"), ("domain", "ok.example")]),
        Event("ev3", source, tree.dept_a.pk, T0, fields={"CommandLine": "notepad.exe"}),
    ]
    detector.consume(events)
    sigma = Alert.objects.get(kind=Alert.Kind.SIGMA)
    assert (sigma.severity, sigma.rule_author, sigma.techniques) == ("critical", "Florian Roth", ["T1003"])
    assert "Florian Roth" in sigma.attribution and "1.1" in sigma.attribution
    ioc = Alert.objects.get(kind=Alert.Kind.IOC)
    assert (ioc.indicator_id, ioc.severity, ioc.organization) == (fake_engine, "high", tree.dept_a)


def test_detector_rebuilds_when_the_stamp_moves(tree, fake_engine, national_admin):
    rule = make_rule(rule_id="r1")
    first = detector.get_detector()
    assert detector.get_detector() is first
    assert [i[0] for i in first.ruleset.items] == [rule.path or "r1"]
    services.set_rules_enabled(type(rule).objects.filter(pk=rule.pk), False, by=national_admin)
    second = detector.get_detector()
    assert second is not first and second.ruleset.items == []


def test_severity_choices_cover_sigma_levels():
    assert [s.value for s in Severity] == ["informational", "low", "medium", "high", "critical"]


def test_an_indicator_import_moves_the_detector_stamp(tree, django_capture_on_commit_callbacks):
    from attt.intel import services as intel
    from attt.intel.sharing import SharedObservable, SharedReport

    before = services.current_stamp()
    now = timezone.now()
    report = SharedReport(uuid.uuid4(), "list", "", now, now, observables=[SharedObservable("ipv4", "198.51.100.7")])
    with django_capture_on_commit_callbacks(execute=True):
        intel.publish(report, organization=tree.dept_a)
    assert services.current_stamp() == before + 1


@pytest.mark.parametrize(
    ("role", "filters", "index"),
    [
        ("national_admin", {}, "detection_alert_seen"),
        ("national_admin", {"severity__in": ["critical"]}, "detection_alert_sev_seen"),
        ("soc_analyst", {}, "detection_alert_seen"),
    ],
)
def test_the_alert_list_reads_an_index_in_its_order(tree, role, filters, index):
    """A page of alerts (newest first, 200,000 in scope in the review) reads an index in that order instead of
    sorting every alert in scope, on SQLite and on PostgreSQL."""
    from attt.core import scoping
    from attt.core.testing import query_plan

    user = make_user(tree.root if role == "national_admin" else tree.province_a, role, username=f"plan-{role}")
    plan = query_plan(scoping.visible(user, Alert.objects.filter(**filters))[:50])
    assert plan.uses(index) and not plan.sorts, plan.text
