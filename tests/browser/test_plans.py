"""A unit updates its assigned task and the plan owner downloads the yearly report."""

import pytest
from playwright.sync_api import expect

from attt.core.testing import PASSWORD, make_user
from attt.plans import services
from attt.plans.models import Assignment
from attt.plans.tests.factories import make_task

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
