"""People and accounts as an organisation's administrator and its staff handle them: an account created with an
initial password and given a role (one the administrator does not hold is refused), a role removed, a change
found again in the audit log, notifications read, a password changed, and an API token shown once then revoked."""

import re

import pytest
from playwright.sync_api import expect

from attt.core.models import ApiToken, Notification, Role, RoleAssignment, User
from attt.core.services.notifications import notify
from attt.core.testing import PASSWORD, filter_list, make_user, rows
from attt.core.testing import save_page_form as save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NEW_PASSWORD = "Bảo-mật-thông-tin-2026"


@pytest.fixture
def admin(tree):
    return make_user(tree.province_a, "org_admin", username="admin-core-a")


def test_create_an_account_and_grant_it_a_role(page, live_server, login, admin, tree):
    login(page, live_server, admin.username)
    page.goto("/core/users/")
    expect(page.locator("main h1")).to_have_text("Người dùng")
    with page.expect_navigation():
        page.locator("main a[href='/core/users/add/']").click()
    expect(page.locator("main h1")).to_have_text("Thêm mới người dùng")
    page.fill("#id_username", "can-bo-so-a")
    page.fill("#id_last_name", "Trần")
    page.fill("#id_first_name", "Thị Bình")
    page.fill("#id_email", "binh@example.invalid")
    page.select_option("#id_organization", str(tree.dept_a.pk))
    page.fill("#id_job_title", "Chuyên viên")
    page.fill("#id_password", NEW_PASSWORD)
    save(page)
    person = User.objects.get(username="can-bo-so-a")
    assert page.url.endswith(f"/core/users/{person.pk}/")
    expect(page.locator("main h1")).to_have_text("Trần Thị Bình")

    page.goto("/core/users/?q=binh")
    expect(rows(page)).to_have_count(1)
    expect(page.locator("main table tbody")).to_contain_text("Chuyên viên")

    page.goto(f"/core/users/{person.pk}/")
    with page.expect_navigation():
        page.locator(f"main a[href='/core/role-assignments/add/?user={person.pk}']").click()
    expect(page.locator("main h1")).to_have_text("Thêm mới phân quyền")
    expect(page.locator("#id_user")).to_have_value(str(person.pk))
    page.select_option("#id_organization", str(tree.dept_a.pk))
    # A security officer may add records everywhere: more than an administrator holds, so it is refused.
    page.select_option("#id_role", str(Role.objects.get(code="security_officer").pk))
    save(page)
    expect(page.locator("main .alert-danger")).to_contain_text("không thể")
    assert not RoleAssignment.objects.filter(user=person).exists()
    page.select_option("#id_role", str(Role.objects.get(code="leader").pk))
    save(page)
    assert page.url.endswith(f"/core/users/{person.pk}/")
    expect(page.locator("main .list-group")).to_contain_text("Sở A")
    page.goto("/core/role-assignments/?q=can-bo-so-a")
    expect(rows(page)).to_have_count(1)
    expect(page.locator("main table tbody")).to_contain_text("Sở A")

    # The person logs in with the initial password and finds the role on their profile.
    page.context.clear_cookies()
    login(page, live_server, "can-bo-so-a", NEW_PASSWORD)
    expect(page.get_by_test_id("user-menu")).to_contain_text("can-bo-so-a")
    page.goto("/profile/")
    expect(page.locator("main section[aria-labelledby=p-account]")).to_contain_text("Sở A")


def test_remove_a_role(page, live_server, login, admin, tree):
    person = make_user(tree.dept_a, "leader", username="lanh-dao-so-a")
    login(page, live_server, admin.username)
    page.goto(f"/core/users/{person.pk}/")
    roles = page.locator("main .list-group")
    expect(roles).to_contain_text("Sở A")
    with page.expect_navigation():
        roles.get_by_role("link", name="Gỡ bỏ").click()
    expect(page.locator("main h1")).to_contain_text("lanh-dao-so-a")
    save(page)
    expect(page.locator("main .alert-success")).to_be_visible()
    assert not RoleAssignment.objects.filter(user=person).exists()
    page.goto(f"/core/users/{person.pk}/")
    expect(page.locator("main .list-group")).not_to_contain_text("Sở A")


def test_role_assignments_filtered_by_user_name(page, live_server, login, admin, tree):
    make_user(tree.dept_a, "leader", username="lanh-dao-loc")
    login(page, live_server, admin.username)
    page.goto("/core/role-assignments/")
    expect(rows(page)).to_have_count(2)  # the administrator's own and the leader's
    filter_list(page, user="lanh-dao-loc")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("lanh-dao-loc")


