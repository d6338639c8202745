"""The level dossier from draft to approval under both regimes: actors, legal timers, content checks."""

import datetime
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attt.compliance import services
from attt.compliance.models import ChecklistItem, DossierState, LevelDossier, PeriodicCheck
from attt.core import audit
from attt.core.models import AuditEvent, Notification
from attt.core.testing import make_user
from attt.registry.tests.factories import make_system

LEVEL3 = {
    "system_type": "citizen_service",
    "resolves_administrative_procedures": True,
    "online_public_service_level": 3,
}


@pytest.fixture
def people(tree, national_admin):
    return {
        "operator": make_user(tree.province_a, "security_officer", username="operator"),
        "appraiser": make_user(tree.province_a, "security_officer", username="appraiser"),
        "owner": make_user(tree.province_a, "org_admin", username="owner"),
        "other": make_user(tree.province_b, "org_admin", username="other-owner"),
        "national": national_admin,
    }


def ready(dossier: LevelDossier) -> LevelDossier:
    dossier.summary = "Tổng quan hệ thống"
    dossier.protection_plan = "Phương án bảo đảm an toàn"
    dossier.justification = dossier.justification or "Thuyết minh"
    dossier.save()
    return dossier


def new(tree, people, regime, **facts):
    system = make_system(tree.province_a, regime=regime, **facts)
    return ready(services.new_dossier(system, by=people["operator"]))


def appraised(dossier: LevelDossier, people) -> LevelDossier:
    """The dossier submitted, accepted and appraised favourably: ready for the decision."""
    for step, who, comment in [
        ("submit", "operator", ""),
        ("accept", "appraiser", ""),
        ("appraise", "appraiser", "Đồng ý"),
    ]:
        dossier = services.transition(dossier, step, by=people[who], comment=comment)
    return dossier


def decision(level=None):
    return services.DecisionInput("12/QĐ-UBND", datetime.date(2026, 9, 1), "Chủ tịch UBND tỉnh A", level)


def test_level3_under_decree_331_from_draft_to_approval(tree, people):
    dossier = new(tree, people, "ND331_2026", system_type="citizen_service", resolves_administrative_procedures=True)
    assert dossier.proposed_level == 3 and dossier.regime == "ND331_2026"
    assert dossier.state == DossierState.DRAFT
    monday = datetime.date(2026, 9, 7)

    dossier = services.transition(dossier, "submit", by=people["operator"], today=monday)
    assert dossier.state == DossierState.SUBMITTED
    assert dossier.step_due == datetime.date(2026, 9, 14)  # 5 working days
    dossier = services.transition(dossier, "accept", by=people["appraiser"], today=monday)
    assert dossier.step_due == datetime.date(2026, 9, 28)  # 15 working days
    dossier = services.transition(dossier, "appraise", by=people["appraiser"], comment="Phù hợp cấp độ 3", today=monday)
    assert dossier.appraisal_opinion == "Phù hợp cấp độ 3"
    assert dossier.step_due == datetime.date(2026, 9, 16)  # 7 working days
    with pytest.raises(PermissionDenied):
        services.transition(dossier, "approve", by=people["appraiser"], decision=decision())
    dossier = services.transition(dossier, "approve", by=people["owner"], decision=decision(), today=monday)
    assert dossier.state == DossierState.APPROVED and dossier.approved_level == 3
    assert services.approved_level(dossier.system) == 3
    assert ChecklistItem.objects.filter(system=dossier.system, regime="ND331_2026").count() > 10
    assert PeriodicCheck.objects.filter(system=dossier.system, done_date__isnull=True).exists()
    steps = list(dossier.events.values_list("to_state", flat=True))
    assert steps == ["submitted", "appraisal", "appraised", "approved"]
    assert AuditEvent.objects.filter(object_id=str(dossier.pk), action="workflow").count() == 4


def test_decree_85_counts_appraisal_in_plain_days(tree, people):
    dossier = new(tree, people, "ND85_2016", **LEVEL3)
    assert dossier.proposed_level == 3
    monday = datetime.date(2025, 9, 8)
    dossier = services.transition(dossier, "submit", by=people["operator"], today=monday)
    dossier = services.transition(dossier, "accept", by=people["appraiser"], today=monday)
    assert dossier.step_due == monday + datetime.timedelta(days=15)


def test_level4_goes_to_the_national_authority_and_needs_the_expert_opinion(tree, people):
    dossier = new(
        tree,
        people,
        "ND331_2026",
        system_type="shared_infrastructure",
        infrastructure_scope="nationwide",
        operates_24x7=True,
    )
    assert dossier.proposed_level == 4
    with pytest.raises(ValidationError, match="expert opinion"):
        services.transition(dossier, "submit", by=people["operator"])
    services.attach(
        SimpleUploadedFile("y-kien.pdf", b"%PDF-1.4 opinion"),
        by=people["operator"],
        kind="expert_opinion",
        dossier=dossier,
    )
    dossier = services.transition(dossier, "submit", by=people["operator"])
    with pytest.raises(PermissionDenied):
        services.transition(dossier, "accept", by=people["appraiser"])
    dossier = services.transition(dossier, "accept", by=people["national"])
    assert dossier.state == DossierState.APPRAISAL
    assert Notification.objects.filter(recipient=people["national"]).exists()


