"""Intake, classification, the lifecycle with its deadlines, coordination and what an assignee sees, sightings and
duplicates, sharing through intel, STIX import, reminders/escalation/breaches, forms, the network."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from attt.core.models import Notification
from attt.core.testing import make_user
from attt.incidents import documents, services
from attt.incidents.models import Incident, IncidentTask, NetworkMember, Observable, State
from attt.incidents.tests.factories import make_incident, make_member
from attt.registry.tests.factories import make_system

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(tree):
    make_member(tree.province_b, name="Đội ứng cứu tỉnh B")  # so tasks may go to province B
    return make_user(tree.root, "incident_responder", username="coordinator")


@pytest.fixture
def province_responder(tree):
    return make_user(tree.province_a, "incident_responder", username="responder-a")


def test_report_incident_contract(tree, coordinator):
    system = make_system(tree.dept_a, decided_level=4)
    incident = services.report_incident(
        organization=tree.dept_a,
        title="Cảnh báo từ SOC",
        description="Kết nối tới máy chủ C2",
        source="soc",
        systems=[system.pk],
        observables=[("ipv4", " 203.0.113.9 "), ("domain", "C2.Example.VN"), ("ipv4", "203.0.113.9")],
        occurred_at=timezone.now() - datetime.timedelta(hours=1),
        category="malicious-code/c2-server",
    )
    assert incident.state == State.RECEIVED and incident.source == "soc"
    assert incident.regime == "ND331_2026"
    assert sorted(incident.observables.values_list("value", flat=True)) == ["203.0.113.9", "c2.example.vn"]
    assert list(incident.systems.all()) == [system]
    assert {d.code for d in incident.deadlines.all()} == {"report_72h"}
    assert incident.timeline.get().action == "received"
    with pytest.raises(ValidationError):
        services.report_incident(organization=tree.dept_a, title="x", description="", source="carrier-pigeon")
    with pytest.raises(ValidationError):
        services.report_incident(
            organization=tree.dept_a, title="x", description="", source="soc", observables=[("ipv4", "not-an-ip")]
        )
    assert Incident.objects.count() == 1


def test_old_regime_incident_gets_old_deadlines(tree):
    incident = make_incident(tree.dept_a, occurred_at=timezone.make_aware(datetime.datetime(2026, 3, 2, 9)))
    assert incident.regime == "ND85_2016"
    assert {d.code for d in incident.deadlines.all()} == {"notification"}


def test_classification_computes_serious_and_adds_deadlines(tree, coordinator):
    system = make_system(tree.dept_a, decided_level=4)
    incident = make_incident(tree.dept_a, systems=[system.pk])
    services.classify(
        incident,
        by=coordinator,
        category="availability/ddos",
        tlp="amber",
        impacts=["service_interruption"],
        beyond_capacity=True,
    )
    assert incident.severity == incident.severity_computed == "serious"
    assert {d.code for d in incident.deadlines.all()} == {"report_72h", "initial_notice"}
    # The coordinator may overrule the computation; the deadlines follow.
    incident.state = State.RECEIVED
    services.classify(
        incident,
        by=coordinator,
        category="availability/ddos",
        tlp="amber",
        impacts=["service_interruption"],
        beyond_capacity=True,
        severity="ordinary",
    )
    assert incident.severity == "ordinary" and incident.severity_computed == "serious"
    assert {d.code for d in incident.deadlines.all()} == {"report_72h"}


def test_national_security_signs_need_an_immediate_report(tree, coordinator):
    incident = make_incident(tree.dept_a)
    services.classify(
        incident, by=coordinator, category="intrusions/system-compromise", tlp="red", national_security=True
    )
    immediate = incident.deadlines.get(code="immediate_report")
    assert immediate.due_at - incident.discovered_at == datetime.timedelta(hours=2)


def test_only_coordinators_classify(tree):
    officer = make_user(tree.dept_a, "system_owner", username="owner")
    incident = make_incident(tree.dept_a)
    assert services.allowed_steps(officer, incident) == []
    with pytest.raises(PermissionDenied):
        services.classify(incident, by=officer, category="other/other", tlp="amber")


def test_lifecycle_to_closure(tree, coordinator, fake_intel):
    incident = make_incident(tree.dept_a, occurred_at=timezone.make_aware(datetime.datetime(2026, 3, 2, 9)))
    # the closure report is owed when the incident may exceed the operator (TT 20 Art 9.2.b)
    services.classify(incident, by=coordinator, category="fraud/phishing", tlp="green", beyond_capacity=True)
    member_org = tree.province_b
    task = services.add_task(
        incident, by=coordinator, assignee=member_org, title="Chặn tên miền", due_date=timezone.localdate()
    )
    assert incident.state == State.COORDINATING
    responder_b = make_user(member_org, "incident_responder", username="resp-b")
    services.task_step(task, "acknowledged", by=responder_b)
    with pytest.raises(ValidationError):
        services.task_step(task, "done", by=responder_b)  # evidence is required
    services.task_step(task, "done", by=responder_b, evidence="Đã chặn trên DNS")
    services.take_step(incident, "respond", by=coordinator)
    assert incident.deadlines.filter(code="closure_report").exists()
    services.take_step(incident, "closure_report", by=coordinator)
    assert incident.deadlines.get(code="closure_report").met_at is not None
    with pytest.raises(ValidationError):
        services.take_step(incident, "respond", by=coordinator)
    services.take_step(incident, "close", by=coordinator)
    assert incident.state == State.CLOSED and incident.closed_at
    actions = list(incident.timeline.values_list("action", flat=True))
    assert actions == [
        "received",
        "classified",
        "task_added",
        "task_acknowledged",
        "task_done",
        "respond",
        "closure_report",
        "close",
    ]


def test_assignee_sees_its_task_and_the_shareable_part_only(tree, coordinator):
    incident = make_incident(tree.dept_a, observables=[("ipv4", "198.51.100.1"), ("domain", "noi-bo.example.vn")])
    Observable.objects.filter(value="noi-bo.example.vn").update(shareable=False)
    services.classify(incident, by=coordinator, category="other/other", tlp="amber")
    task = services.add_task(
        incident, by=coordinator, assignee=tree.province_b, title="Hỗ trợ", due_date=timezone.localdate()
    )
    from attt.core import scoping

    member = make_user(tree.province_b, "incident_responder", username="member-b")
    assert list(scoping.visible(member, IncidentTask.objects.all())) == [task]
    assert not scoping.visible(member, Incident.objects.all()).exists()  # not the incident itself
    view = services.recipient_view(task)
    assert view["incident"] == incident and [o.value for o in view["observables"]] == ["198.51.100.1"]
    incident.tlp = "red"
    incident.save()
    assert services.recipient_view(task) == {"incident": None, "observables": []}


def test_sightings_and_duplicate_hints(tree, coordinator):
    system = make_system(tree.dept_a)
    first = make_incident(tree.dept_a, systems=[system.pk], observables=[("ipv4", "192.0.2.10")])
    second = make_incident(tree.dept_a, observables=[("ipv4", "192.0.2.10")])
    far = make_incident(
        tree.dept_a, observables=[("ipv4", "192.0.2.10")], occurred_at=timezone.now() - datetime.timedelta(days=30)
    )
    other_org = make_incident(tree.dept_b, observables=[("ipv4", "192.0.2.10")])
    seen = services.sightings(coordinator, list(first.observables.all()))
    assert seen[("ipv4", "192.0.2.10")] == 3
    hints = list(services.duplicate_hints(coordinator, first))
    assert second in hints and other_org in hints and far not in hints
    province_user = make_user(tree.province_a, "incident_responder", username="pa")
    assert other_org not in services.duplicate_hints(province_user, first)  # never beyond the user's scope


def test_shared_report_respects_tlp_and_shareable(tree, coordinator, fake_intel):
    incident = make_incident(tree.dept_a, observables=[("ipv4", "198.51.100.5"), ("email", "a@example.vn")])
    Observable.objects.filter(kind="email").update(shareable=False)
    services.classify(incident, by=coordinator, category="fraud/phishing", tlp="green")
    bundle = services.export(incident, "stix")
    report = fake_intel["stix"]
    assert bundle["type"] == "bundle" and report.tlp == "green"
    assert [(o.kind, o.value) for o in report.observables] == [("ipv4", "198.51.100.5")]
    assert report.id == services.shared_report(incident).id  # stable
    services.export(incident, "misp")
    assert fake_intel["misp"].labels == ["fraud/phishing"]
    assert services.share(incident, by=coordinator) == 1
    incident.tlp = "red"
    with pytest.raises(ValidationError):
        services.share(incident, by=coordinator)


def test_import_stix_is_all_or_nothing(tree, coordinator, monkeypatch):
    from attt.intel import services as intel
    from attt.intel.sharing import SharedObservable, SharedReport

    now = timezone.now()
    good = SharedReport(
        id=__import__("uuid").uuid4(),
        title="Chiến dịch lừa đảo",
        description="",
        created=now,
        modified=now,
        tlp="green",
        observables=[SharedObservable("domain", "lua-dao.example")],
    )
    bad = SharedReport(
        id=__import__("uuid").uuid4(),
        title="Hỏng",
        description="",
        created=now,
        modified=now,
        observables=[SharedObservable("ipv4", "999.1.1.1")],
    )
    monkeypatch.setattr(intel, "parse_stix_bundle", lambda data: [good, bad])
    with pytest.raises(ValidationError):
        services.import_stix({"type": "bundle"}, organization=tree.root, by=coordinator)
    assert not Incident.objects.exists()
    monkeypatch.setattr(intel, "parse_stix_bundle", lambda data: [good])
    [incident] = services.import_stix({"type": "bundle"}, organization=tree.root, by=coordinator)
    incident.refresh_from_db()
    assert incident.source == "stix" and incident.tlp == "green"

    def refuse(data):
        raise ValueError("Not a STIX 2.1 bundle.")

    monkeypatch.setattr(intel, "parse_stix_bundle", refuse)
    with pytest.raises(ValidationError, match="Not a STIX"):
        services.import_stix({}, organization=tree.root, by=coordinator)


def test_reminders_escalation_and_breaches(tree, coordinator, province_responder):
    owner_user = make_user(tree.dept_a, "incident_responder", username="dept-responder")
    incident = make_incident(tree.dept_a, occurred_at=timezone.now() - datetime.timedelta(hours=60))
    result = services.remind_deadlines()
    assert result == {"reminded": 1, "escalated": 0}  # 72 h report due in 12 h: inside the 24 h lead
    assert Notification.objects.filter(recipient=owner_user, level="warning").exists()
    later = timezone.now() + datetime.timedelta(hours=13)
    assert services.remind_deadlines(later) == {"reminded": 0, "escalated": 1}
    assert Notification.objects.filter(recipient=province_responder, level="danger").exists()
    assert services.remind_deadlines(later) == {"reminded": 0, "escalated": 0}  # once
    assert list(services.breaches(coordinator, later)) == list(incident.deadlines.all())
    other = make_user(tree.province_b, "incident_responder", username="b")
    assert not services.breaches(other, later).exists()
    services.mark_report_sent(incident, "notification", by=coordinator)
    assert services.breaches(coordinator, later).count() == 0  # met in time
    overdue = make_incident(tree.dept_a, occurred_at=timezone.now() - datetime.timedelta(hours=100))
    services.mark_report_sent(overdue, "notification", by=coordinator)
    assert not services.breaches(coordinator).exists()
    assert list(services.breaches(coordinator, met_late=True)) == list(overdue.deadlines.all())  # met, but late


def test_forms_are_docx(tree, coordinator):
    from docx import Document

    system = make_system(tree.dept_a, decided_level=3)
    incident = make_incident(
        tree.dept_a,
        systems=[system.pk],
        observables=[("ipv4", "198.51.100.7")],
        occurred_at=timezone.make_aware(datetime.datetime(2026, 3, 2, 9)),
    )
    for code in ("notification", "initial_report", "closure_report"):
        content, name = documents.incident_form(incident, code)
        text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
        assert name.endswith(f"{code}.docx") and incident.number in text
    content, _name = documents.incident_form(incident, "initial_report")
    assert "Biểu mẫu số 03" in "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def test_member_reports_and_statistics(tree, coordinator):
    member = NetworkMember.objects.get(organization=tree.province_b)
    responder_b = make_user(tree.province_b, "incident_responder", username="resp-b2")
    incident = make_incident(tree.dept_a)
    services.classify(incident, by=coordinator, category="other/other", tlp="amber")
    task = services.add_task(
        incident, by=coordinator, assignee=tree.province_b, title="t", due_date=timezone.localdate()
    )
    services.task_step(task, "acknowledged", by=responder_b)
    stats = services.member_statistics(type(member).objects.filter(pk=member.pk))
    assert stats[tree.province_b.pk]["handled"] == 1 and stats[tree.province_b.pk]["ack_hours"] is not None
    assert [c for c, _label, _due in services.member_report_dates(2026)] == ["half_year"]  # Dec: Decree 331
    with pytest.raises(ValidationError):
        services.submit_member_report(member, period="annual", year=2026, by=responder_b)
    report = services.submit_member_report(member, period="half_year", year=2026, by=responder_b)
    assert report.figures["handled"] == 1 and report.due_date == datetime.date(2026, 6, 19)
    content, _name = documents.member_report_docx(report)
    assert content[:2] == b"PK"


def test_mark_duplicate(tree, coordinator):
    original = make_incident(tree.dept_a, observables=[("ipv4", "192.0.2.44")])
    again = make_incident(tree.dept_a, observables=[("ipv4", "192.0.2.44")])
    assert original in services.duplicate_hints(coordinator, again)
    with pytest.raises(ValidationError):
        services.mark_duplicate(again, again, by=coordinator)
    services.mark_duplicate(again, original, by=coordinator)
    assert again.state == State.REJECTED and again.duplicate_of == original
    assert not again.deadlines.exists()  # nothing more is due for a duplicate
    assert original.timeline.filter(action="duplicate_linked", note=again.number).exists()


def test_member_report_reminders(tree, coordinator):
    member = NetworkMember.objects.get(organization=tree.province_b)
    responder_b = make_user(tree.province_b, "incident_responder", username="resp-b3")
    make_member(tree.root, name="Foreign CERT", kind="external", country="XA")
    assert services.remind_member_reports(datetime.date(2026, 6, 5)) == 0  # 15 days before: not a reminder day
    assert services.remind_member_reports(datetime.date(2026, 6, 9)) == 1  # external CERTs do not report
    assert Notification.objects.filter(recipient=responder_b, level="warning").exists()
    services.submit_member_report(member, period="half_year", year=2026, by=responder_b)
    assert services.remind_member_reports(datetime.date(2026, 6, 17)) == 0


@pytest.mark.parametrize(
    ("discovered", "message"),
    [
        (datetime.datetime(2099, 1, 1, 9), "future"),  # every deadline pushed beyond the breach list's reach
        (datetime.datetime(1990, 1, 1, 9), "regime"),  # a 500: no regime in the data was in force then
    ],
)
def test_a_discovery_time_no_regime_can_judge_is_refused(tree, discovered, message):
    """A reporter who typed 2099 got an incident whose deadlines fell in 2099 (never in the missed-deadline list);
    one who typed 1990 got a server error."""
    with translation.override("en"), pytest.raises(ValidationError, match=message) as refused:
        make_incident(tree.dept_a, occurred_at=timezone.make_aware(discovered))
    assert "discovered_at" in refused.value.message_dict
    assert not Incident.objects.exists()
    soon = timezone.now() + datetime.timedelta(minutes=1)  # a sender's clock a little ahead is not refused
    assert make_incident(tree.dept_a, occurred_at=soon).discovered_at == soon


def test_member_report_docx_and_page_name_its_period(client, tree, coordinator):
    """The DOCX said "Kỳ báo cáo: half_year năm 2026", and the member's page listed "half_year 2026": the
    period's code, not its Vietnamese name."""
    from docx import Document

    member = NetworkMember.objects.get(organization=tree.province_b)
    responder = make_user(tree.province_b, "incident_responder", username="b4")
    report = services.submit_member_report(member, period="half_year", year=2026, by=responder)
    client.force_login(responder)
    with translation.override("vi"):
        page = client.get(member.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert ">Báo cáo 6 tháng 2026</a>" in page and ">half_year 2026</a>" not in page
    content, _name = documents.member_report_docx(report)
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    assert "Kỳ báo cáo: Báo cáo 6 tháng năm 2026" in text and "half_year" not in text


def test_a_merger_keeps_both_network_members_of_one_name(tree):
    """Two departments that had each registered "Đội ứng cứu" could not be merged (the merger was refused): the
    source's member keeps its record, named after its department too."""
    from attt.core.services.organizations import merge
    from attt.incidents.models import NetworkMember

    ours = make_member(tree.dept_a, name="Đội ứng cứu")
    theirs = make_member(tree.dept_b, name="Đội ứng cứu")
    merge(tree.dept_b, tree.dept_a)
    theirs.refresh_from_db()
    assert theirs.organization_id == tree.dept_a.pk and theirs.name == f"Đội ứng cứu ({tree.dept_b.name})"
    assert NetworkMember.objects.get(pk=ours.pk).name == "Đội ứng cứu"
