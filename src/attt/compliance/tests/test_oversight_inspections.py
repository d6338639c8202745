"""Compliance inspections and their findings: scope, validation, and the acknowledge → verify flow."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from attt.compliance import inspections
from attt.compliance.models import Finding, Inspection
from attt.compliance.tests.factories_oversight import make_finding, make_inspection
from attt.core.models import AuditEvent, Notification, Role, RoleAssignment
from attt.core.scoping import forget_scope
from attt.core.testing import make_user
from attt.registry.tests.factories import make_system

pytestmark = pytest.mark.django_db


@pytest.fixture
def responder_role(db):
    """The inspected side: sees findings and acknowledges them (roles.yaml will grant this to officers)."""
    permissions = [
        "compliance.finding.view",
        "compliance.finding.acknowledge",
        "compliance.inspection.view",
        "core.organization.view",
    ]
    return Role.objects.create(code="test-responder", name="Responder", permissions=permissions)


@pytest.fixture
def inspector(tree):
    return make_user(tree.root, "inspector", username="inspector-national")


@pytest.fixture
def national_inspection(tree, inspector):
    return make_inspection(tree.root, targets=[tree.province_a, tree.province_b], year=2026)


def test_a_finding_at_province_b_is_invisible_to_province_a(client, api, tree, national_inspection, responder_role):
    finding_b = make_finding(tree.dept_b, inspection=national_inspection, description="Thiếu quy chế tại Sở B")
    finding_a = make_finding(tree.dept_a, inspection=national_inspection, description="Thiếu nhật ký tại Sở A")
    user_a = make_user(tree.province_a, "test-responder", username="responder-a")
    client.force_login(user_a)
    assert client.get(reverse("compliance:finding_detail", args=[finding_b.pk])).status_code == 404
    assert client.get(reverse("compliance:finding_detail", args=[finding_a.pk])).status_code == 200
    listing = client.get(reverse("compliance:finding_list")).content.decode()
    assert "Thiếu nhật ký tại Sở A" in listing and "Thiếu quy chế tại Sở B" not in listing
    assert client.post(reverse("compliance:finding_step", args=[finding_b.pk, "acknowledge"])).status_code == 404
    api.force_authenticate(user_a)
    assert api.get(reverse("api:finding-detail", args=[finding_b.pk])).status_code == 404
    assert api.post(reverse("api:finding-acknowledge", args=[finding_b.pk])).status_code == 404
    ids = {row["id"] for row in api.get(reverse("api:finding-list")).json()["results"]}
    assert ids == {str(finding_a.pk)}
    # the national inspection itself is not theirs to see, but its title shows on their finding
    page = client.get(reverse("compliance:finding_detail", args=[finding_a.pk])).content.decode()
    assert national_inspection.title in page and national_inspection.get_absolute_url() not in page


def test_acknowledge_remediate_verify(api, tree, inspector, national_inspection, responder_role):
    finding = make_finding(tree.dept_b, inspection=national_inspection, due_date=datetime.date(2027, 1, 31))
    responder = make_user(tree.province_b, "test-responder", username="responder-b")
    api.force_authenticate(responder)
    url = reverse("api:finding-detail", args=[finding.pk])
    assert api.get(url).json()["actions"] == ["acknowledge", "remediate"]
    assert api.post(reverse("api:finding-verify", args=[finding.pk])).status_code in {400, 403}
    response = api.post(reverse("api:finding-acknowledge", args=[finding.pk]))
    assert response.status_code == 200 and response.json()["state"] == "acknowledged"
    assert response.json()["acknowledged_at"]
    assert api.post(reverse("api:finding-acknowledge", args=[finding.pk])).status_code == 400  # only once
    empty = api.post(reverse("api:finding-remediate", args=[finding.pk]), {"evidence": ""}, format="json")
    assert empty.status_code == 400
    done = api.post(
        reverse("api:finding-remediate", args=[finding.pk]),
        {"evidence": "Đã ban hành quy chế, số 12/QĐ-SYT."},
        format="json",
    )
    assert done.status_code == 200 and done.json()["state"] == "remediated"
    assert Notification.objects.filter(recipient=inspector, link=finding.get_absolute_url()).exists()
    assert api.post(reverse("api:finding-verify", args=[finding.pk]), {}, format="json").status_code == 403
    api.force_authenticate(inspector)
    back = api.post(reverse("api:finding-verify", args=[finding.pk]), {"accept": False}, format="json")
    assert back.status_code == 400  # sending back needs a reason
    back = api.post(
        reverse("api:finding-verify", args=[finding.pk]),
        {"accept": False, "comment": "Chưa kèm quyết định."},
        format="json",
    )
    assert back.json()["state"] == "acknowledged"
    api.force_authenticate(responder)
    api.post(reverse("api:finding-remediate", args=[finding.pk]), {"evidence": "Kèm quyết định."}, format="json")
    api.force_authenticate(inspector)
    verified = api.post(reverse("api:finding-verify", args=[finding.pk]), {"accept": True}, format="json")
    assert verified.status_code == 200 and verified.json()["state"] == "verified"
    steps = list(
        AuditEvent.objects.filter(object_id=str(finding.pk), action=AuditEvent.Action.WORKFLOW)
        .order_by("seq")
        .values_list("changes__step", flat=True)
    )
    assert steps == ["acknowledge", "remediate", "reject_remediation", "remediate", "verify"]
    assert api.patch(url, {"remediation": "x"}, format="json").status_code == 400  # a verified finding is closed


def test_finding_flow_in_the_ui(client, tree, inspector, national_inspection, responder_role):
    responder = make_user(tree.province_b, "test-responder", username="responder-ui")
    client.force_login(inspector)
    response = client.post(
        reverse("compliance:finding_add"),
        {
            "inspection": national_inspection.pk,
            "organization": tree.dept_b.pk,
            "requirement": "QL-01",
            "severity": "high",
            "description": "Chưa có phương án ứng cứu sự cố",
            "remediation": "Xây dựng phương án",
            "due_date": "2027-02-01",
        },
    )
    assert response.status_code == 302
    finding = Finding.objects.get(description="Chưa có phương án ứng cứu sự cố")
    assert Notification.objects.filter(recipient=responder, link=finding.get_absolute_url()).exists()
    client.force_login(responder)
    page = client.get(finding.get_absolute_url())
    assert page.status_code == 200 and b'data-testid="acknowledge"' in page.content
    assert client.post(reverse("compliance:finding_step", args=[finding.pk, "acknowledge"])).status_code == 302
    assert client.get(reverse("compliance:finding_step", args=[finding.pk, "remediate"])).status_code == 200
    client.post(reverse("compliance:finding_step", args=[finding.pk, "remediate"]), {"evidence": "Đã xây dựng."})
    finding.refresh_from_db()
    assert finding.state == Finding.State.REMEDIATED and finding.acknowledged_at is not None
    assert client.get(reverse("compliance:finding_step", args=[finding.pk, "verify"])).status_code == 403
    client.force_login(inspector)
    assert client.get(reverse("compliance:finding_step", args=[finding.pk, "verify"])).status_code == 200
    client.post(reverse("compliance:finding_step", args=[finding.pk, "verify"]), {"accept": "yes", "comment": ""})
    finding.refresh_from_db()
    assert finding.state == Finding.State.VERIFIED
    assert client.get(reverse("compliance:finding_edit", args=[finding.pk])).status_code == 403


def test_the_inspected_organisation_cannot_rewrite_or_add_findings(client, api, tree, inspector, national_inspection):
    """The inspected province's security officer (who holds `change` on its own records, and here sees the whole
    tree as a leader) turned a high finding against it into a low one due in 2030, on the page and through the
    API, and could file findings into the national inspection."""
    finding = make_finding(
        tree.dept_a, inspection=national_inspection, severity="high", due_date=datetime.date(2027, 1, 31)
    )
    officer = make_user(tree.province_a, "security_officer", username="officer-inspected")
    RoleAssignment.objects.create(user=officer, role=Role.objects.get(code="leader"), organization=tree.root)
    forget_scope(officer)
    url = reverse("api:finding-detail", args=[finding.pk])
    api.force_authenticate(officer)
    assert api.get(url).json()["actions"] == ["acknowledge", "remediate"]
    assert api.patch(url, {"severity": "low", "due_date": "2030-01-01"}, format="json").status_code == 403
    added = api.post(
        reverse("api:finding-list"),
        {"inspection": str(national_inspection.pk), "organization": str(tree.dept_a.pk), "description": "Tự ghi"},
        format="json",
    )
    assert added.status_code == 403
    client.force_login(officer)
    assert client.get(reverse("compliance:finding_edit", args=[finding.pk])).status_code == 403
    assert (
        reverse("compliance:finding_edit", args=[finding.pk])
        not in client.get(url.replace("/api/v1", "")).content.decode()
    )
    form = client.get(reverse("compliance:finding_add")).context["form"]
    assert national_inspection not in form.fields["inspection"].queryset
    finding.refresh_from_db()
    assert (finding.severity, finding.due_date) == ("high", datetime.date(2027, 1, 31))
    assert Finding.objects.count() == 1
    assert api.post(reverse("api:finding-acknowledge", args=[finding.pk])).status_code == 200
    api.force_authenticate(inspector)
    assert api.patch(url, {"due_date": "2027-03-31"}, format="json").status_code == 200


def test_workflow_functions_check_permissions(tree, national_inspection, responder_role):
    finding = make_finding(tree.dept_b, inspection=national_inspection)
    stranger = make_user(tree.province_a, "test-responder", username="stranger")
    with pytest.raises(PermissionDenied):
        inspections.acknowledge_finding(finding, by=stranger)
    with pytest.raises(ValidationError):
        inspections.verify_finding(finding, by=stranger)  # not remediated yet


def test_inspection_targets_stay_under_the_inspecting_body(tree):
    inspection = Inspection(organization=tree.province_a, title="x", year=2026, regime="ND331_2026")
    with pytest.raises(ValidationError) as caught:
        inspections.validate_inspection(inspection, [tree.dept_a, tree.dept_b])
    assert "targets" in caught.value.message_dict
    inspection.starts, inspection.ends = datetime.date(2026, 5, 2), datetime.date(2026, 5, 1)
    with pytest.raises(ValidationError) as caught:
        inspections.validate_inspection(inspection, [tree.dept_a])
    assert "ends" in caught.value.message_dict


def test_finding_must_concern_an_inspected_organisation(tree, inspector, national_inspection):
    inspection = make_inspection(tree.province_a, targets=[tree.dept_a])
    with pytest.raises(ValidationError):
        inspections.validate_finding(Finding(inspection=inspection, organization=tree.province_b))
    with pytest.raises(ValidationError):
        system_b = make_system(tree.dept_b)
        inspections.validate_finding(Finding(inspection=national_inspection, organization=tree.dept_a, system=system_b))
    inspections.validate_finding(Finding(inspection=inspection, organization=tree.operator_a))


def test_inspection_create_and_edit_in_the_ui_limit_choices_and_audit_membership(client, tree):
    officer = make_user(tree.province_a, "inspector", username="inspector-a")
    colleague = make_user(tree.dept_a, None, username="colleague-a")
    outsider = make_user(tree.dept_b, None, username="outsider-b")
    client.force_login(officer)
    form = client.get(reverse("compliance:inspection_add"))
    assert form.status_code == 200
    team_choices = {str(v) for v, _label in form.context["form"].fields["team"].choices}
    assert str(colleague.pk) in team_choices and str(outsider.pk) not in team_choices
    target_choices = {str(v) for v, _label in form.context["form"].fields["targets"].choices}
    assert str(tree.dept_a.pk) in target_choices and str(tree.dept_b.pk) not in target_choices
    refused = client.post(
        reverse("compliance:inspection_add"),
        {
            "organization": tree.province_a.pk,
            "title": "Kiểm tra 2026",
            "year": 2026,
            "regime": "ND331_2026",
            "state": "planned",
            "targets": [tree.dept_b.pk],
        },
    )
    assert refused.status_code == 200 and not Inspection.objects.exists()
    created = client.post(
        reverse("compliance:inspection_add"),
        {
            "organization": tree.province_a.pk,
            "title": "Kiểm tra 2026",
            "year": 2026,
            "regime": "ND331_2026",
            "state": "planned",
            "targets": [tree.dept_a.pk],
            "team": [colleague.pk, officer.pk],
            "starts": "2026-05-01",
            "ends": "2026-05-10",
        },
    )
    assert created.status_code == 302, created.content
    inspection = Inspection.objects.get()
    assert set(inspection.team.all()) == {colleague, officer}
    changes = [e.changes for e in AuditEvent.objects.filter(object_id=str(inspection.pk), action="update")]
    assert {"before": {"targets": []}, "after": {"targets": [str(tree.dept_a.pk)]}} in changes
    team = sorted([str(colleague.pk), str(officer.pk)])
    assert {"before": {"team": []}, "after": {"team": team}} in changes
    inspection.team.remove(colleague)  # recorded as the inspection's change, not as a link row deleted
    latest = AuditEvent.objects.filter(object_id=str(inspection.pk)).latest("seq")
    assert latest.changes == {"before": {"team": team}, "after": {"team": [str(officer.pk)]}}
    assert not AuditEvent.objects.filter(object_type=Inspection.team.through._meta.label_lower).exists()
    detail = client.get(inspection.get_absolute_url())
    assert detail.status_code == 200 and "Sở A" in detail.content.decode()
    assert client.get(inspection.get_absolute_url(), {"level": "4"}).status_code == 200
    assert client.get(reverse("compliance:inspection_list")).status_code == 200
    assert client.get(reverse("compliance:inspection_edit", args=[inspection.pk])).status_code == 200
    assert (
        client.get(reverse("compliance:finding_add"), {"inspection": inspection.pk, "requirement": "QL-01"}).status_code
        == 200
    )


def test_inspection_api(api, tree):
    officer = make_user(tree.province_a, "inspector", username="inspector-api")
    colleague = make_user(tree.dept_a, None, username="colleague-api")
    outsider = make_user(tree.dept_b, None, username="outsider-api")
    api.force_authenticate(officer)
    body = {
        "organization": str(tree.province_a.pk),
        "title": "Kiểm tra API",
        "year": 2026,
        "regime": "ND331_2026",
        "targets": [str(tree.dept_a.pk)],
        "team": [str(colleague.pk)],
    }
    created = api.post(reverse("api:inspection-list"), body, format="json")
    assert created.status_code == 201, created.content
    assert (
        api.post(reverse("api:inspection-list"), {**body, "team": [str(outsider.pk)]}, format="json").status_code == 400
    )
    assert (
        api.post(reverse("api:inspection-list"), {**body, "targets": [str(tree.dept_b.pk)]}, format="json").status_code
        == 400
    )
    assert api.post(reverse("api:inspection-list"), {**body, "regime": "ND999"}, format="json").status_code == 400
    url = reverse("api:inspection-detail", args=[created.json()["id"]])
    assert api.patch(url, {"targets": [str(tree.operator_a.pk)]}, format="json").status_code == 200
    finding = api.post(
        reverse("api:finding-list"),
        {
            "inspection": created.json()["id"],
            "organization": str(tree.operator_a.pk),
            "description": "Phát hiện API",
            "due_date": "2027-01-15",
        },
        format="json",
    )
    assert finding.status_code == 201, finding.content
    wrong = api.post(
        reverse("api:finding-list"),
        {"inspection": created.json()["id"], "organization": str(tree.dept_a.pk), "description": "Ngoài phạm vi"},
        format="json",
    )
    assert wrong.status_code == 400
    assert api.get(reverse("api:finding-export")).status_code == 200
    assert api.get(reverse("api:inspection-export")).status_code == 200