def test_steps_out_of_order_and_missing_comments_are_refused(tree, people):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    with pytest.raises(ValidationError, match="not possible"):
        services.transition(dossier, "approve", by=people["owner"], decision=decision())
    dossier = services.transition(dossier, "submit", by=people["operator"])
    with pytest.raises(ValidationError, match="comment"):
        services.transition(dossier, "return_incomplete", by=people["appraiser"])
    dossier = services.transition(dossier, "return_incomplete", by=people["appraiser"], comment="Thiếu sơ đồ")
    assert dossier.state == DossierState.RETURNED
    dossier = services.transition(dossier, "submit", by=people["operator"])
    assert dossier.state == DossierState.SUBMITTED


def test_another_organisation_cannot_take_steps(tree, people):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    with pytest.raises(PermissionDenied):
        services.transition(dossier, "submit", by=people["other"])
    assert LevelDossier.objects.get(pk=dossier.pk).state == DossierState.DRAFT


def test_incomplete_dossier_cannot_be_submitted(tree, people):
    system = make_system(tree.province_a, regime="ND331_2026")
    dossier = services.new_dossier(system, by=people["operator"])
    with pytest.raises(ValidationError, match="protection plan"):
        services.transition(dossier, "submit", by=people["operator"])


def test_approval_needs_the_decision(tree, people):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    dossier = appraised(dossier, people)
    with pytest.raises(ValidationError) as info:
        services.transition(dossier, "approve", by=people["owner"], decision=services.DecisionInput())
    assert set(info.value.message_dict) == {"decision_number", "decision_date", "approved_by_name"}
    assert LevelDossier.objects.get(pk=dossier.pk).state == DossierState.APPRAISED


@pytest.mark.parametrize("level", [4, 5])
def test_approval_at_a_higher_level_of_other_bodies_is_refused(tree, people, level):
    """The owner approved a level-3 dossier appraised by its own security unit as level 5 (or 4): the system
    stood at a level the Prime Minister and the national authority never saw, with no appraisal by the bodies
    the regime gives that level."""
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    dossier = appraised(dossier, people)
    with pytest.raises(ValidationError) as info:
        services.transition(dossier, "approve", by=people["owner"], decision=decision(level))
    assert set(info.value.message_dict) == {"approved_level"}
    assert "return the dossier" in info.value.message_dict["approved_level"][0]
    assert LevelDossier.objects.get(pk=dossier.pk).state == DossierState.APPRAISED
    dossier = services.transition(dossier, "approve", by=people["owner"], decision=decision(3))
    assert dossier.approved_level == 3


def test_approval_at_a_higher_level_of_the_same_bodies_is_taken(tree, people):
    """Levels 1 and 2 go through the same bodies: a level-1 dossier may be decided at level 2."""
    dossier = new(tree, people, "ND331_2026", system_type="internal")
    assert dossier.proposed_level == 1
    dossier = appraised(dossier, people)
    dossier = services.transition(dossier, "approve", by=people["appraiser"], decision=decision(2))
    assert dossier.approved_level == 2


def test_overdue_and_reminders(tree, people):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    start = datetime.date(2026, 9, 7)
    dossier = services.transition(dossier, "submit", by=people["operator"], today=start)
    assert not services.overdue_dossiers(today=dossier.step_due).exists()
    assert list(services.overdue_dossiers(today=dossier.step_due + datetime.timedelta(days=1))) == [dossier]
    Notification.objects.all().delete()
    # the completeness check's reminders in timers.yaml: 2 and 1 working days before the due date
    assert dossier.step_due == datetime.date(2026, 9, 14)  # 5 working days after Monday 7 September
    reminded = [day for day in _days(start, dossier.step_due) if services.remind_dossiers(today=day)]
    assert reminded == [datetime.date(2026, 9, 10), datetime.date(2026, 9, 11)]  # Thursday, Friday
    assert Notification.objects.filter(recipient=people["appraiser"]).count() == 2
    assert services.remind_dossiers(today=dossier.step_due + datetime.timedelta(days=1)) == 1  # overdue


def _days(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.exe", b"MZ", "not accepted"),
        ("noextension", b"x", "not accepted"),
    ],
)
def test_attachments_refuse_other_types(tree, people, name, content, message):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    with pytest.raises(ValidationError, match=message):
        services.attach(SimpleUploadedFile(name, content), by=people["operator"], kind="other", dossier=dossier)


