"""Central monitoring as a SOC analyst watches it: the live page lists the province's sources with their health,
flags the silent one, and its figures update by themselves (HTMX polling) when events arrive; another
province's source never shows; rotating a source's token shows the new token once."""

import datetime as dt
import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from attt.core.testing import PASSWORD, make_user
from attt.monitoring import services
from attt.monitoring.models import Source
from attt.monitoring.tests.factories import make_source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LINE = b'{"@timestamp": "2026-11-01T00:00:00Z", "source": {"ip": "203.0.113.9"}, "message": "%d"}'


@pytest.fixture
def sources(tree):
    firewall, _ = make_source(tree.dept_a, name="Tường lửa trung tâm dữ liệu A")
    sensor, _ = make_source(tree.dept_a, name="Cảm biến IDS sở A", expected_interval_minutes=5)
    other, _ = make_source(tree.dept_b, name="Tường lửa tỉnh B")
    services.accept(firewall, b"\n".join(LINE % i for i in range(3)) + b"\nnot json")
    services.accept(other, LINE % 99)
    Source.objects.filter(pk=sensor.pk).update(last_seen_at=timezone.now() - dt.timedelta(hours=2))
    return firewall, sensor, other


def test_live_page_shows_health_and_updates_itself(page, live_server, login, tree, sources):
    firewall, sensor, other = sources
    analyst = make_user(tree.dept_a, "soc_analyst", username="soc-monitoring-a")
    login(page, live_server, analyst.username, PASSWORD)
    page.goto("/monitoring/")
    table = page.get_by_test_id("source-health")
    expect(table).to_contain_text(firewall.name)
    expect(table).to_contain_text(sensor.name)
    expect(table).not_to_contain_text(other.name)
    expect(page.get_by_test_id("silent-list")).to_contain_text(sensor.name)
    expect(page.get_by_test_id("events-24h")).to_have_text("3")
    expect(page.get_by_test_id("rejected-24h")).to_have_text("1")

    services.accept(firewall, b"\n".join(LINE % i for i in range(10, 14)))
    expect(page.get_by_test_id("events-24h")).to_have_text("7", timeout=15_000)  # the next poll brings it

    response = page.goto(f"/monitoring/sources/{other.pk}/")
    assert response.status == 404


def test_rotating_a_token_shows_the_new_one_once(page, live_server, login, tree, sources):
    firewall = sources[0]
    analyst = make_user(tree.dept_a, "soc_analyst", username="soc-monitoring-rotate")
    old_hash = firewall.token_hash
    login(page, live_server, analyst.username, PASSWORD)
    page.goto(f"/monitoring/sources/{firewall.pk}/")
    expect(page.get_by_test_id("recent-events")).to_contain_text("203.0.113.9")
    with page.expect_navigation():
        page.get_by_test_id("rotate-token").click()
    message = page.locator(".alert", has_text="attt_src_")
    expect(message).to_have_count(1)
    token = re.search(r"attt_src_[\w-]+", message.inner_text()).group(0)
    firewall.refresh_from_db()
    assert firewall.token_hash != old_hash
    assert services.authenticate(token) == firewall
    page.reload()
    expect(page.locator("main")).not_to_contain_text(token)  # shown once only


def test_event_search_narrows_by_text_and_by_a_rows_host(page, live_server, login, tree, sources):
    firewall, _, other = sources
    now = timezone.now().isoformat()
    lines = [("web-01", "Đăng nhập thất bại"), ("web-02", "tải tệp lên")]
    services.accept(firewall, "\n".join(event(now, host, message) for host, message in lines).encode())
    services.accept(other, event(now, "db-b", "bí mật của B").encode())
    analyst = make_user(tree.dept_a, "soc_analyst", username="soc-monitoring-search")
    login(page, live_server, analyst.username, PASSWORD)
    page.goto("/monitoring/")
    page.get_by_role("link", name="Tìm kiếm sự kiện").first.click()
    results = page.get_by_test_id("event-results")
    expect(results.locator("tbody tr")).to_have_count(2)  # the last 24 hours: not the events of 1 November
    expect(results).not_to_contain_text("bí mật")
    page.get_by_label("Nội dung").fill("ĐĂNG NHẬP")
    page.get_by_role("button", name="Lọc").click()
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("web-01")
    page.get_by_label("Nội dung").fill("")
    page.get_by_role("button", name="Lọc").click()
    results.get_by_role("link", name="web-02").click()
    expect(page).to_have_url(re.compile(r"host=web-02"))
    expect(results.locator("tbody tr")).to_have_count(1)
    results.locator("summary").first.click()
    expect(results.get_by_test_id("event-document").first).to_contain_text('"name": "web-02"')


def event(stamp: str, host: str, message: str) -> str:
    return json.dumps({"@timestamp": stamp, "host": {"name": host}, "message": message}, ensure_ascii=False)
