"""The shell with script turned off (and, as a check, on): a way to the profile and out, every tab of a regime
page on screen, the dashboard's figures, and the menu on a phone. app.js marks <html> with `js`; app.css shows
the fallbacks only while the mark is missing."""

import re

import pytest
from playwright.sync_api import expect

from attt.core.testing import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def no_script(open_page):
    return open_page(java_script_enabled=False)


@pytest.fixture
def analyst(tree):
    return make_user(tree.province_a, "soc_analyst", username="analyst-noscript")


def test_profile_and_log_out_without_script(no_script, live_server, login, analyst):
    page = no_script
    login(page, live_server, analyst.username)
    expect(page.locator("html")).not_to_have_class(re.compile(r"\bjs\b"))
    expect(page.get_by_test_id("user-menu")).to_be_hidden()
    link = page.get_by_test_id("profile-link")
    expect(link).to_be_visible()
    with page.expect_navigation():
        link.click()
    expect(page).to_have_url(live_server.url + "/profile/")
    with page.expect_navigation():
        page.get_by_test_id("profile-logout").click()
    expect(page).to_have_url(live_server.url + "/login/")
    page.goto(live_server.url + "/profile/")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/login/\?next=/profile/$"))


def test_with_script_the_user_menu_is_the_way(page, live_server, login, analyst):
    login(page, live_server, analyst.username)
    expect(page.locator("html")).to_have_class(re.compile(r"\bjs\b"))
    expect(page.get_by_test_id("profile-link")).to_be_hidden()
    expect(page.get_by_test_id("user-menu")).to_be_visible()
    page.goto(live_server.url + "/regulation/ND331_2026/")
    expect(page.locator("#pane-criteria")).to_be_visible()
    expect(page.locator("#pane-procedure")).to_be_hidden()  # the tabs switch panes
    expect(page.locator("#tab-procedure")).to_be_visible()


def test_regime_tabs_all_on_screen_without_script(no_script, live_server, login, analyst):
    page = no_script
    login(page, live_server, analyst.username)
    page.goto(live_server.url + "/regulation/ND331_2026/")
    for pane in ["criteria", "requirements", "level-1", "level-3", "level-5", "procedure", "checks", "sources"]:
        expect(page.locator(f"#pane-{pane}")).to_be_visible()
    expect(page.locator("#tab-procedure")).to_be_hidden()  # buttons that would do nothing
    expect(page.locator("#pane-procedure h2.nojs-only")).to_be_visible()


def test_dashboard_figures_without_script(no_script, live_server, login, analyst):
    page = no_script
    login(page, live_server, analyst.username)
    page.goto(live_server.url + "/detection/")
    expect(page.get_by_test_id("monitoring-live-stats")).to_be_visible()
    expect(page.get_by_test_id("detection-live")).to_be_visible()


def test_phone_menu_without_script(open_page, live_server, login, analyst):
    page = open_page(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    login(page, live_server, analyst.username)
    expect(page.locator("header button[aria-controls=sidebar]")).to_be_hidden()
    link = page.locator("#sidebar a[href='/detection/']")
    expect(link).to_be_visible()
    with page.expect_navigation():
        link.click()
    expect(page).to_have_url(live_server.url + "/detection/")
