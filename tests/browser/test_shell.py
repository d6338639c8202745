"""The UI shell as a person uses it: log-in, language, organisation tree, audit, log-out, 2FA, keyboard, phone.

Translations are written in parallel, so the assertions lean on URLs, ids, test ids and data rather
than on translated words.
"""

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from attt.core.models import AuditEvent, Organization
from attt.core.testing import PASSWORD, make_user

# The live server needs committed data, hence a transactional database. serialized_rollback makes each
# test start from the data migrations left and, above all, end with an empty database: a plain flush
# would re-run post_migrate and re-create the built-in roles under new ids, which breaks the next
# serialized_rollback test of the same worker (UNIQUE constraint failed: core_role.code).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def url_re(live_server, path: str) -> re.Pattern:
    """The page's full URL is exactly `path` on the live server (no query string)."""
    return re.compile("^" + re.escape(live_server.url + path) + "$")


@pytest.fixture
def province_admin(tree):
    """Administrator of Tỉnh A: sees Tỉnh A, Sở A and Trung tâm A, nothing of Tỉnh B."""
    return make_user(tree.province_a, "org_admin", username="admin-tinh-a")


def log_out(page):
    page.get_by_test_id("user-menu").click()
    logout_button = page.locator(".dropdown-menu form[action='/logout/'] button[type=submit]")
    expect(logout_button).to_be_visible()
    with page.expect_navigation():
        logout_button.click()


def test_login_lands_on_dashboard(page, live_server, login, province_admin, tmp_path):
    problems = []

    def on_console(message):
        # A failed download is reported by the response handler (which can leave out the favicon).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console: {message.text}")

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)

    login(page, live_server, province_admin.username, PASSWORD)

    expect(page).to_have_url(url_re(live_server, "/"))
    expect(page.locator("main h1")).to_have_text(re.compile(r"^\s*(Bảng điều khiển|Dashboard)\s*$"))
    # Tỉnh A, Sở A and Trung tâm A: the subtree, not the 7 organisations of the whole tree.
    expect(page.get_by_test_id("organization-count")).to_have_text("3")
    expect(page.get_by_test_id("user-menu")).to_contain_text(province_admin.username)
    # Static files are served and applied: Bootstrap lays the top bar out as a flex row.
    assert page.locator("header.navbar").evaluate("e => getComputedStyle(e).display") == "flex"
    # On a wide screen the sidebar is always shown and the menu toggler is not.
    expect(page.locator("button[aria-controls=sidebar]")).to_be_hidden()
    expect(page.locator("#sidebar a[href='/core/organizations/']")).to_be_visible()

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000
    # No missing file, no script refused by the Content-Security-Policy.
    assert problems == []


def test_wrong_password_shows_error_and_stays_on_login(page, live_server, login, province_admin):
    login(page, live_server, province_admin.username, "not-the-password")

    expect(page).to_have_url(url_re(live_server, "/login/"))
    expect(page.locator("main .alert-danger[role=alert]")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
    expect(page.locator("#id_username")).to_have_value(province_admin.username)
    # Still anonymous: the dashboard sends the visitor back to the log-in page.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/login/\?next=/$"))
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED, actor_name=province_admin.username).count()
        == 1
    )


def test_switch_language_and_back(page, live_server, login, province_admin):
    login(page, live_server, province_admin.username, PASSWORD)
    html = page.locator("html")
    select = page.locator("#language-select")
    expect(html).to_have_attribute("lang", "vi")
    expect(select).to_have_value("vi")

    # app.js submits the form as soon as the choice changes.
    with page.expect_navigation():
        select.select_option("en")
    expect(page).to_have_url(url_re(live_server, "/"))
    expect(html).to_have_attribute("lang", "en")
    expect(select).to_have_value("en")
    expect(page.get_by_test_id("organization-count")).to_have_text("3")

    # The choice sticks on the next page.
    page.goto(live_server.url + "/core/organizations/")
    expect(html).to_have_attribute("lang", "en")

    with page.expect_navigation():
        select.select_option("vi")
    expect(page).to_have_url(url_re(live_server, "/core/organizations/"))
    expect(html).to_have_attribute("lang", "vi")
    expect(select).to_have_value("vi")


def test_organisation_list_shows_only_own_subtree(page, live_server, login, province_admin, tree):
    login(page, live_server, province_admin.username, PASSWORD)
    page.goto(live_server.url + "/core/organizations/")

    table = page.locator("main table tbody")
    expect(table.get_by_role("link", name="Tỉnh A", exact=True)).to_be_visible()
    expect(table.get_by_role("link", name="Sở A", exact=True)).to_be_visible()
    expect(table.locator("tr")).to_have_count(3)
    # Neither in the table nor anywhere else on the page (filter choices included).
    assert "Tỉnh B" not in page.content()
    assert "Sở B" not in page.content()

    response = page.goto(f"{live_server.url}/core/organizations/{tree.province_b.pk}/")
    assert response.status == 404
    expect(page.locator("main a[href='/']")).to_be_visible()  # the 404 page's way back
    assert "Tỉnh B" not in page.content()

    # Its own province's page opens.
    response = page.goto(f"{live_server.url}/core/organizations/{tree.province_a.pk}/")
    assert response.status == 200
    expect(page.locator("main h1")).to_contain_text("Tỉnh A")