def test_attachment_size_limit_and_safe_storage(tree, people, monkeypatch, settings):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 10)
    with pytest.raises(ValidationError, match="larger"):
        services.attach(SimpleUploadedFile("big.pdf", b"x" * 11), by=people["operator"], kind="design", dossier=dossier)
    attachment = services.attach(
        SimpleUploadedFile("../../etc/passwd.pdf", b"%PDF-1.7"), by=people["operator"], kind="design", dossier=dossier
    )
    assert attachment.filename == "passwd.pdf"
    assert ".." not in attachment.file.name and "passwd" not in attachment.file.name
    assert attachment.sha256 == hashlib.sha256(b"%PDF-1.7").hexdigest()
    assert (settings.MEDIA_ROOT / attachment.file.name).read_bytes() == b"%PDF-1.7"


def test_checklist_rules_and_progress(tree, people):
    system = make_system(tree.province_a, regime="ND331_2026")
    added = services.sync_checklist(system, "ND331_2026", 2)
    assert added > 5
    assert services.sync_checklist(system, "ND331_2026", 2) == 0
    items = list(ChecklistItem.objects.filter(system=system))
    with pytest.raises(ValidationError, match="why"):
        services.update_item(items[0], status="not_applicable")
    with pytest.raises(ValidationError, match="roadmap"):
        services.update_item(items[0], status="not_met")
    services.update_item(items[0], status="not_applicable", reason="Không có mạng không dây")
    for item in items[1:]:
        services.update_item(item, status="met")
    progress = services.checklist_progress(system, "ND331_2026")
    assert progress.applicable == len(items) - 1 and progress.met == len(items) - 1
    assert progress.fully_implemented and progress.percent_met == 100.0
    services.update_item(items[1], status="partly", remediation="Triển khai WAF", due_date=datetime.date(2027, 1, 1))
    progress = services.checklist_progress(system, "ND331_2026")
    assert not progress.fully_implemented
    assert progress.percent_met == round(100 * (len(items) - 2) / (len(items) - 1), 1)


def test_old_regime_systems_see_their_deadline_and_gap(tree, people):
    dossier = new(tree, people, "ND85_2016", **LEVEL3)
    dossier = appraised(dossier, people)
    services.transition(dossier, "approve", by=people["owner"], decision=decision())
    gap = services.transition_gap(dossier.system, 3, today=datetime.date(2026, 12, 1))
    assert gap.deadline == datetime.date(2027, 7, 1)
    assert gap.days_left == 212
    assert gap.required > 0 and gap.met == 0 and gap.missing == gap.required


def test_monitoring_sets_layer_four(tree):
    """The central monitoring module reports a live connection; it overrides what was typed by hand."""
    system = make_system(tree.province_a)
    layers = services.layers_of(system)
    layers.national_monitoring_connected = False
    layers.save()
    services.set_national_monitoring(system, connected=True)
    layers.refresh_from_db()
    assert layers.national_monitoring_connected
    assert layers.national_monitoring_source == "monitoring" and layers.national_monitoring_seen is not None


def test_layer_four_reports_write_only_changes_and_hourly_sightings(tree, monkeypatch):
    """Monitoring reports every five minutes: the row and its audit trail change when the status flips, and
    otherwise once the last sighting has moved by an hour."""
    system = make_system(tree.province_a)
    layers = services.layers_of(system)
    start = timezone.now()

    def updates() -> int:
        return AuditEvent.objects.filter(object_id=str(layers.pk), action="update").count()

    services.set_national_monitoring(system, connected=True, seen=start)
    written = updates()
    chain_locks = []
    with monkeypatch.context() as patch:  # a report that changes nothing takes no lock, the audit chain's included
        patch.setattr(audit, "lock_chain", lambda: chain_locks.append(1))
        for minutes in (5, 10, 55):
            services.set_national_monitoring(system, connected=True, seen=start + datetime.timedelta(minutes=minutes))
    assert updates() == written and chain_locks == []
    services.set_national_monitoring(system, connected=True, seen=start + datetime.timedelta(minutes=61))
    services.set_national_monitoring(system, connected=False, seen=start + datetime.timedelta(minutes=62))
    assert updates() == written + 2
    layers.refresh_from_db()
    assert not layers.national_monitoring_connected
    assert layers.national_monitoring_seen == start + datetime.timedelta(minutes=62)
    layers.national_monitoring_source = "manual"  # typed by hand meanwhile: the next report takes it back
    layers.save()
    services.set_national_monitoring(system, connected=False, seen=start + datetime.timedelta(minutes=63))
    layers.refresh_from_db()
    assert layers.national_monitoring_source == "monitoring"


def test_approved_levels_in_bulk(tree, people):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    dossier = appraised(dossier, people)
    services.transition(dossier, "approve", by=people["owner"], decision=decision(level=2))
    other = make_system(tree.province_a)
    assert services.approved_levels([dossier.system_id, other.pk]) == {dossier.system_id: 2}
