"""A unit updates its assigned task and the plan owner downloads the yearly report; a value is
recorded on an indicator and an evidence file is uploaded then downloaded."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from attt.core.testing import PASSWORD, make_user
from attt.plans import services
from attt.plans.models import Assignment
from attt.plans.tests.factories import make_indicator, make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_update_task_then_download_report(page, live_server, login, tree):
    officer = make_user(tree.province_a, "security_officer", username="officer-plans")
    task = make_task(tree.province_a)
    (assignment,) = services.assign(task, [tree.dept_a])
    login(page, live_server, officer.username, PASSWORD)
    page.goto(f"{live_server.url}/plans/assignments/{assignment.pk}/")
    form = page.get_by_test_id("progress-form")
    form.locator("#id_period").fill("2024")
    form.locator("#id_status").select_option("in_progress")
    form.locator("#id_progress").fill("40")
    form.locator("#id_comment").fill("Đã tổ chức tập huấn.")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("reports")).to_contain_text("Đã tổ chức tập huấn.")
    assert Assignment.objects.get(pk=assignment.pk).progress == 40
    page.goto(f"{live_server.url}/plans/plans/{task.plan.pk}/")
    with page.expect_download() as info:
        page.get_by_test_id("report-docx").click()
    assert info.value.suggested_filename.endswith(".docx")


def test_record_indicator_value_and_download_evidence(page, live_server, login, tree, tmp_path):
    officer = make_user(tree.province_a, "security_officer", username="officer-values")
    indicator = make_indicator(tree.province_a)
    login(page, live_server, officer.username, PASSWORD)
    page.goto(f"{live_server.url}/plans/indicators/{indicator.pk}/")
    form = page.get_by_test_id("value-form")
    form.locator("#id_period").fill("2024")
    form.locator("#id_value").fill("65%")
    form.locator("#id_note").fill("Số liệu tổng hợp")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("values")).to_contain_text("65%")
    expect(page.get_by_test_id("indicator-chart").locator("svg")).to_be_visible()

    (assignment,) = services.assign(make_task(tree.province_a), [tree.dept_a])
    evidence = tmp_path / "bien-ban.txt"
    evidence.write_text("Biên bản kiểm tra", encoding="utf-8")
    page.goto(f"{live_server.url}/plans/assignments/{assignment.pk}/")
    form = page.get_by_test_id("progress-form")
    form.locator("#id_period").fill("2024-Q2")
    form.locator("#id_progress").fill("20")
    form.locator("#id_evidence").set_input_files(str(evidence))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    with page.expect_download() as info:
        page.get_by_test_id("evidence-link").click()
    assert info.value.suggested_filename == "bien-ban.txt"
    assert Path(info.value.path()).read_text(encoding="utf-8") == "Biên bản kiểm tra"
