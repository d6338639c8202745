"""The remaining pages people use every day, one journey each: an incident reported from inside an organisation
and found in the list, the response network's members, threat-intelligence collections shared with another
province, the ATT&CK pages, an event source added (its token shown once), alerts filtered, Sigma rules switched
off, vulnerabilities searched, a leak notice written and handled, and plans: lists, assigning a task, the legal
library and the timeline."""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from attt.core.testing import fill, filter_list, make_user, open_new_form, rows, saved, vi
from attt.core.testing import save_page_form as save
from attt.detection.models import Severity, SigmaRule
from attt.detection.tests.factories import make_alert, make_rule
from attt.incidents.models import Incident, NetworkMember, State
from attt.incidents.tests.factories import make_incident, make_member
from attt.intel import attack
from attt.intel.models import Collection
from attt.monitoring import services as monitoring
from attt.monitoring.models import Source
from attt.plans.models import Assignment, LegalDocument
from attt.plans.tests.factories import make_plan, make_task
from attt.registry.tests.factories import make_system
from attt.vulns.models import LeakNotice
from attt.vulns.tests.factories import make_vulnerability

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DOCX_MAGIC = b"PK"


def renamed(record, **fields):
    """A factory's record with the given texts instead of its generated ones."""
    type(record).objects.filter(pk=record.pk).update(**fields)
    record.refresh_from_db()
    return record


# --- Incidents -------------------------------------------------------------------------------------------


def test_internal_incident_report_then_found_in_the_list(page, live_server, login, tree):
    system = make_system(tree.dept_a, name="Cổng thông tin điện tử Sở A")
    make_incident(tree.dept_a, title="Quét cổng từ địa chỉ lạ")
    owner = make_user(tree.dept_a, "system_owner", username="owner-incidents-a")
    login(page, live_server, owner.username)
    form = open_new_form(page, "/incidents/", "Sự cố", "Báo cáo sự cố")
    fill(
        form,
        organization=str(tree.dept_a.pk),
        title="Trang chủ cổng thông tin bị thay đổi giao diện",
        description="Sáng nay trang chủ hiển thị nội dung lạ; đã tạm ngừng dịch vụ.",
        systems_q="cổng thông tin",  # the systems are picked through a search
    )
    page.get_by_test_id("system-matches").get_by_label(system.name, exact=False).check()
    with page.expect_navigation():
        form.locator("button[type=submit]").last.click()  # the first is the picker's Find
    incident = Incident.objects.get(title="Trang chủ cổng thông tin bị thay đổi giao diện")
    assert page.url.endswith(incident.get_absolute_url())
    expect(page.locator("main")).to_contain_text("Cổng thông tin điện tử Sở A")
    expect(page.get_by_test_id("deadlines").locator("li").first).to_be_visible()

    page.goto("/incidents/")
    expect(rows(page)).to_have_count(2)
    filter_list(page, q="giao diện", state=State.RECEIVED)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text(incident.number)
    expect(rows(page).first).to_contain_text(vi(State.RECEIVED))
    filter_list(page, q="giao diện", state=State.CLOSED)
    expect(rows(page).first).to_contain_text("Không có bản ghi nào")


def test_network_member_added_filtered_and_reports(page, live_server, login, tree):
    make_member(tree.province_a, name="Đội ứng cứu sự cố Sở A")
    responder = make_user(tree.province_a, "incident_responder", username="resp-network-a")
    login(page, live_server, responder.username)
    form = open_new_form(page, "/incidents/network/", "Thành viên mạng lưới", "Thêm mới thành viên mạng lưới")
    fill(
        form,
        organization=str(tree.province_a.pk),
        name="Công ty An ninh mạng Thử Nghiệm",
        kind=NetworkMember.Kind.VOLUNTARY,
        contact_name="Phòng trực ứng cứu",
        contact_email="ungcuu@example.invalid",
    )
    member = saved(page, NetworkMember, name="Công ty An ninh mạng Thử Nghiệm")
    expect(page.get_by_test_id("member-stats")).to_be_visible()

    # The member sends its periodic report; the report is then a Word document to download.
    with page.expect_navigation():
        page.locator(f"main form[action='/incidents/network/{member.pk}/reports/'] button").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    with page.expect_download() as info:
        page.locator(f"main a[href^='/incidents/network/{member.pk}/reports/']").first.click()
    assert info.value.suggested_filename.endswith(".docx")
    assert Path(info.value.path()).read_bytes().startswith(DOCX_MAGIC)

    page.goto("/incidents/network/")
    expect(rows(page)).to_have_count(2)
    filter_list(page, kind=NetworkMember.Kind.VOLUNTARY)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Công ty An ninh mạng Thử Nghiệm")


# --- Threat intelligence -------------------------------------------------------------------------------


