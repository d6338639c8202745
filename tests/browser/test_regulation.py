"""The legal regimes as an officer reads them: the list with the regime in force, a regime's criteria and its
requirement catalogue per level behind tabs, and the level calculator answering with the deciding criterion."""

import re

import pytest
from playwright.sync_api import expect

from attt.core.testing import make_user, rows
from attt.core.testing import save_page_form as assess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def officer(tree):
    return make_user(tree.province_a, "security_officer", username="officer-regulation-a")


def test_regime_list_then_criteria_and_requirements_tabs(page, live_server, login, officer):
    login(page, live_server, officer.username)
    page.goto("/regulation/")
    expect(page.locator("main h1")).to_have_text("Chế độ pháp lý")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).filter(has_text="ND331_2026")).to_contain_text("đang có hiệu lực")
    expect(rows(page).filter(has_text="ND85_2016")).not_to_contain_text("đang có hiệu lực")
    # The list's count of level-3 requirements is the one the regime's page shows for level 3.
    counts = rows(page).filter(has_text="ND85_2016").locator("td").last.inner_text()
    level_3 = re.findall(r"\d+", counts)[2]

    with page.expect_navigation():
        page.locator("main a[href='/regulation/ND85_2016/']").click()
    expect(page.locator("main h1")).to_contain_text("Nghị định 85/2016")
    criteria, requirements = page.locator("#pane-criteria"), page.locator("#pane-requirements")
    expect(criteria).to_be_visible()
    expect(criteria).to_contain_text("ND85-9.2.a")
    expect(requirements).to_be_hidden()

    page.locator("#tab-requirements").click()
    expect(requirements).to_be_visible()
    expect(criteria).to_be_hidden()
    expect(page.locator("#tab-requirements")).to_have_attribute("aria-selected", "true")
    page.locator("#tab-level-3").click()
    expect(page.locator("#tab-level-3 .badge")).to_have_text(level_3)
    expect(page.locator("#pane-level-3")).to_be_visible()
    expect(page.locator("#pane-level-3")).to_contain_text(f"{level_3} yêu cầu")
    expect(page.locator("#pane-level-1")).to_be_hidden()


def test_calculator_gives_level_3_for_a_system_resolving_procedures(page, live_server, login, officer):
    login(page, live_server, officer.username)
    page.goto("/regulation/")
    with page.expect_navigation():
        page.locator("main a[href='/regulation/assess/']").click()
    expect(page.locator("main h1")).to_have_text("Tính cấp độ")
    expect(page.get_by_test_id("assessment-result")).to_have_count(0)

    page.select_option("#id_regime", "ND331_2026")
    page.select_option("#id_system_type", "citizen_service")
    page.check("#id_resolves_administrative_procedures")
    assess(page)
    result = page.get_by_test_id("assessment-result")
    expect(result.locator("h2")).to_contain_text("Cấp độ 3")
    expect(result).to_contain_text("ND331-13.2.b")
    # The answers stay in the form and in the address, so the result can be shared.
    expect(page.locator("#id_resolves_administrative_procedures")).to_be_checked()
    assert "resolves_administrative_procedures=on" in page.url

    # The same answers without the procedures fall back to a lower level.
    page.uncheck("#id_resolves_administrative_procedures")
    assess(page)
    expect(page.get_by_test_id("assessment-result").locator("h2")).not_to_contain_text("Cấp độ 3")
    expect(page.get_by_test_id("assessment-result")).not_to_contain_text("ND331-13.2.b")


def test_calculator_opened_from_a_regime_starts_clean(page, live_server, login, officer):
    login(page, live_server, officer.username)
    page.goto("/regulation/ND331_2026/")
    with page.expect_navigation():
        page.locator("main a[href='/regulation/assess/?regime=ND331_2026']").click()
    expect(page.locator("#id_regime")).to_have_value("ND331_2026")
    # Server-rendered: read at once rather than waiting for a change that cannot come.
    assert page.locator("main .invalid-feedback").count() == 0
    assert page.locator("#id_users_with_private_data").input_value() == "0"
    page.select_option("#id_system_type", "citizen_service")
    page.check("#id_resolves_administrative_procedures")
    assess(page)
    expect(page.get_by_test_id("assessment-result").locator("h2")).to_contain_text("Cấp độ 3")


def test_calculator_under_decree_85_and_a_bad_answer(page, live_server, login, officer):
    login(page, live_server, officer.username)
    page.goto("/regulation/assess/")
    page.select_option("#id_regime", "ND85_2016")
    page.select_option("#id_system_type", "citizen_service")
    page.fill("#id_online_public_service_level", "3")
    assess(page)
    result = page.get_by_test_id("assessment-result")
    expect(result.locator("h2")).to_contain_text("Cấp độ 3")
    expect(result).to_contain_text("ND85-9.2.a")

    page.fill("#id_online_public_service_level", "9")  # levels of online public service stop at 4
    assess(page)
    expect(page.get_by_test_id("assessment-result")).to_have_count(0)
    field = page.locator("#id_online_public_service_level")
    expect(field).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(field.locator("xpath=..").locator(".invalid-feedback")).to_be_visible()
