"""The registry as a system owner keeps it: a system entered through the form and found again with the search,
its servers, domains, networks, components and contacts added from its page, an inventory imported from a
spreadsheet (checked first, every bad row shown) and exported back; another province's user sees none of it."""

import io
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from attt.core.testing import fill, filter_list, make_user, rows
from attt.core.testing import save_page_form as save
from attt.registry.models import Component, InformationSystem, Server
from attt.registry.tests.factories import make_system

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def owner(tree):
    return make_user(tree.dept_a, "system_owner", username="owner-registry-a")


def test_create_a_system_then_find_it_with_the_search(page, live_server, login, owner, tree):
    make_system(tree.dept_a, name="Hệ thống thư điện tử công vụ")
    login(page, live_server, owner.username)
    page.goto("/registry/systems/")
    expect(page.locator("main h1")).to_have_text("Hệ thống thông tin")
    with page.expect_navigation():
        page.locator("main a[href='/registry/systems/add/']").click()
    page.select_option("#id_organization", str(tree.dept_a.pk))
    page.fill("#id_code", "cong-dvc")
    page.fill("#id_name", "Cổng dịch vụ công tỉnh A")
    page.fill("#id_user_count", "1200")
    page.select_option("#id_system_type", "citizen_service")
    save(page)

    system = InformationSystem.objects.get(code="cong-dvc")
    assert system.organization == tree.dept_a and system.user_count == 1200
    assert page.url.endswith(f"/registry/systems/{system.pk}/")
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(page.locator("main h1")).to_have_text("Cổng dịch vụ công tỉnh A")
    expect(page.get_by_test_id("level-facts")).to_contain_text('"system_type": "citizen_service"')

    page.goto("/registry/systems/")
    expect(rows(page)).to_have_count(2)
    filter_list(page, q="dịch vụ công")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_role("link")).to_have_text("Cổng dịch vụ công tỉnh A")


def test_records_of_a_system_added_from_its_page(page, live_server, login, owner, tree):
    system = make_system(tree.dept_a, name="Cổng thông tin điện tử tỉnh A")
    login(page, live_server, owner.username)
    records = [
        ("components", {"vendor": "Apache", "product": "HTTP Server", "version": "2.4.57",
                        "cpe23": "cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*"}, "HTTP Server"),
        ("servers", {"hostname": "web-01", "ip_address": "192.0.2.21", "role": "Máy chủ web"}, "web-01"),
        ("domains", {"name": "congthongtin.tinh-a.example.gov.vn"}, "congthongtin.tinh-a.example.gov.vn"),
        ("ip-ranges", {"cidr": "198.51.100.0/24", "description": "Vùng DMZ"}, "198.51.100.0/24"),
        ("contacts", {"role": "technical", "name": "Nguyễn Văn Quản Trị", "email": "qt@example.invalid"},
         "Nguyễn Văn Quản Trị"),
    ]  # fmt: skip
    page.goto(f"/registry/systems/{system.pk}/")
    for kind, fields, shown in records:
        with page.expect_navigation():
            page.locator(f"main a[href='/registry/{kind}/add/?system={system.pk}']").click()
        expect(page.locator("main h1")).to_contain_text("Thêm mới")
        expect(page.locator("#id_system")).to_have_value(str(system.pk))
        fill(page.locator("main form"), **fields)
        save(page)
        # Back on the system's page, the record is in its section (and the next one is added from there).
        assert page.url.endswith(f"/registry/systems/{system.pk}/")
        expect(page.locator("main section").filter(has_text=shown)).to_have_count(1)

    assert Component.objects.get(system=system).cpe23.startswith("cpe:2.3:a:apache:http_server")
    page.goto("/registry/servers/")
    expect(page.locator("main h1")).to_have_text("Máy chủ")
    expect(rows(page).filter(has_text="web-01")).to_contain_text("192.0.2.21")


