"""The pages and API of a system's level: questionnaire, assessment, dossier steps, checklist, layers."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attt.compliance import services
from attt.compliance.models import ChecklistItem, DossierState, LevelAssessment, LevelDossier, PeriodicCheck
from attt.compliance.tests.factories import check_factory
from attt.core.models import Role, RoleAssignment
from attt.core.scoping import forget_scope
from attt.core.testing import make_user
from attt.registry.tests.factories import make_system


@pytest.fixture
def officer(tree):
    return make_user(tree.province_a, "security_officer", username="officer")


@pytest.fixture
def system(tree):
    return make_system(
        tree.dept_a, regime="ND331_2026", system_type="citizen_service", resolves_administrative_procedures=True
    )


def test_questionnaire_stores_the_assessment_with_its_facts(client, officer, system):
    client.force_login(officer)
    page = client.get(f"/compliance/systems/{system.pk}/assess/")
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None and name != "components"}
    data["information_classes"] = ["public", "personal"]
    data["resolves_administrative_procedures"] = "on"
    data.pop("decided_level", None)
    response = client.post(
        f"/compliance/systems/{system.pk}/assess/", {k: v for k, v in data.items() if v is not False}
    )
    assert response.status_code == 302, page.context["form"].errors
    assessment = LevelAssessment.objects.get(system=system)
    assert assessment.level == 3
    assert assessment.facts["resolves_administrative_procedures"] is True
    detail = client.get(response.url)
    assert detail.status_code == 200 and assessment.deciding_criterion in detail.content.decode()


def test_questionnaire_of_another_province_is_not_found(client, tree, system):
    client.force_login(make_user(tree.province_b, "security_officer", username="b-officer"))
    assert client.get(f"/compliance/systems/{system.pk}/assess/").status_code == 404
    assert client.get(f"/compliance/systems/{system.pk}/").status_code == 404


def test_dossier_path_through_the_pages(client, tree, officer, system):
    owner = make_user(tree.province_a, "org_admin", username="owner")
    client.force_login(officer)
    assessment = services.assess_system(system, by=officer)
    response = client.post(f"/compliance/assessments/{assessment.pk}/propose/")
    dossier = LevelDossier.objects.get(system=system)
    assert response.url == f"/compliance/dossiers/{dossier.pk}/edit/"
    client.post(
        response.url,
        {
            "title": dossier.title,
            "kind": "initial",
            "summary": "Tổng quan",
            "justification": "Thuyết minh",
            "protection_plan": "Phương án",
        },
    )
    client.post(
        f"/compliance/dossiers/{dossier.pk}/upload/",
        {"kind": "design", "file": SimpleUploadedFile("thiet-ke.pdf", b"%PDF-1.4")},
    )
    assert dossier.attachments.count() == 1
    for step, comment in [("submit", ""), ("accept", ""), ("appraise", "Phù hợp")]:
        client.post(f"/compliance/dossiers/{dossier.pk}/step/{step}/", {"comment": comment})
    dossier.refresh_from_db()
    assert dossier.state == DossierState.APPRAISED
    page = client.get(f"/compliance/dossiers/{dossier.pk}/")
    assert 'data-testid="step-approve"' not in page.content.decode()  # the owner approves, not the officer
    client.force_login(owner)
    assert 'data-testid="step-approve"' in client.get(f"/compliance/dossiers/{dossier.pk}/").content.decode()
    client.post(
        f"/compliance/dossiers/{dossier.pk}/step/approve/",
        {
            "decision_number": "5/QĐ-UBND",
            "decision_date": "2026-10-01",
            "approved_by_name": "Chủ tịch",
            "approved_level": "3",
        },
    )
    dossier.refresh_from_db()
    assert dossier.state == DossierState.APPROVED
    download = client.get(f"/compliance/attachments/{dossier.attachments.get().pk}/")
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == b"%PDF-1.4"
    overview = client.get(f"/compliance/systems/{system.pk}/")
    assert 'data-testid="approved-level">3<' in overview.content.decode()


def test_checklist_row_update_with_htmx(client, officer, system):
    services.sync_checklist(system, "ND331_2026", 3)
    item = ChecklistItem.objects.filter(system=system).first()
    client.force_login(officer)
    page = client.get(f"/compliance/systems/{system.pk}/checklist/")
    assert page.status_code == 200 and item.requirement in page.content.decode()
    prefix = str(item.pk)
    response = client.post(
        f"/compliance/checklist-items/{item.pk}/", {f"{prefix}-status": "not_met"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    item.refresh_from_db()
    assert item.status == "unknown"
    client.post(
        f"/compliance/checklist-items/{item.pk}/",
        {f"{prefix}-status": "not_met", f"{prefix}-remediation": "Mua WAF", f"{prefix}-due_date": "2027-03-01"},
        HTTP_HX_REQUEST="true",
    )
    item.refresh_from_db()
    assert item.status == "not_met" and item.due_date == datetime.date(2027, 3, 1)


def test_api_dossier_steps_and_problems(api, tree, officer, system):
    api.force_authenticate(officer)
    api.cookies["attt_language"] = "en"
    created = api.post("/api/v1/compliance/dossiers/", {"system": str(system.pk)}, format="json")
    assert created.status_code == 201, created.content
    dossier_id = created.json()["id"]
    assert created.json()["steps"] == ["submit", "withdraw"]
    refused = api.post(f"/api/v1/compliance/dossiers/{dossier_id}/step/", {"step": "submit"}, format="json")
    assert refused.status_code == 400 and refused["Content-Type"] == "application/problem+json"
    api.patch(f"/api/v1/compliance/dossiers/{dossier_id}/", {"summary": "a", "protection_plan": "b"}, format="json")
    done = api.post(f"/api/v1/compliance/dossiers/{dossier_id}/step/", {"step": "submit"}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "submitted"
    locked = api.patch(f"/api/v1/compliance/dossiers/{dossier_id}/", {"summary": "c"}, format="json")
    assert locked.status_code == 400
    unknown = api.post(f"/api/v1/compliance/dossiers/{dossier_id}/step/", {"step": "teleport"}, format="json")
    assert unknown.status_code == 400


def test_api_assessment_with_given_facts(api, officer, system):
    api.force_authenticate(officer)
    response = api.post(
        "/api/v1/compliance/assessments/",
        {
            "system": str(system.pk),
            "regime": "ND331_2026",
            "facts": {"system_type": "citizen_service", "data_subjects_basic": 100000},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["level"] == 3
    bad = api.post(
        "/api/v1/compliance/assessments/", {"system": str(system.pk), "facts": {"system_type": "x"}}, format="json"
    )
    assert bad.status_code == 400 and "facts" in bad.json()["errors"]


@pytest.mark.parametrize("url", ["/compliance/dossiers/", "/compliance/checks/"])
def test_lists_render(client, national_admin, url):
    client.force_login(national_admin)
    assert client.get(url).status_code == 200


def test_registry_system_page_links_to_its_level(client, officer, system):
    client.force_login(officer)
    page = client.get(system.get_absolute_url()).content.decode()
    assert f'href="/compliance/systems/{system.pk}/"' in page


def test_checklist_shows_the_wording_of_rows_replaced_at_higher_levels(client, officer, system):
    """A level-1 checklist holds rows that end at lower levels; each still shows its text."""
    from django.utils.html import escape

    from attt.regulation import services as regulation

    services.sync_checklist(system, "ND331_2026", 1)
    level5 = {r.code for r in regulation.requirements("ND331_2026", 5)}
    replaced = [r for r in regulation.requirements("ND331_2026", 1) if r.code not in level5]
    assert replaced, "the catalogue has rows replaced at higher levels"
    client.force_login(officer)
    page = client.get(f"/compliance/systems/{system.pk}/checklist/").content.decode()
    assert all(escape(r.text_vi) in page for r in replaced)


def test_api_periodic_check_cannot_move_to_another_organisations_system(api, tree):
    """A system owner of province A who can see everything (leader at the root) must not hang its check on
    a system of province B: the check would stay owned by A."""
    owner = make_user(tree.province_a, "system_owner", username="owner-a")
    RoleAssignment.objects.create(user=owner, role=Role.objects.get(code="leader"), organization=tree.root)
    forget_scope(owner)
    check = check_factory(tree.dept_a)
    foreign = make_system(tree.dept_b)
    api.force_authenticate(owner)
    moved = api.patch(f"/api/v1/compliance/periodic-checks/{check.pk}/", {"system": str(foreign.pk)}, format="json")
    assert moved.status_code == 400 and "system" in moved.json()["errors"]
    check.refresh_from_db()
    assert check.system.organization_id == check.organization_id == tree.dept_a.pk
    same = api.patch(
        f"/api/v1/compliance/periodic-checks/{check.pk}/",
        {"system": str(check.system_id), "due_date": "2027-02-01"},
        format="json",
    )
    assert same.status_code == 200, same.content


def test_api_records_a_check_only_through_its_completion_step(api, tree):
    """The API cannot write a result into a check directly (the next check would not be planned); the
    `complete` step records it once, plans the next, and refuses a second recording."""
    officer = make_user(tree.dept_a, "system_owner", username="owner-a1")
    check = check_factory(tree.dept_a)
    api.force_authenticate(officer)
    url = f"/api/v1/compliance/periodic-checks/{check.pk}/"
    direct = api.patch(url, {"done_date": "2026-11-20", "result": "Đạt"}, format="json")
    assert direct.status_code == 400 and {"done_date", "result"} <= set(direct.json()["errors"])
    body = {"done_date": "2026-11-20", "performer": "Tổ kiểm tra", "result": "Đạt"}
    done = api.post(url + "complete/", body, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["done_date"] == "2026-11-20"
    planned = PeriodicCheck.objects.filter(system=check.system, done_date__isnull=True)
    assert planned.count() == 1 and planned.get().due_date > datetime.date(2026, 11, 20)
    again = api.post(url + "complete/", body, format="json")
    assert again.status_code == 403
    assert PeriodicCheck.objects.filter(system=check.system).count() == 2
    missing = api.post(url.replace(str(check.pk), str(planned.get().pk)) + "complete/", {}, format="json")
    assert missing.status_code == 400 and "performer" in missing.json()["errors"]


def test_api_assessment_under_an_unknown_regime_is_a_bad_field(api, officer, system):
    """An assessment asked under a regime the data does not have answered 500 (Server Error) instead of saying
    which field is wrong."""
    api.force_authenticate(officer)
    api.cookies["attt_language"] = "en"
    bad = api.post("/api/v1/compliance/assessments/", {"system": str(system.pk), "regime": "ND99_2030"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"]["regime"] == ["Unknown legal regime."]
    assert not LevelAssessment.objects.filter(system=system).exists()


def test_proposing_a_dossier_of_an_unknown_kind_is_refused(client, officer, system):
    """A proposal posted with a made-up kind was stored as a dossier of that kind (or, longer than the column, a
    Server Error on PostgreSQL)."""
    assessment = services.assess_system(system, by=officer)
    client.force_login(officer)
    client.cookies["attt_language"] = "en"
    response = client.post(f"/compliance/assessments/{assessment.pk}/propose/", {"kind": "x" * 40}, follow=True)
    assert response.status_code == 200 and "Unknown kind of dossier." in response.content.decode()
    assert not LevelDossier.objects.exists()
    client.post(f"/compliance/assessments/{assessment.pk}/propose/", {"kind": "reclassification"})
    assert LevelDossier.objects.get().kind == LevelDossier.Kind.RECLASSIFICATION


@pytest.mark.parametrize("regime", ["ND85_2016", "ND331_2026"])
def test_a_check_of_a_kind_without_a_frequency_is_recorded(client, api, tree, regime):
    """Recording a risk assessment (a kind the regime sets no frequency for) answered 500 (Server Error) on the
    page and the API, and nothing was recorded."""
    owner = make_user(tree.dept_a, "system_owner", username="owner-a1")
    check = check_factory(tree.dept_a)
    PeriodicCheck.objects.filter(pk=check.pk).update(regime=regime, kind=PeriodicCheck.Kind.RISK_ASSESSMENT)
    api.force_authenticate(owner)
    body = {"done_date": "2026-11-20", "performer": "Tổ đánh giá", "result": "Rủi ro trung bình"}
    done = api.post(f"/api/v1/compliance/periodic-checks/{check.pk}/complete/", body, format="json")
    assert done.status_code == 200, done.content
    assert PeriodicCheck.objects.filter(system=check.system).count() == 1  # no frequency: nothing planned
    second = check_factory(tree.dept_a)
    PeriodicCheck.objects.filter(pk=second.pk).update(regime=regime, kind=PeriodicCheck.Kind.RISK_ASSESSMENT)
    client.force_login(owner)
    page = client.post(second.get_absolute_url(), body)
    assert page.status_code == 302
    second.refresh_from_db()
    assert second.done_date == datetime.date(2026, 11, 20)


def test_the_system_overview_writes_nothing(client, officer, system):
    """Opening a system's compliance page (a GET, by anyone who may see the system) created its 4-layer record
    and an audit entry for it; the page shows the defaults and leaves the record to the first save."""
    from attt.compliance.models import ProtectionLayers
    from attt.core.models import AuditEvent

    client.force_login(officer)
    events = AuditEvent.objects.count()
    response = client.get(f"/compliance/systems/{system.pk}/")
    assert response.status_code == 200 and 'id="s-layers"' in response.content.decode()
    assert not ProtectionLayers.objects.filter(system=system).exists()
    assert AuditEvent.objects.count() == events


def test_a_check_cannot_be_recorded_as_done_after_today(client, api, tree):
    """A check recorded as done next month planned the one after from that date, and the month's report
    counted a check nobody had made yet; today is the latest date it may carry, on the page and the API."""
    owner = make_user(tree.dept_a, "system_owner", username="owner-a1")
    check = check_factory(tree.dept_a)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    body = {"done_date": tomorrow, "performer": "Tổ kiểm tra", "result": "Đạt"}
    api.force_authenticate(owner)
    refused = api.post(f"/api/v1/compliance/periodic-checks/{check.pk}/complete/", body, format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["done_date"]
    client.force_login(owner)
    page = client.post(check.get_absolute_url(), body)
    assert page.status_code == 200 and "Không thể ghi nhận" in page.content.decode()
    assert f'value="{tomorrow}"' in page.content.decode()  # the form comes back as typed
    assert page.context["check"].done_date is None  # and the page shows the check as stored: not done
    assert PeriodicCheck.objects.filter(system=check.system).count() == 1
    check.refresh_from_db()
    assert check.done_date is None
    today = {**body, "done_date": timezone.localdate().isoformat()}
    assert client.post(check.get_absolute_url(), today).status_code == 302
