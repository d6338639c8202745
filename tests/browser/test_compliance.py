"""Level-based security as its users work it: the questionnaire, the checklist, and a dossier's path
from draft to approval with the security unit appraising and the owner's leadership approving."""

import pytest
from playwright.sync_api import expect

from attt.compliance.models import ChecklistItem, DossierState, LevelDossier
from attt.core.testing import PASSWORD, make_user
from attt.registry.tests.factories import make_system

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def system(tree):
    return make_system(
        tree.dept_a,
        name="Cổng dịch vụ công tỉnh A",
        regime="ND331_2026",
        system_type="citizen_service",
        resolves_administrative_procedures=True,
    )


@pytest.fixture
def officer(tree):
    return make_user(tree.province_a, "security_officer", username="officer-a")


@pytest.fixture
def owner(tree):
    return make_user(tree.province_a, "org_admin", username="owner-a")


def log_out(page):
    page.get_by_test_id("user-menu").click()
    with page.expect_navigation():
        page.locator(".dropdown-menu form[action='/logout/'] button[type=submit]").click()


def test_questionnaire_then_dossier_from_draft_to_approval(page, live_server, login, system, officer, owner):
    login(page, live_server, officer.username, PASSWORD)
    page.goto(f"/compliance/systems/{system.pk}/assess/")
    expect(page.locator("#id_resolves_administrative_procedures")).to_be_checked()
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    expect(page.get_by_test_id("assessed-level")).to_contain_text("3")

    with page.expect_navigation():
        page.locator("form[action$='/propose/'] button[type=submit]").click()
    page.fill("#id_summary", "Cổng cung cấp dịch vụ công trực tuyến của tỉnh A.")
    page.fill("#id_protection_plan", "Phương án bảo đảm an toàn theo cấp độ 3.")
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    dossier = LevelDossier.objects.get(system=system)
    for step, comment in [("submit", None), ("accept", None), ("appraise", "Phù hợp cấp độ 3")]:
        form = page.get_by_test_id(f"step-{step}")
        if comment:
            form.locator("textarea").fill(comment)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("step-approve")).to_have_count(0)  # the officer cannot approve
    log_out(page)

    login(page, live_server, owner.username, PASSWORD)
    page.goto(f"/compliance/dossiers/{dossier.pk}/")
    approve = page.get_by_test_id("step-approve")
    approve.locator("#dn").fill("15/QĐ-UBND")
    approve.locator("#dd").fill("2026-10-01")
    approve.locator("#ab").fill("Chủ tịch UBND tỉnh A")
    with page.expect_navigation():
        approve.locator("button[type=submit]").click()
    dossier.refresh_from_db()
    assert dossier.state == DossierState.APPROVED and dossier.decision_number == "15/QĐ-UBND"
    page.goto(f"/compliance/systems/{system.pk}/")
    expect(page.get_by_test_id("approved-level")).to_have_text("3")


def test_checklist_item_is_updated_in_place(page, live_server, login, system, officer):
    from attt.compliance import services

    services.sync_checklist(system, "ND331_2026", 3)
    item = ChecklistItem.objects.filter(system=system).order_by("requirement").first()
    login(page, live_server, officer.username, PASSWORD)
    page.goto(f"/compliance/systems/{system.pk}/checklist/")
    row = page.locator(f"#req-{item.pk}")
    row.locator("select").select_option("met")
    row.locator("button[type=submit]").click()
    expect(page.locator(f"#req-{item.pk} .badge.text-bg-success")).to_be_visible()
    assert page.url.endswith("/checklist/")  # swapped in place by HTMX, no navigation
    item.refresh_from_db()
    assert item.status == "met"
    page.reload()
    expect(page.get_by_test_id("checklist-percent")).not_to_have_text("0.0%")
