"""The 24/7 dashboard as a national SOC analyst watches it: it loads with the open alerts counted, and
updates by itself (HTMX polling) when detection raises a new alert; the analyst then acknowledges it."""

import datetime
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from attt.core.testing import PASSWORD, make_user
from attt.detection import services
from attt.detection.models import Alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def raise_alert(org, signature: str, severity: str) -> None:
    services.record_hits(
        [
            services.Hit(
                event_id=f"evt-{signature}",
                source_id=uuid.uuid4(),
                organization_id=org.pk,
                timestamp=timezone.now() - datetime.timedelta(minutes=1),
                kind=Alert.Kind.SIGMA,
                signature=signature,
                title=f"Quy tắc {signature}",
                severity=severity,
                rule_id=signature,
                rule_author="Florian Roth",
            )
        ],
        notify=False,
    )


def test_live_dashboard_counts_and_updates(page, live_server, login, tree, settings):
    settings.ATTT_DETECTION_POLL_SECONDS = 1
    analyst = make_user(tree.root, "soc_analyst", username="qg-soc")
    raise_alert(tree.dept_a, "r-high", "high")
    raise_alert(tree.dept_b, "r-crit", "critical")
    login(page, live_server, analyst.username, PASSWORD)
    page.goto("/detection/")
    expect(page.get_by_test_id("open-total")).to_have_text("2")
    expect(page.get_by_test_id("open-critical")).to_have_text("1")
    expect(page.get_by_test_id("by-branch")).to_contain_text("Tỉnh A")

    raise_alert(tree.dept_a, "r-new", "critical")  # detection raises a new alert while the page is open
    expect(page.get_by_test_id("open-total")).to_have_text("3", timeout=8000)
    expect(page.get_by_test_id("open-critical")).to_have_text("2")

    page.goto(f"/detection/?org={tree.province_b.pk}")
    expect(page.get_by_test_id("open-total")).to_have_text("1")

    alert = Alert.objects.get(signature="r-new")
    page.goto(f"/detection/alerts/{alert.pk}/")
    expect(page.get_by_test_id("attribution")).to_contain_text("Florian Roth")
    with page.expect_navigation():
        page.get_by_test_id("steps").locator("button", has_text="Xác nhận").click()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.handled_by == analyst
