"""Early warning as an owner works it: a real CVE record is imported, matches a component of the owner's
system, and the owner finds the warning, acknowledges it and marks it patched; another province's user
cannot open it."""

from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

from attt.core.testing import PASSWORD, make_user
from attt.registry.models import Component
from attt.registry.tests.factories import make_system
from attt.vulns import services
from attt.vulns.models import VulnWarning, WarningStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Atlassian Confluence, CVE JSON 5 with CISA ADP CPEs: server 8.0.0 ≤ v < 8.3.3 (and two more ranges).
RECORD = Path("/work/shared/testdata/nvd/CVE-2023-22515.json")


def label(status: str) -> str:
    with translation.override("vi"):  # the site's default language, which the browser gets
        return str(WarningStatus(status).label)


@pytest.fixture
def warning(tree):
    if not RECORD.exists():
        pytest.skip(f"{RECORD} is missing")
    services.forget_index()
    system = make_system(tree.dept_a, name="Cổng thông tin nội bộ tỉnh A", internet_facing=True)
    Component.objects.create(
        system=system,
        organization=tree.dept_a,
        vendor="Atlassian",
        product="Confluence Server",
        version="8.1.0",
        cpe23="cpe:2.3:a:atlassian:confluence_server:8.1.0:*:*:*:*:*:*:*",
    )
    report = services.import_paths([RECORD], notify=False)[0]
    assert report.created == 1 and report.warnings_created == 1
    yield VulnWarning.objects.get(system=system, vulnerability__cve_id="CVE-2023-22515")
    services.forget_index()


@pytest.fixture
def owner(tree):
    return make_user(tree.dept_a, "system_owner", username="owner-vulns-a")


@pytest.fixture
def stranger(tree):
    return make_user(tree.province_b, "system_owner", username="owner-vulns-b")


def take_step(page, status: str, reason: str = "") -> None:
    form = page.get_by_test_id("step-form")
    form.locator("select[name=status]").select_option(status)
    if reason:
        form.locator("textarea[name=reason]").fill(reason)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_owner_acknowledges_then_patches_a_warning(page, live_server, login, warning, owner):
    assert warning.status == WarningStatus.NEW and warning.active
    login(page, live_server, owner.username, PASSWORD)
    page.goto("/vulns/warnings/")
    link = page.locator("main table a", has_text="CVE-2023-22515")
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    assert page.url.endswith(f"/vulns/warnings/{warning.pk}/")
    expect(page.get_by_test_id("matches")).to_contain_text("confluence_server")

    take_step(page, WarningStatus.ACKNOWLEDGED)
    expect(page.locator("main table")).to_contain_text(label(WarningStatus.ACKNOWLEDGED))
    warning.refresh_from_db()
    assert warning.status == WarningStatus.ACKNOWLEDGED and warning.handled_by_id == owner.pk

    take_step(page, WarningStatus.PATCHED, "Đã nâng cấp Confluence lên 8.3.3.")
    expect(page.locator("main table")).to_contain_text(label(WarningStatus.PATCHED))
    # The owner cannot verify; sending it back to "acknowledged" is the only step left to them.
    options = page.get_by_test_id("step-form").locator("select[name=status] option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", WarningStatus.ACKNOWLEDGED)
    warning.refresh_from_db()
    assert warning.status == WarningStatus.PATCHED
    assert warning.reason == "Đã nâng cấp Confluence lên 8.3.3." and warning.handled_at is not None


def test_another_provinces_user_gets_404(page, live_server, login, warning, stranger):
    login(page, live_server, stranger.username, PASSWORD)
    response = page.goto(f"/vulns/warnings/{warning.pk}/")
    assert response.status == 404
    page.goto("/vulns/warnings/")
    expect(page.locator("main table a", has_text="CVE-2023-22515")).to_have_count(0)
    response = page.request.post(f"/vulns/warnings/{warning.pk}/step/", form={"status": "acknowledged"})
    assert response.status in (403, 404)  # no CSRF token: refused before the scope is even looked at
    warning.refresh_from_db()
    assert warning.status == WarningStatus.NEW