def test_collection_created_and_shared_with_another_province(page, live_server, login, tree):
    responder = make_user(tree.province_a, "incident_responder", username="resp-collections-a")
    login(page, live_server, responder.username)
    form = open_new_form(page, "/intel/collections/", "Bộ sưu tập", "Thêm mới bộ sưu tập")
    fill(
        form,
        organization=str(tree.province_a.pk),
        title="Dấu hiệu lừa đảo ngân hàng tỉnh A",
        alias="lua-dao-tinh-a",
    )
    collection = saved(page, Collection, alias="lua-dao-tinh-a")
    expect(page.get_by_test_id("taxii-url")).to_contain_text(f"/collections/{collection.pk}/")
    expect(page.get_by_test_id("grants").locator("tbody tr")).to_have_count(1)  # the "none yet" row

    grant = page.locator(f"main form[action='/intel/collections/{collection.pk}/grants/']")
    grant.locator("#id_grantee").select_option(str(tree.province_b.pk))
    grant.locator("#id_max_tlp").select_option("green")
    with page.expect_navigation():
        grant.locator("button[type=submit]").click()
    shared = page.get_by_test_id("grants").locator("tbody tr", has_text="Tỉnh B")
    expect(shared).to_have_count(1)
    expect(shared).to_contain_text("green", ignore_case=True)
    assert collection.grants.get().grantee == tree.province_b

    page.goto("/intel/collections/?q=ngân hàng")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_role("link")).to_have_text("Dấu hiệu lừa đảo ngân hàng tỉnh A")


def attack_bundle() -> dict:
    """A slice of ATT&CK for ICS: one tactic and two of its techniques."""
    tactic = {
        "type": "x-mitre-tactic",
        "id": "x-mitre-tactic--69da72d2-f550-41c5-ab9e-e8255707f28a",
        "name": "Initial Access",
        "description": "The adversary is trying to get into your ICS environment.",
        "x_mitre_shortname": "initial-access-ics",
        "x_mitre_domains": ["ics-attack"],
        "external_references": [{"source_name": "mitre-attack", "external_id": "TA0108"}],
    }

    def technique(stix_id: str, external_id: str, name: str) -> dict:
        return {
            "type": "attack-pattern",
            "id": f"attack-pattern--{stix_id}",
            "name": name,
            "description": f"{name}: how adversaries use it to gain a foothold.",
            "x_mitre_domains": ["ics-attack"],
            "kill_chain_phases": [{"kill_chain_name": "mitre-ics-attack", "phase_name": "initial-access-ics"}],
            "external_references": [
                {"source_name": "mitre-attack", "external_id": external_id,
                 "url": f"https://attack.mitre.org/techniques/{external_id}"}
            ],
        }  # fmt: skip

    matrix = {"type": "x-mitre-matrix", "id": f"x-mitre-matrix--{uuid.uuid4()}", "tactic_refs": [tactic["id"]]}
    techniques = [
        technique("3f1f4ccb-9be2-4ff8-8f69-dd972221169b", "T0883", "Internet Accessible Device"),
        technique("7830cfcf-b268-4ac0-a69e-73c6affbae9a", "T0817", "Drive-by Compromise"),
    ]
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [tactic, *techniques, matrix]}


def test_attack_tactics_and_techniques(page, live_server, login, tree):
    attack.load(attack_bundle())
    analyst = make_user(tree.province_a, "soc_analyst", username="soc-attack-a")
    login(page, live_server, analyst.username)
    page.goto("/intel/attack/")
    expect(page.locator("main h1")).to_have_text("Chiến thuật và kỹ thuật ATT&CK")
    expect(page.get_by_test_id("attack-notice")).to_contain_text("The MITRE Corporation")
    with page.expect_navigation():
        page.get_by_test_id("tactics").get_by_role("link", name="TA0108 Initial Access").click()
    assert page.url.endswith("/intel/attack/tactics/TA0108/")
    expect(page.locator("main")).to_contain_text("get into your ICS environment")
    expect(rows(page)).to_have_count(2)
    with page.expect_navigation():
        page.locator("main table").get_by_role("link", name="T0883").click()
    assert page.url.endswith("/intel/attack/techniques/T0883/")
    expect(page.locator("main h1")).to_contain_text("Internet Accessible Device")
    expect(page.locator("main a[href='/intel/attack/tactics/TA0108/']")).to_have_text("Initial Access")
    assert page.goto("/intel/attack/techniques/T9999/").status == 404


# --- Monitoring and detection -----------------------------------------------------------------------------


