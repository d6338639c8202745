"""Oversight of level-based security as a province works it: the dashboard drilled down to a unit's systems, the
dossier list filtered by state, a periodic check recorded (and the next one planned), a monthly status report
generated, completed, submitted and downloaded, and an inspection's finding taken from open to verified."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from attt.compliance.models import DossierState, Finding, LevelDossier, PeriodicCheck, StatusReport
from attt.compliance.tests.factories import check_factory, dossier_factory
from attt.core.testing import filter_list, make_user, rows, vi
from attt.core.testing import save_page_form as save
from attt.registry.tests.factories import make_system

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def officer(tree):
    return make_user(tree.province_a, "security_officer", username="officer-oversight-a")


def test_dashboard_drills_down_to_a_units_systems(page, live_server, login, officer, tree):
    make_system(tree.dept_a, name="Cổng dịch vụ công Sở A")
    make_system(tree.dept_a, name="Hệ thống một cửa Sở A")
    make_system(tree.operator_a, name="Trung tâm dữ liệu A")
    make_system(tree.dept_b, name="Hệ thống của tỉnh B")
    login(page, live_server, officer.username)
    page.goto("/compliance/")
    expect(page.locator("main h1")).to_contain_text("Bảo đảm an toàn hệ thống thông tin theo cấp độ · Tỉnh A")
    expect(page.get_by_test_id("systems")).to_have_text("3")  # not province B's
    drilldown = page.get_by_test_id("drilldown")
    with page.expect_navigation():
        drilldown.get_by_role("link", name="Sở A", exact=True).click()
    expect(page.locator("main h1")).to_contain_text("Sở A")
    expect(page.get_by_test_id("systems")).to_have_text("3")
    unit = page.get_by_test_id("drilldown").locator("tbody tr", has_text="Trung tâm A")
    expect(unit.locator("td").first).to_have_text("1")
    with page.expect_navigation():
        unit.get_by_role("link", name="Hệ thống").click()
    expect(page.get_by_test_id("system-status").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("system-status")).to_contain_text("Trung tâm dữ liệu A")

    page.goto(f"/compliance/overview/systems/?organization={tree.dept_a.pk}")
    expect(page.get_by_test_id("system-status").locator("tbody tr")).to_have_count(3)
    filter_list(page, q="một cửa")
    expect(page.get_by_test_id("system-status").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("system-status")).to_contain_text("Hệ thống một cửa Sở A")


def test_dossier_list_filtered_by_state(page, live_server, login, officer, tree):
    draft, submitted = dossier_factory(tree.dept_a), dossier_factory(tree.dept_a)
    LevelDossier.objects.filter(pk=submitted.pk).update(state=DossierState.SUBMITTED)
    dossier_factory(tree.dept_b)
    login(page, live_server, officer.username)
    page.goto("/compliance/dossiers/")
    expect(page.locator("main h1")).to_have_text("Hồ sơ đề xuất cấp độ")
    expect(rows(page)).to_have_count(2)
    filter_list(page, state=DossierState.SUBMITTED)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text(vi(DossierState.SUBMITTED))
    with page.expect_navigation():
        rows(page).first.get_by_role("link").click()
    assert page.url.endswith(f"/compliance/dossiers/{submitted.pk}/")
    expect(page.locator("main h1")).to_contain_text(submitted.title)
    assert draft.title not in page.locator("main").inner_text()


def test_record_a_periodic_check_and_the_next_is_planned(page, live_server, login, officer, tree):
    check = check_factory(tree.dept_a)
    PeriodicCheck.objects.filter(pk=check.pk).update(due_date=timezone.localdate() - datetime.timedelta(days=3))
    login(page, live_server, officer.username)
    page.goto("/compliance/checks/?pending=true")
    expect(page.locator("main h1")).to_have_text("Kiểm tra, đánh giá định kỳ")
    expect(rows(page)).to_have_count(1)
    with page.expect_navigation():
        rows(page).first.get_by_role("link").click()
    expect(page.locator("main h2")).to_have_text("Ghi nhận kết quả kiểm tra")
    page.fill("#id_done_date", timezone.localdate().isoformat())
    page.fill("#id_performer", "Trung tâm Giám sát an toàn không gian mạng tỉnh A")
    page.fill("#id_result", "Không phát hiện điểm yếu nghiêm trọng.")
    save(page)
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(page.locator("main dl")).to_contain_text("Trung tâm Giám sát an toàn không gian mạng tỉnh A")
    expect(page.locator("main form")).to_have_count(0)  # a recorded check is not recorded twice

    check.refresh_from_db()
    assert check.done_date == timezone.localdate()
    following = PeriodicCheck.objects.exclude(pk=check.pk).get(system=check.system)
    assert following.due_date > timezone.localdate() and following.done_date is None
    page.goto("/compliance/checks/?pending=true")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_role("link")).to_have_attribute("href", following.get_absolute_url())
    page.goto("/compliance/checks/?pending=false")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_role("link")).to_have_attribute("href", check.get_absolute_url())


def test_status_report_generated_submitted_and_downloaded(page, live_server, login, tree):
    make_system(tree.dept_a, name="Cổng dịch vụ công Sở A")
    admin = make_user(tree.province_a, "org_admin", username="admin-report-a")
    login(page, live_server, admin.username)
    page.goto("/compliance/reports/")
    with page.expect_navigation():
        page.locator("main a[href='/compliance/reports/add/']").click()
    expect(page.locator("main h1")).to_have_text("Lập báo cáo")
    page.select_option("#id_organization", str(tree.province_a.pk))
    page.select_option("#id_kind", StatusReport.Kind.MONTHLY)
    save(page)
    report = StatusReport.objects.get(organization=tree.province_a)
    assert page.url.endswith(f"/compliance/reports/{report.pk}/")
    expect(page.locator("main .badge", has_text="Dự thảo")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Cổng dịch vụ công Sở A")

    with page.expect_navigation():
        page.locator(f"main a[href='/compliance/reports/{report.pk}/edit/']").click()
    page.fill("#id_notes", "Thiếu nhân lực chuyên trách; đề nghị bổ sung kinh phí giám sát.")
    save(page)
    expect(page.locator("section[aria-labelledby=h-notes]")).to_contain_text("Thiếu nhân lực chuyên trách")

    with page.expect_navigation():
        page.get_by_test_id("submit-report").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(page.get_by_test_id("submit-report")).to_have_count(0)
    expect(page.locator(f"main a[href='/compliance/reports/{report.pk}/edit/']")).to_have_count(0)
    report.refresh_from_db()
    assert report.state == StatusReport.State.SUBMITTED and report.submitted_by == admin

    for fmt, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("pdf", b"%PDF")):
        with page.expect_download() as info:
            page.locator(f"main a[href='/compliance/reports/{report.pk}/export/{fmt}/']").click()
        assert info.value.suggested_filename.endswith(f".{fmt}")
        assert Path(info.value.path()).read_bytes().startswith(magic)

    page.goto("/compliance/reports/?state=submitted")
    expect(rows(page)).to_have_count(1)
    page.goto("/compliance/reports/?state=draft")
    expect(rows(page).first).to_contain_text("Không có bản ghi nào")


def test_inspection_finding_from_open_to_verified(page, live_server, login, tree):
    system = make_system(tree.dept_a, name="Cổng dịch vụ công Sở A")
    inspector = make_user(tree.province_a, "inspector", username="thanh-tra-a")
    owner = make_user(tree.dept_a, "system_owner", username="chu-quan-so-a")

    # 1. The inspector plans the inspection of Sở A and records a finding against its system.
    login(page, live_server, inspector.username)
    page.goto("/compliance/inspections/")
    with page.expect_navigation():
        page.locator("main a[href='/compliance/inspections/add/']").click()
    expect(page.locator("main h1")).to_have_text("Thêm mới đợt kiểm tra")
    page.select_option("#id_organization", str(tree.province_a.pk))
    page.fill("#id_title", "Kiểm tra an toàn thông tin năm 2026 tại Sở A")
    page.fill("#id_year", str(timezone.localdate().year))
    page.select_option("#id_state", "in_progress")
    page.select_option("#id_targets", [str(tree.dept_a.pk)])
    save(page)
    expect(page.locator("main h1")).to_have_text("Kiểm tra an toàn thông tin năm 2026 tại Sở A")
    expect(page.locator("main .card", has_text="Sở A").first).to_be_visible()
    with page.expect_navigation():
        page.locator("main section[aria-labelledby=h-findings]").get_by_role("link").first.click()
    page.select_option("#id_organization", str(tree.dept_a.pk))
    page.select_option("#id_system", str(system.pk))
    page.select_option("#id_severity", Finding.Severity.HIGH)
    page.fill("#id_description", "Chưa bật xác thực hai yếu tố cho tài khoản quản trị.")
    page.fill("#id_remediation", "Bật xác thực hai yếu tố cho mọi tài khoản quản trị.")
    page.fill("#id_due_date", (timezone.localdate() + datetime.timedelta(days=30)).isoformat())
    save(page)
    finding = Finding.objects.get()
    assert finding.state == Finding.State.OPEN and finding.system == system
    page.goto(finding.inspection.get_absolute_url())
    expect(page.locator("section[aria-labelledby=h-findings] tbody tr")).to_contain_text(vi(Finding.State.OPEN))

    # 2. The system's owner acknowledges it and reports the remediation.
    page.context.clear_cookies()
    login(page, live_server, owner.username)
    page.goto("/compliance/findings/")
    expect(page.locator("main h1")).to_have_text("Phát hiện")
    expect(rows(page)).to_have_count(1)
    with page.expect_navigation():
        rows(page).first.get_by_role("link").click()
    with page.expect_navigation():
        page.get_by_test_id("acknowledge").click()
    expect(page.locator("main table").first).to_contain_text(vi(Finding.State.ACKNOWLEDGED))
    with page.expect_navigation():
        page.locator(f"main a[href='/compliance/findings/{finding.pk}/remediate/']").click()
    page.fill("#id_evidence", "Đã bật xác thực hai yếu tố; ảnh chụp cấu hình gửi kèm.")
    save(page)
    expect(page.locator("main table").first).to_contain_text(vi(Finding.State.REMEDIATED))
    expect(page.locator(f"main a[href='/compliance/findings/{finding.pk}/verify/']")).to_have_count(0)

    # 3. The inspector verifies the remediation: the finding is closed.
    page.context.clear_cookies()
    login(page, live_server, inspector.username)
    page.goto(f"/compliance/findings/{finding.pk}/verify/")
    page.select_option("#id_accept", "yes")
    save(page)
    expect(page.locator("main table").first).to_contain_text(vi(Finding.State.VERIFIED))
    finding.refresh_from_db()
    assert finding.state == Finding.State.VERIFIED
    page.goto("/compliance/findings/?state=verified")
    expect(rows(page)).to_have_count(1)


def test_new_inspection_defaults_to_this_year(page, live_server, login, tree):
    inspector = make_user(tree.province_a, "inspector", username="thanh-tra-nam")
    login(page, live_server, inspector.username)
    page.goto("/compliance/inspections/add/")
    assert page.locator("#id_year").input_value() == str(timezone.localdate().year)
