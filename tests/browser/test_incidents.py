"""Incident response from intake to closure as people work it: a citizen reports through the public form, the national
coordinator classifies the report and asks a network member for help, the member acknowledges and completes the
task with evidence, the coordinator records the response, the closure report and closes the incident. And an
operator reporting through the authenticated form picks the affected systems by searching, with script and
without."""

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from attt.core.testing import PASSWORD, make_user
from attt.incidents.models import TIMELINE_ACTIONS, Incident, IncidentTask, State
from attt.incidents.tests.factories import make_member
from attt.registry.tests.factories import make_system

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def label(state: str) -> str:
    with translation.override("vi"):
        return str(State(state).label)


@pytest.fixture
def people(tree):
    make_member(tree.province_b, name="Đội ứng cứu sự cố tỉnh B")
    coordinator = make_user(tree.root, "incident_responder", username="dieu-phoi")
    member = make_user(tree.province_b, "incident_responder", username="thanh-vien-b")
    return coordinator, member


def step(page, value: str) -> None:
    form = page.get_by_test_id("step-form")
    form.locator("select[name=step]").select_option(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_public_report_to_closure(page, live_server, login, people, tree):
    coordinator, member = people
    # 1. A citizen reports a phishing site (no log-in; the form refuses a submission faster than 3 s).
    page.goto("/incidents/report/")
    form = page.get_by_test_id("public-form")
    form.locator("[name=title]").fill("Trang giả mạo cổng dịch vụ công")
    form.locator("[name=description]").fill("Tin nhắn SMS dẫn tới trang yêu cầu nhập mật khẩu.")
    form.locator("[name=contact]").fill("nguoidan@example.invalid")
    form.locator("[name=observables]").fill(
        "domain:dichvucong-gia.example\nurl:https://dichvucong-gia.example/dang-nhap"
    )
    page.wait_for_timeout(3200)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("public-number")).to_contain_text("SC")
    incident = Incident.objects.get()
    assert incident.organization == tree.root and incident.state == State.RECEIVED

    # 2. The coordinator classifies it and asks province B's team for help.
    login(page, live_server, coordinator.username, PASSWORD)
    page.goto(f"/incidents/{incident.pk}/")
    expect(page.get_by_test_id("observables")).to_contain_text("dichvucong-gia.example")
    classify = page.get_by_test_id("classify-form")
    classify.locator("select[name=category]").select_option("fraud/phishing")
    classify.locator("select[name=tlp]").select_option("green")
    with page.expect_navigation():
        classify.locator("button[type=submit]").click()
    expect(page.locator("main table").first).to_contain_text(label(State.CLASSIFIED))
    task_form = page.get_by_test_id("task-form")
    task_form.locator("select[name=assignee]").select_option(str(tree.province_b.pk))
    task_form.locator("[name=title]").fill("Chặn tên miền giả mạo trên DNS")
    task_form.locator("[name=due_date]").fill(timezone.localdate().isoformat())
    with page.expect_navigation():
        task_form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("tasks")).to_contain_text("Chặn tên miền giả mạo trên DNS")
    task = IncidentTask.objects.get()

    # 3. The member sees its task and the shareable part, acknowledges, then completes with evidence.
    page.context.clear_cookies()
    login(page, live_server, member.username, PASSWORD)
    assert page.goto(f"/incidents/{incident.pk}/").status == 404
    page.goto(f"/incidents/tasks/{task.pk}/")
    expect(page.get_by_test_id("shared-part")).to_contain_text("dichvucong-gia.example")
    for status, evidence in (("acknowledged", ""), ("done", "Đã chặn tên miền trên máy chủ DNS của tỉnh.")):
        form = page.get_by_test_id("task-step-form")
        form.locator("select[name=status]").select_option(status)
        if evidence:
            form.locator("textarea[name=evidence]").fill(evidence)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
    task.refresh_from_db()
    assert task.status == "done" and "DNS" in task.evidence

    # 4. The coordinator records the response, the closure report, and closes the incident.
    page.context.clear_cookies()
    login(page, live_server, coordinator.username, PASSWORD)
    page.goto(f"/incidents/{incident.pk}/")
    for value in ("respond", "closure_report", "close"):
        step(page, value)
    expect(page.locator("main table").first).to_contain_text(label(State.CLOSED))
    with translation.override("vi"):
        closed_label = str(TIMELINE_ACTIONS["close"])
    expect(page.get_by_test_id("timeline")).to_contain_text(closed_label)
    incident.refresh_from_db()
    assert incident.state == State.CLOSED and incident.closed_at is not None


