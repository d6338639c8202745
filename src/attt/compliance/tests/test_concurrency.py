"""Steps and edits on a stale copy (what a page or a request loaded before another person or a job acted): each
works on what is stored, a step the row has left is refused as a wrong step is, and no field another writer
changed is lost."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from attt.compliance import reports, services
from attt.compliance.api.dossiers import ChecklistItemSerializer
from attt.compliance.models import ChecklistItem, ChecklistStatus, DossierState, LevelDossier, PeriodicCheck
from attt.compliance.tests.test_workflow import LEVEL3, new
from attt.compliance.tests.test_workflow import people as people
from attt.compliance.views.dossiers import DossierEditView
from attt.core.locks import version_of
from attt.core.testing import read_meanwhile, stored_copy
from attt.core.views.generic import CONFLICT_MESSAGE
from attt.registry.tests.factories import make_system

pytestmark = pytest.mark.django_db


def test_a_step_from_a_stale_page_gets_the_wrong_step_refusal(tree, people):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    stale = stored_copy(dossier)
    services.transition(dossier, "submit", by=people["operator"])
    with pytest.raises(ValidationError) as refused:
        services.transition(stale, "submit", by=people["operator"])
    with pytest.raises(ValidationError) as wrong_step:
        services.transition(stored_copy(dossier), "submit", by=people["operator"])
    assert refused.value.messages == wrong_step.value.messages
    assert stale.state == DossierState.SUBMITTED  # the caller's object shows what is stored


def _edit_page(client, people, dossier):
    client.force_login(people["operator"])
    data = {"title": "Tên mới", "kind": dossier.kind, "summary": "S", "justification": "J", "protection_plan": "P"}
    return client.post(f"/compliance/dossiers/{dossier.pk}/edit/", data)


def test_an_edit_loaded_before_a_submit_does_not_pull_the_dossier_back_to_draft(tree, people, client, monkeypatch):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    read_meanwhile(
        monkeypatch, lambda: services.transition(stored_copy(dossier), "submit", by=people["operator"]), DossierEditView
    )
    assert _edit_page(client, people, dossier).status_code == 403  # as the edit page refuses a submitted dossier
    # (the refused request's rollback also takes back the submit, which here ran inside it)
    assert stored_copy(dossier).title != "Tên mới"


def test_an_edit_saves_only_its_fields(tree, people, client, monkeypatch):
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    read_meanwhile(
        monkeypatch,
        lambda: LevelDossier.objects.filter(pk=dossier.pk).update(appraisal_opinion="ghi bởi bước khác"),
        DossierEditView,
    )
    assert _edit_page(client, people, dossier).status_code == 302
    stored = stored_copy(dossier)
    assert (stored.title, stored.appraisal_opinion) == ("Tên mới", "ghi bởi bước khác")


def _vuln_item(system) -> ChecklistItem:
    services.sync_checklist(system, "ND331_2026", 3)
    services.record_requirement_statuses("vulnerability_management", {system.pk: ("met", "Không có cảnh báo mở")})
    return ChecklistItem.objects.get(system=system, status=ChecklistStatus.MET)


def test_the_nightly_job_keeps_a_not_applicable_marked_while_it_ran(tree):
    """The job reads the items, then writes; a person marks one not applicable in between: the mark stays."""
    system = make_system(tree.province_a, regime="ND331_2026")
    item = _vuln_item(system)

    class PersonActsMeanwhile(dict):
        acted = False

        def __getitem__(self, key):
            if not self.acted:
                self.acted = True
                services.update_item(stored_copy(item), status="not_applicable", reason="Hệ thống đóng, không có mạng")
            return super().__getitem__(key)

    services.record_requirement_statuses(
        "vulnerability_management", PersonActsMeanwhile({system.pk: ("not_met", "3 cảnh báo")})
    )
    stored = stored_copy(item)
    assert (stored.status, stored.reason) == ("not_applicable", "Hệ thống đóng, không có mạng")


def test_an_api_edit_of_one_field_keeps_the_status_the_job_wrote_meanwhile(tree):
    system = make_system(tree.province_a, regime="ND331_2026")
    item = _vuln_item(system)
    loaded = stored_copy(item)  # what the PATCH request read
    job_wrote = {system.pk: ("not_met", "2 cảnh báo nghiêm trọng")}
    services.record_requirement_statuses("vulnerability_management", job_wrote)
    serializer = ChecklistItemSerializer(
        loaded, data={"responsible": "Phòng CNTT", "due_date": "2027-01-31"}, partial=True
    )
    assert serializer.is_valid(), serializer.errors
    serializer.save()
    stored = stored_copy(item)
    assert (stored.status, stored.reason, stored.responsible) == ("not_met", "2 cảnh báo nghiêm trọng", "Phòng CNTT")


def test_a_check_recorded_from_a_stale_page_is_refused_and_not_planned_twice(tree):
    system = make_system(tree.province_a, regime="ND331_2026")
    check = PeriodicCheck.objects.create(
        organization=tree.province_a, system=system, regime="ND331_2026", due_date=datetime.date(2026, 12, 1)
    )
    stale = stored_copy(check)
    services.complete_check(check, done=datetime.date(2026, 11, 20), performer="Đội A", result="Đạt")
    with pytest.raises(PermissionDenied):
        services.complete_check(stale, done=datetime.date(2026, 11, 21), performer="Đội B", result="Khác")
    assert PeriodicCheck.objects.filter(system=system, done_date__isnull=True).count() == 1
    assert stored_copy(check).performer == "Đội A"


def test_two_generations_of_a_new_report_at_once_give_one_draft(tree, monkeypatch):
    """The second generation of a period finds no report, then the first stores it: a refresh, not a 500."""
    real = reports.build_figures

    def first_generation_meanwhile(organization, period, **kwargs):
        reports.StatusReport.objects.get_or_create(
            organization=organization,
            kind="monthly",
            period_end=period.end,
            defaults={"regime": period.regime, "period_start": period.start, "due_date": period.end},
        )
        return real(organization, period, **kwargs)

    monkeypatch.setattr(reports, "build_figures", first_generation_meanwhile)
    report = reports.generate(tree.province_a, "monthly", year=2026, month=10)
    assert reports.StatusReport.objects.filter(organization=tree.province_a, kind="monthly").count() == 1
    assert report.data  # the figures of the second generation


def test_an_api_dossier_edit_for_a_version_read_before_another_save_is_refused(tree, people, api):
    """The dossier API checks If-Match too, though its edits go through their own rules."""
    dossier = new(tree, people, "ND331_2026", **LEVEL3)
    api.force_authenticate(people["operator"])
    url = f"/api/v1/compliance/dossiers/{dossier.pk}/"
    read = api.get(url)["ETag"]
    other = stored_copy(dossier)
    other.summary = "Người khác viết"
    other.save()
    refused = api.patch(url, {"summary": "Tôi viết"}, format="json", HTTP_IF_MATCH=read)
    assert refused.status_code == 412 and stored_copy(dossier).summary == "Người khác viết"
    accepted = api.patch(url, {"summary": "Tôi viết"}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"])
    assert accepted.status_code == 200 and stored_copy(dossier).summary == "Tôi viết"


def test_a_checklist_row_saved_from_a_page_older_than_the_nightly_job_is_refused_then_saved(tree, client):
    """The checklist row sends back the item's version: the nightly job changed the status after the page was
    opened, so the person's save (made against the old status) is refused with a sentence, and the row returned
    carries the new version so that saving again is deliberate."""
    from attt.core.locks import VERSION_FIELD, version_of
    from attt.core.testing import make_user

    system = make_system(tree.province_a, regime="ND331_2026")
    item = _vuln_item(system)
    shown = version_of(item)
    services.record_requirement_statuses("vulnerability_management", {system.pk: ("not_met", "3 cảnh báo quá hạn")})
    client.force_login(make_user(tree.province_a, "security_officer", username="officer-row"))
    prefix = str(item.pk)
    mine = {f"{prefix}-status": "met", f"{prefix}-reason": "Đã vá", f"{prefix}-remediation": "", VERSION_FIELD: shown}
    url = f"/compliance/checklist-items/{item.pk}/"
    refused = client.post(url, mine, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and refused.context["error"] == str(CONFLICT_MESSAGE)
    assert stored_copy(item).status == "not_met"
    mine[VERSION_FIELD] = version_of(stored_copy(item))
    assert f'value="{mine[VERSION_FIELD]}"' in refused.content.decode()
    assert client.post(url, mine, HTTP_HX_REQUEST="true").context["error"] == ""
    assert (stored_copy(item).status, stored_copy(item).reason) == ("met", "Đã vá")


def test_a_layers_page_older_than_someone_elses_save_is_refused_then_saved(tree, client):
    from attt.core.locks import VERSION_FIELD
    from attt.core.testing import make_user, shown_version

    system = make_system(tree.province_a, regime="ND331_2026")
    client.force_login(make_user(tree.province_a, "security_officer", username="officer-layers"))
    url = f"/compliance/systems/{system.pk}/layers/"
    shown = shown_version(client.get(url))
    other = services.layers_of(system)
    other.onsite_staff_names = "Người khác ghi"
    other.save()
    mine = {"onsite_staff": 1, "onsite_staff_names": "Tôi ghi", VERSION_FIELD: shown}
    refused = client.post(url, mine)
    assert refused.status_code == 200 and refused.context["form"].errors == {"__all__": [str(CONFLICT_MESSAGE)]}
    assert services.layers_of(system).onsite_staff_names == "Người khác ghi"
    mine[VERSION_FIELD] = shown_version(refused)
    assert client.post(url, mine).status_code == 302
    assert services.layers_of(system).onsite_staff_names == "Tôi ghi"


def test_a_checklist_row_saved_twice_in_a_row_is_not_a_conflict_with_itself(tree, client):
    """The row a save sends back carries the version that save stored, so the person's next save from it goes
    through."""
    from attt.core.locks import VERSION_FIELD
    from attt.core.testing import make_user, shown_version

    system = make_system(tree.province_a, regime="ND331_2026")
    item = _vuln_item(system)
    client.force_login(make_user(tree.province_a, "security_officer", username="officer-twice"))
    prefix, url = str(item.pk), f"/compliance/checklist-items/{item.pk}/"
    mine = {f"{prefix}-status": "met", f"{prefix}-reason": "Đã vá", f"{prefix}-remediation": ""}
    first = client.post(url, {**mine, VERSION_FIELD: version_of(item)}, HTTP_HX_REQUEST="true")
    assert first.context["error"] == "" and shown_version(first) == version_of(stored_copy(item))
    second = client.post(url, {**mine, f"{prefix}-reason": "Đã vá, kiểm tra lại", VERSION_FIELD: shown_version(first)})
    assert second.status_code == 302 and stored_copy(item).reason == "Đã vá, kiểm tra lại"