def test_create_organisation_through_form(page, live_server, login, province_admin, tree):
    login(page, live_server, province_admin.username, PASSWORD)
    page.goto(f"{live_server.url}/core/organizations/add/?parent={tree.dept_a.pk}")

    expect(page.locator("#id_parent")).to_have_value(str(tree.dept_a.pk))
    # Only the administrator's subtree is offered as parent.
    assert page.locator(f"#id_parent option[value='{tree.province_b.pk}']").count() == 0
    page.fill("#id_code", "phong-thu-nghiem")
    page.fill("#id_name", "Phòng Thử Nghiệm")
    page.select_option("#id_kind", "unit")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    created = Organization.objects.get(code="phong-thu-nghiem")
    assert created.parent_id == tree.dept_a.pk
    expect(page).to_have_url(url_re(live_server, f"/core/organizations/{created.pk}/"))
    expect(page.locator("main .alert-success")).to_be_visible()

    page.goto(live_server.url + "/core/organizations/")
    expect(page.locator("main table tbody").get_by_role("link", name="Phòng Thử Nghiệm")).to_have_attribute(
        "href", f"/core/organizations/{created.pk}/"
    )

    page.goto(live_server.url + "/core/audit/")
    row = (
        page.locator("main table tbody tr").filter(has_text="Phòng Thử Nghiệm").filter(has_text=province_admin.username)
    )
    expect(row.first).to_be_visible()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CREATE, object_id=str(created.pk), actor=province_admin
    ).exists()


def test_logout_through_user_menu(page, live_server, login, province_admin):
    login(page, live_server, province_admin.username, PASSWORD)
    menu = page.get_by_test_id("user-menu")
    expect(menu).to_have_attribute("aria-expanded", "false")

    log_out(page)

    expect(page).to_have_url(url_re(live_server, "/login/"))
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/login/\?next=/$"))
    expect(page.locator("#id_username")).to_be_visible()


def test_two_step_verification(page, live_server, login, province_admin):
    login(page, live_server, province_admin.username, PASSWORD)
    page.goto(live_server.url + "/profile/2fa/")
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)

    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.fill("#id_password", PASSWORD)  # asked again: a session left open cannot enrol an authenticator
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(url_re(live_server, "/profile/"))
    province_admin.refresh_from_db()
    assert province_admin.totp_secret == secret

    log_out(page)
    login(page, live_server, province_admin.username, PASSWORD)

    # The password alone is not enough any more.
    expect(page).to_have_url(url_re(live_server, "/login/verify/"))
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/login/\?next=/$"))
    login(page, live_server, province_admin.username, PASSWORD)
    expect(page).to_have_url(url_re(live_server, "/login/verify/"))

    # A wrong code is refused...
    page.fill("#id_code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(url_re(live_server, "/login/verify/"))
    expect(page.locator("#id_code")).to_have_attribute("aria-invalid", "true")

    # ...the right one lets the person in.
    # The code used to turn 2FA on cannot be replayed: log in with the next window's code.
    page.fill("#id_code", pyotp.TOTP(secret).at(time.time() + 30))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(url_re(live_server, "/"))
    expect(page.get_by_test_id("organization-count")).to_have_text("3")


def test_first_tab_focuses_skip_link(page, live_server, login, province_admin):
    login(page, live_server, province_admin.username, PASSWORD)
    expect(page).to_have_url(url_re(live_server, "/"))
    skip = page.locator("a.skip-link")
    expect(skip).not_to_be_in_viewport()  # hidden until focused

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_have_attribute("href", "#main")
    expect(skip).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page).to_have_url(url_re(live_server, "/#main"))
    expect(page.locator("main#main")).to_be_focused()


def test_phone_menu_toggler_opens_sidebar(page, live_server, login, province_admin):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, province_admin.username, PASSWORD)

    link = page.locator("#sidebar a[href='/core/organizations/']")
    expect(link).to_be_hidden()
    toggler = page.locator("header button[aria-controls=sidebar]")
    expect(toggler).to_be_visible()

    toggler.click()
    expect(page.locator("#sidebar")).to_have_class(re.compile(r"\bshow\b"))
    expect(link).to_be_visible()
    expect(link).to_be_in_viewport()
    with page.expect_navigation():
        link.click()
    expect(page).to_have_url(url_re(live_server, "/core/organizations/"))