def test_event_source_added_with_its_token_shown_once(page, live_server, login, tree):
    analyst = make_user(tree.dept_a, "soc_analyst", username="soc-sources-a")
    login(page, live_server, analyst.username)
    form = open_new_form(page, "/monitoring/sources/", "Nguồn sự kiện", "Thêm mới nguồn sự kiện")
    fill(
        form,
        organization=str(tree.dept_a.pk),
        name="Tường lửa biên Sở A",
        expected_interval_minutes="10",
    )
    source = saved(page, Source, name="Tường lửa biên Sở A")
    message = page.locator(".alert", has_text="attt_src_")
    expect(message).to_have_count(1)
    token = re.search(r"attt_src_[\w-]+", message.inner_text()).group(0)
    assert monitoring.authenticate(token) == source
    page.reload()
    expect(page.locator("body")).not_to_contain_text(token)

    page.goto("/monitoring/sources/")
    row = rows(page).filter(has_text="Tường lửa biên Sở A")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("10")


def test_alert_list_filtered_by_severity(page, live_server, login, tree):
    make_alert(tree.dept_a, title="Đăng nhập thất bại liên tiếp", severity="medium")
    make_alert(tree.dept_a, title="Thực thi mã độc mã hoá dữ liệu", severity="critical")
    make_alert(tree.dept_b, title="Cảnh báo của tỉnh B", severity="critical")
    analyst = make_user(tree.province_a, "soc_analyst", username="soc-alerts-a")
    login(page, live_server, analyst.username)
    page.goto("/detection/alerts/")
    expect(page.locator("main h1")).to_have_text("Cảnh báo")
    expect(rows(page)).to_have_count(2)  # not province B's
    filter_list(page, severity=["critical"])
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Thực thi mã độc mã hoá dữ liệu")
    expect(rows(page).first).to_contain_text(vi(Severity.CRITICAL))
    filter_list(page, severity=[], q="Đăng nhập")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Đăng nhập thất bại liên tiếp")


def test_sigma_rules_switched_off_and_filtered(page, live_server, login, tree):
    noisy = make_rule(title="Tạo tác vụ định kỳ đáng ngờ", level="low")
    make_rule(title="Xoá bản sao bóng ổ đĩa", level="high")
    analyst = make_user(tree.root, "soc_analyst", username="soc-rules")
    login(page, live_server, analyst.username)
    page.goto("/detection/rules/")
    expect(page.locator("main h1")).to_have_text("Luật Sigma")
    table = page.get_by_test_id("rules")
    expect(table.locator("tbody tr")).to_have_count(2)
    table.get_by_role("checkbox", name="Tạo tác vụ định kỳ đáng ngờ").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Tắt các luật đã chọn").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(table.locator("tbody tr", has_text="Tạo tác vụ định kỳ đáng ngờ").locator("td").nth(6)).to_have_text("không")
    noisy.refresh_from_db()
    assert not noisy.enabled
    assert SigmaRule.objects.filter(enabled=True).count() == 1

    filter_list(page, enabled="false")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Tạo tác vụ định kỳ đáng ngờ")


# --- Vulnerabilities and leaks ----------------------------------------------------------------------------


def test_vulnerabilities_searched(page, live_server, login, tree):
    make_vulnerability(cve_id="CVE-2023-22515", summary="Atlassian Confluence: broken access control.")
    make_vulnerability(cve_id="CVE-2021-44228", summary="Apache Log4j2 JNDI features: remote code execution.")
    owner = make_user(tree.dept_a, "system_owner", username="owner-vulns-search")
    login(page, live_server, owner.username)
    page.goto("/vulns/vulnerabilities/")
    expect(page.locator("main h1")).to_have_text("Lỗ hổng")
    expect(rows(page)).to_have_count(2)
    filter_list(page, q="log4j")
    expect(rows(page)).to_have_count(1)
    with page.expect_navigation():
        rows(page).first.get_by_role("link", name="CVE-2021-44228").click()
    expect(page.locator("main h1")).to_contain_text("CVE-2021-44228")
    expect(page.locator("main")).to_contain_text("remote code execution")


def test_leak_notice_written_then_handled(page, live_server, login, tree):
    officer = make_user(tree.province_a, "security_officer", username="officer-leaks-a")
    login(page, live_server, officer.username)
    form = open_new_form(page, "/vulns/leaks/", "Thông báo lộ lọt", "Thêm mới thông báo lộ lọt")
    fill(
        form,
        organization=str(tree.dept_a.pk),
        title="Lộ tài khoản thư điện tử công vụ Sở A",
        source="Diễn đàn rao bán dữ liệu",
        published="2026-03-02",
        account_count="57",
        domains_text="so-a.example.gov.vn\nmail.so-a.example.gov.vn",
    )
    notice = saved(page, LeakNotice, title="Lộ tài khoản thư điện tử công vụ Sở A")
    expect(page.locator("main table")).to_contain_text("mail.so-a.example.gov.vn")
    expect(page.locator("main table")).to_contain_text(vi(LeakNotice.Status.NEW))

    with page.expect_navigation():
        page.locator(f"main a[href='/vulns/leaks/{notice.pk}/edit/']").click()
    expect(page.locator("#id_domains_text")).to_contain_text("mail.so-a.example.gov.vn")
    page.select_option("#id_status", LeakNotice.Status.HANDLED)
    save(page)
    expect(page.locator("main table")).to_contain_text(vi(LeakNotice.Status.HANDLED))
    notice.refresh_from_db()
    assert notice.status == LeakNotice.Status.HANDLED and notice.account_count == 57

    page.goto("/vulns/leaks/")
    filter_list(page, status=LeakNotice.Status.NEW)
    expect(rows(page).first).to_contain_text("Không có bản ghi nào")
    filter_list(page, status=LeakNotice.Status.HANDLED)
    expect(rows(page)).to_have_count(1)