def test_import_a_spreadsheet_checked_first_then_written(page, live_server, login, owner, tree, tmp_path):
    login(page, live_server, owner.username)
    page.goto("/registry/systems/")
    with page.expect_navigation():
        page.locator("main a[href='/registry/systems/import/']").click()
    expect(page.locator("main h1")).to_have_text("Nhập danh sách hệ thống thông tin")
    inventory = tmp_path / "he-thong.csv"

    def upload(text: str, dry_run: bool) -> None:
        inventory.write_text(text, encoding="utf-8")
        page.set_input_files("#id_file", str(inventory))
        page.set_checked("#id_dry_run", dry_run)
        save(page)

    # Row 3 names an owner outside the owner's scope, row 4 a level that does not exist: both are shown.
    upload("owner,code,name,decided_level\nso-a,mot-cua,Hệ thống một cửa điện tử,\nso-b,kho,Kho dữ liệu,\n"
           "so-a,hop,Phòng họp trực tuyến,7\n", dry_run=True)  # fmt: skip
    report = page.get_by_test_id("import-report")
    expect(report.locator(".alert-danger")).to_contain_text("không hợp lệ")
    expect(report.locator("tbody tr")).to_have_count(2)
    expect(report.locator("tbody tr").nth(0)).to_contain_text("owner")
    expect(report.locator("tbody tr").nth(1)).to_contain_text("decided_level")
    assert not InformationSystem.objects.exists()

    good = "owner,code,name\nso-a,mot-cua,Hệ thống một cửa điện tử\nso-a,hop,Phòng họp trực tuyến\n"
    upload(good, dry_run=True)
    expect(page.get_by_test_id("import-report").locator(".alert-success")).to_be_visible()
    assert not InformationSystem.objects.exists()

    upload(good, dry_run=False)
    assert page.url.endswith("/registry/systems/")
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(rows(page)).to_have_count(2)
    expect(page.locator("main table")).to_contain_text("Hệ thống một cửa điện tử")
    assert set(InformationSystem.objects.values_list("code", flat=True)) == {"mot-cua", "hop"}


def test_export_the_filtered_list_as_a_workbook(page, live_server, login, owner, tree):
    make_system(tree.dept_a, name="Hệ thống quản lý văn bản", code="qlvb")
    make_system(tree.dept_a, name="Cổng dịch vụ công", code="dvc")
    login(page, live_server, owner.username)
    page.goto("/registry/systems/")
    filter_list(page, q="văn bản")
    with page.expect_download() as info:
        page.get_by_role("link", name="Xuất XLSX").click()
    download = info.value
    assert download.suggested_filename.startswith("informationsystem-")
    assert download.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    values = list(sheet.values)
    assert "name" in values[0]
    assert [row[values[0].index("name")] for row in values[1:]] == ["Hệ thống quản lý văn bản"]
    response = page.request.get("/registry/systems/?q=văn+bản&export=xlsx")
    assert response.headers["content-type"] == XLSX


def test_change_then_delete_a_server_and_other_province_gets_404(page, live_server, login, owner, tree):
    system = make_system(tree.dept_a, name="Hệ thống một cửa tỉnh A")
    server = Server.objects.create(system=system, hostname="app-01", ip_address="192.0.2.31", role="Ứng dụng")
    login(page, live_server, owner.username)
    page.goto(f"/registry/servers/{server.pk}/edit/")
    expect(page.locator("main h1")).to_contain_text("Chỉnh sửa")
    page.fill("#id_role", "Máy chủ ứng dụng chính")
    save(page)
    assert page.url.endswith(f"/registry/systems/{system.pk}/")
    expect(page.locator("section[aria-labelledby=section-servers]")).to_contain_text("Máy chủ ứng dụng chính")

    page.goto(f"/registry/servers/{server.pk}/delete/")
    expect(page.locator("main h1")).to_contain_text("Xóa")
    save(page)
    assert page.url.endswith(f"/registry/systems/{system.pk}/")
    expect(page.locator("main")).not_to_contain_text("app-01")
    assert not Server.objects.filter(pk=server.pk).exists()

    page.context.clear_cookies()
    stranger = make_user(tree.province_b, "system_owner", username="owner-registry-b")
    login(page, live_server, stranger.username)
    assert page.goto(f"/registry/systems/{system.pk}/").status == 404
    page.goto("/registry/systems/")
    expect(page.locator("main table")).not_to_contain_text("Hệ thống một cửa tỉnh A")