def test_a_change_is_found_in_the_audit_log(page, live_server, login, admin, tree):
    person = make_user(tree.dept_a, username="chuyen-vien-so-a", job_title="Chuyên viên")
    login(page, live_server, admin.username)
    page.goto(f"/core/users/{person.pk}/edit/")
    page.fill("#id_job_title", "Trưởng phòng")
    save(page)

    page.goto("/core/audit/")
    expect(page.locator("main h1")).to_have_text("Sự kiện kiểm toán")
    filter_list(page, actor=admin.username, object_type="core.user")
    expect(rows(page).filter(has_text="chuyen-vien-so-a")).to_have_count(1)
    assert all(admin.username in text for text in rows(page).all_inner_texts())
    with page.expect_navigation():
        rows(page).filter(has_text="chuyen-vien-so-a").get_by_role("link").click()
    assert re.search(r"/core/audit/\d+/$", page.url)
    expect(page.locator("main h2", has_text="Thay đổi")).to_be_visible()
    change = page.locator("main table").last.locator("tbody tr", has_text="job_title")
    expect(change).to_contain_text("Chuyên viên")
    expect(change).to_contain_text("Trưởng phòng")


def test_notifications_counted_listed_and_marked_read(page, live_server, login, admin, tree):
    notify([admin], title="Báo cáo tháng 10 của Sở A đã gửi", link="/compliance/reports/", email=False)
    notify([admin], title="Phát hiện mới cần khắc phục", level=Notification.Level.WARNING, email=False)
    login(page, live_server, admin.username)
    badge = page.locator("#notification-badge")
    expect(badge).to_contain_text("2")
    with page.expect_navigation():
        page.locator("header a[href='/core/notifications/']").click()
    expect(page.locator("main h1")).to_have_text("Thông báo")
    items = page.locator("main .list-group-item")
    expect(items).to_have_count(2)
    expect(items.get_by_role("link", name="Báo cáo tháng 10 của Sở A đã gửi")).to_have_attribute(
        "href", "/compliance/reports/"
    )
    expect(items.filter(has_text="Phát hiện mới")).to_have_class(re.compile(r"list-group-item-warning"))

    save(page)  # "Đánh dấu tất cả là đã đọc"
    expect(badge).to_have_text("")
    expect(page.locator("main .list-group-item-warning")).to_have_count(0)
    assert not Notification.objects.filter(recipient=admin, read_at=None).exists()


def test_change_password(page, live_server, login, tree):
    person = make_user(tree.dept_a, "system_owner", username="doi-mat-khau")
    login(page, live_server, person.username)
    page.goto("/profile/")
    with page.expect_navigation():
        page.locator("main a[href='/profile/password/']").click()
    expect(page.locator("main h1")).to_have_text("Đổi mật khẩu")
    page.fill("#id_old_password", "not-the-password")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    save(page)
    expect(page.locator("#id_old_password")).to_have_class(re.compile(r"\bis-invalid\b"))

    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    save(page)
    assert page.url.endswith("/profile/")
    expect(page.locator("main .alert-success")).to_be_visible()

    page.context.clear_cookies()
    login(page, live_server, person.username, PASSWORD)  # the old one
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
    login(page, live_server, person.username, NEW_PASSWORD)
    expect(page.get_by_test_id("user-menu")).to_contain_text(person.username)


def test_api_token_shown_once_then_revoked(page, live_server, login, tree):
    person = make_user(tree.dept_a, "system_owner", username="tich-hop-api")
    login(page, live_server, person.username)
    page.goto("/profile/")
    tokens = page.locator("main section[aria-labelledby=p-tokens]")
    expect(tokens.locator("h2")).to_have_text("Mã truy cập API")
    tokens.locator("#token-name").fill("Đồng bộ danh mục hệ thống")
    tokens.locator("#token-days").fill("30")
    tokens.locator("#token-password").fill(PASSWORD)
    with page.expect_navigation():
        tokens.locator("form[action='/profile/tokens/'] button[type=submit]").click()
    key = page.get_by_test_id("new-token").inner_text().strip()
    assert ApiToken.objects.get(user=person).name == "Đồng bộ danh mục hệ thống"
    bearer = {"Authorization": f"Bearer {key}"}
    api = page.context.request
    page.context.clear_cookies()  # the API call stands on the token alone
    me = api.get("/api/v1/me/", headers=bearer)
    assert me.status == 200 and me.json()["user"]["username"] == person.username

    login(page, live_server, person.username)
    page.goto("/profile/")
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    assert key not in page.content()
    row = tokens.locator("tbody tr", has_text="Đồng bộ danh mục hệ thống")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    expect(tokens.locator("tbody tr", has_text="Đồng bộ danh mục hệ thống")).to_have_count(0)
    assert api.get("/api/v1/me/", headers=bearer).status == 401