@pytest.fixture
def officer_and_systems(tree):
    officer = make_user(tree.province_a, "security_officer", username="can-bo-a")
    portal = make_system(tree.dept_a, name="Cổng dịch vụ công tỉnh A", code="cong-dvc-a")
    mail = make_system(tree.operator_a, name="Hệ thống thư điện tử công vụ", code="thu-cong-vu")
    make_system(tree.dept_b, name="Cổng dịch vụ công tỉnh B", code="cong-dvc-b")  # another province's
    return officer, portal, mail


def fill_report(page, organization) -> None:
    page.goto("/incidents/new/")
    page.locator("[name=organization]").select_option(str(organization.pk))
    page.locator("[name=title]").fill("Thay đổi giao diện cổng thông tin")
    page.locator("[name=description]").fill("Trang chủ hiển thị nội dung lạ.")


def test_report_picks_systems_by_search(page, live_server, login, officer_and_systems, tree):
    """As one types, the matches come (only the reporter's province); a ticked match stays chosen while the next
    search replaces the matches, and Enter in the box searches instead of sending the form."""
    officer, portal, mail = officer_and_systems
    login(page, live_server, officer.username)
    fill_report(page, tree.dept_a)
    matches, chosen = page.get_by_test_id("system-matches"), page.get_by_test_id("system-chosen")
    page.locator("[name=systems_q]").press_sequentially("cổng dịch")
    expect(matches.get_by_label(portal.name, exact=False)).to_be_visible()
    expect(matches).not_to_contain_text("tỉnh B")
    matches.get_by_label(portal.name, exact=False).check()
    expect(chosen.get_by_label(portal.name, exact=False)).to_be_checked()
    box = page.locator("[name=systems_q]")
    page.evaluate("window.samePage = true")
    box.fill("thu-cong")
    box.press("Enter")
    expect(matches.get_by_label(mail.name, exact=False)).to_be_visible()
    expect(matches).not_to_contain_text(portal.name)  # chosen already: not offered again
    page.locator("[name=title]").press("Enter")  # searches too, never sends the form half-filled
    assert page.evaluate("window.samePage === true") and not Incident.objects.exists()  # no post-back
    matches.get_by_label(mail.name, exact=False).check()
    box.fill("zzz")
    expect(matches).not_to_contain_text(mail.name)
    expect(chosen.locator("input:checked")).to_have_count(2)
    chosen.get_by_label(portal.name, exact=False).click()  # unticked, it leaves the chosen; a search offers it again
    expect(chosen.locator("li")).to_have_count(1)
    box.fill("cổng")
    matches.get_by_label(portal.name, exact=False).check()
    expect(chosen.locator("input:checked")).to_have_count(2)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    incident = Incident.objects.get()
    assert set(incident.systems.all()) == {portal, mail}


def test_report_picks_systems_without_script(open_page, live_server, login, officer_and_systems, tree):
    """Without script, Find posts the form back with the matches; what was typed stays, and a ticked match is
    reported."""
    officer, portal, _mail = officer_and_systems
    page = open_page(java_script_enabled=False)
    login(page, live_server, officer.username)
    fill_report(page, tree.dept_a)
    page.locator("[name=systems_q]").fill("cổng")
    with page.expect_navigation():
        page.get_by_test_id("system-picker").locator("button[type=submit]").click()
    assert not Incident.objects.exists()
    expect(page.locator("[name=title]")).to_have_value("Thay đổi giao diện cổng thông tin")
    matches = page.get_by_test_id("system-matches")
    expect(matches).not_to_contain_text("tỉnh B")
    matches.get_by_label(portal.name, exact=False).check()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    incident = Incident.objects.get()
    assert list(incident.systems.all()) == [portal]