# --- Plans -----------------------------------------------------------------------------------------------


@pytest.fixture
def planner(tree):
    return make_user(tree.province_a, "security_officer", username="officer-plans-a")


def test_plan_and_task_lists_filtered(page, live_server, login, planner, tree):
    plan = renamed(make_plan(tree.province_a), title="Kế hoạch bảo đảm an toàn thông tin tỉnh A 2026")
    other = renamed(make_plan(tree.province_a), title="Kế hoạch ứng phó sự cố tỉnh A")
    renamed(make_task(tree.province_a, plan=plan), content="Rà soát hệ thống thông tin cấp độ 3")
    renamed(make_task(tree.province_a, plan=other), content="Diễn tập ứng cứu sự cố")
    login(page, live_server, planner.username)
    page.goto("/plans/plans/")
    expect(page.locator("main h1")).to_have_text("Kế hoạch")
    expect(rows(page)).to_have_count(2)
    filter_list(page, q="ứng phó")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_role("link")).to_have_text("Kế hoạch ứng phó sự cố tỉnh A")

    page.goto("/plans/tasks/")
    expect(page.locator("main h1")).to_have_text("Nhiệm vụ")
    expect(rows(page)).to_have_count(2)
    filter_list(page, plan=str(plan.pk))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Rà soát hệ thống thông tin cấp độ 3")


def test_task_assigned_to_units(page, live_server, login, planner, tree):
    task = renamed(make_task(tree.province_a), content="Triển khai giám sát an toàn thông tin")
    login(page, live_server, planner.username)
    page.goto(f"/plans/tasks/{task.pk}/")
    assignments = page.get_by_test_id("assignments")
    expect(assignments.locator("tbody tr")).to_have_count(1)  # "not assigned yet"
    form = page.get_by_test_id("assign-form")
    form.locator("#id_organizations").select_option([str(tree.dept_a.pk), str(tree.operator_a.pk)])
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(assignments.locator("tbody tr")).to_have_count(2)
    expect(assignments).to_contain_text("Sở A")
    expect(assignments).to_contain_text("Trung tâm A")
    assert set(Assignment.objects.filter(task=task).values_list("organization__code", flat=True)) == {"so-a", "tt-a"}
    page.goto("/plans/assignments/")
    expect(rows(page).filter(has_text="Triển khai giám sát an toàn thông tin")).to_have_count(2)


def test_legal_library_document_added_and_found(page, live_server, login, planner, tree):
    login(page, live_server, planner.username)
    form = open_new_form(page, "/plans/library/", "Thư viện văn bản", "Thêm mới văn bản")
    fill(
        form,
        organization=str(tree.province_a.pk),
        kind="Nghị định",
        number="85/2016/NĐ-CP",
        issuer="Chính phủ",
        title="Về bảo đảm an toàn hệ thống thông tin theo cấp độ",
    )
    saved(page, LegalDocument, number="85/2016/NĐ-CP")

    page.goto("/plans/library/")
    filter_list(page, q="theo cấp độ")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_role("link")).to_have_text("85/2016/NĐ-CP")
    filter_list(page, q="không có văn bản này")
    expect(rows(page).first).to_contain_text("Không có bản ghi nào")


def test_timeline_draws_each_dated_task(page, live_server, login, planner, tree):
    plan = make_plan(tree.province_a)
    renamed(make_task(tree.province_a, plan=plan), content="Xây dựng quy chế bảo đảm an toàn thông tin")
    renamed(make_task(tree.province_a, plan=plan), content="Tổ chức diễn tập thực chiến")
    renamed(make_task(tree.province_b), content="Nhiệm vụ của tỉnh B")
    login(page, live_server, planner.username)
    page.goto("/plans/timeline/")
    expect(page.locator("main h1")).to_have_text("Tiến độ thời gian")
    chart = page.get_by_test_id("timeline").locator("svg")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(2)
    expect(chart).to_contain_text("Xây dựng quy chế bảo đảm an toàn thông tin")
    expect(chart).not_to_contain_text("Nhiệm vụ của tỉnh B")
