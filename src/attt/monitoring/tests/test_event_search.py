"""The event search, page and API: each organisation finds only its own events, an out-of-scope source or
organisation is refused like a made-up one, bad parameters get a problem+json answer or a form error, and a row's
labels narrow the search."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from attt.core.testing import make_user
from attt.monitoring.tests.factories import make_source
from attt.monitoring.tests.test_services import post
from attt.monitoring.views import EventSearchThrottle

SEARCH = "/api/v1/monitoring/events/"


def _line(message: str, host: str, dataset: str, minutes_ago: int = 5) -> bytes:
    stamp = (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()
    document = {"@timestamp": stamp, "message": message, "host": {"name": host}, "event": {"dataset": dataset}}
    return json.dumps(document, ensure_ascii=False).encode()


@pytest.fixture
def events(api, tree):
    """Two sources of two departments; department A's has three events, one of them two days old."""
    mine, token_a = make_source(tree.dept_a)
    other, token_b = make_source(tree.dept_b)
    batch = [
        _line("Đăng nhập thất bại", "web-01", "auth"),
        _line("tải tệp", "web-02", "proxy", minutes_ago=3),
        _line("Đăng nhập thất bại", "web-01", "auth", minutes_ago=60 * 48),
    ]
    assert post(api, token_a, b"\n".join(batch)).json()["accepted"] == 3
    assert post(api, token_b, _line("bí mật của B", "db-01", "auth")).json()["accepted"] == 1
    return mine, other


def messages(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [hit["event"]["message"] for hit in response.json()["results"]]


def test_the_api_finds_only_the_requesters_events(api, tree, events):
    mine, other = events
    api.force_authenticate(make_user(tree.dept_a, "soc_analyst"))
    assert messages(api.get(SEARCH)) == ["tải tệp", "Đăng nhập thất bại", "Đăng nhập thất bại"]
    assert messages(api.get(SEARCH, {"q": "ĐĂNG NHẬP", "limit": 1})) == ["Đăng nhập thất bại"]
    assert messages(api.get(SEARCH, {"host": "web-02"})) == ["tải tệp"]
    assert messages(
        api.get(SEARCH, {"dataset": "auth", "since": (timezone.now() - dt.timedelta(hours=1)).isoformat()})
    ) == ["Đăng nhập thất bại"]
    assert messages(api.get(SEARCH, {"q": "bí mật"})) == []
    answer = api.get(SEARCH, {"source": other.pk})
    assert answer.status_code == 400 and answer["Content-Type"] == "application/problem+json"
    assert "source" in answer.json()["errors"]
    assert api.get(SEARCH, {"organization": tree.dept_b.pk}).status_code == 400
    hit = api.get(SEARCH, {"source": mine.pk, "limit": 1}).json()
    assert hit["complete"] is True and hit["count"] == 1
    assert hit["results"][0]["source"] == str(mine.pk) and hit["results"][0]["organization"] == str(tree.dept_a.pk)
    national = make_user(tree.root, "soc_analyst", username="national-search")
    api.force_authenticate(national)
    assert messages(api.get(SEARCH, {"q": "bí mật"})) == ["bí mật của B"]
    assert len(messages(api.get(SEARCH, {"organization": tree.dept_a.pk}))) == 3


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"system": "not-a-uuid"}, "system"),
        ({"q": "x" * 201}, "q"),
        ({"source": "00000000-0000-0000-0000-000000000000"}, "source"),
    ],
)
def test_the_api_refuses_bad_parameters_with_a_problem(api, tree, params, field):
    api.force_authenticate(make_user(tree.dept_a, "soc_analyst"))
    answer = api.get(SEARCH, params)
    assert answer.status_code == 400 and answer["Content-Type"] == "application/problem+json"
    assert list(answer.json()["errors"]) == [field]


def test_searching_events_needs_the_monitoring_permission(api, client, tree, events):
    nobody = make_user(tree.dept_a)  # works there, holds no role
    api.force_authenticate(nobody)
    assert api.get(SEARCH).status_code == 403
    client.force_login(nobody)
    assert client.get(reverse("monitoring:event_search")).status_code == 403
    api.force_authenticate(None)
    assert api.get(SEARCH).status_code in (401, 403)


def rows(page: str) -> int:
    return page.count('data-testid="event-document"')


def test_the_page_shows_the_last_day_first_and_a_rows_labels_narrow_the_search(client, tree, events):
    client.force_login(make_user(tree.dept_a, "soc_analyst"))
    url = reverse("monitoring:event_search")
    page = client.get(url).content.decode()
    assert rows(page) == 2 and "tải tệp" in page and "bí mật" not in page  # the two-day-old event is not shown
    assert "?since=" in page and "dataset=auth" in page and "host=web-01" in page
    narrowed = client.get(url, {"host": "web-02"}).content.decode()
    assert rows(narrowed) == 1 and "tải tệp" in narrowed
    assert rows(client.get(url, {"q": "đăng"}).content.decode()) == 2  # no start given: the old one too
    wrong = client.get(url, {"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"})
    assert wrong.status_code == 200 and "invalid-feedback" in wrong.content.decode()
    assert 'data-testid="event-results"' not in wrong.content.decode()


def test_searches_are_limited_per_user_on_the_page_and_the_api_together(api, client, tree, monkeypatch):
    monkeypatch.setattr(EventSearchThrottle, "rate", "3/minute")
    analyst = make_user(tree.dept_a, "soc_analyst")
    api.force_authenticate(analyst)
    client.force_login(analyst)
    assert api.get(SEARCH).status_code == 200 and api.get(SEARCH).status_code == 200
    assert client.get(reverse("monitoring:event_search")).status_code == 200
    limited = api.get(SEARCH)
    assert limited.status_code == 429 and limited["Content-Type"] == "application/problem+json"
    page = client.get(reverse("monitoring:event_search"))
    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    assert 'data-testid="search-limited"' in page.content.decode()
    api.force_authenticate(make_user(tree.dept_b, "soc_analyst"))
    assert api.get(SEARCH).status_code == 200  # another user's count is their own


def test_a_source_page_links_to_the_search_of_its_events(client, tree, events):
    mine, _other = events
    client.force_login(make_user(tree.dept_a, "soc_analyst"))
    page = client.get(mine.get_absolute_url()).content.decode()
    link = f"{reverse('monitoring:event_search')}?source={mine.pk}"
    assert link in page
    assert rows(client.get(link).content.decode()) == 3  # all of its events: the link sets no start


@pytest.mark.parametrize(
    "attt",
    ["boom", None, ["x"], {"system": {"id": "00000000-0000-0000-0000-000000000001", "name": "Hệ thống giả mạo"}}],
)
def test_a_senders_attt_field_neither_breaks_the_page_nor_passes_for_the_platforms(api, client, tree, attt):
    """`attt` is the platform's block (the system enrichment found): a sender's own `attt` of any shape made the
    page answer 500 to everyone who could see the event, or showed a system the sender made up."""
    _source, token = make_source(tree.dept_a)
    line = {"@timestamp": timezone.now().isoformat(), "message": "x", "attt": attt, "event": {"dataset": ["a", "b"]}}
    assert post(api, token, json.dumps(line).encode()).json()["accepted"] == 1
    analyst = make_user(tree.dept_a, "soc_analyst")
    client.force_login(analyst)
    page = client.get(reverse("monitoring:event_search"))
    assert page.status_code == 200 and rows(page.content.decode()) == 1
    assert "giả mạo" not in page.context["rows"][0]["document"] and page.context["rows"][0]["system"] is None
    assert "dataset=%5B%22a%22%2C%22b%22%5D" in page.content.decode()  # the row's link: the value as indexed
    assert rows(client.get(reverse("monitoring:event_search"), {"dataset": '["a","b"]'}).content.decode()) == 1


def test_a_time_given_to_the_millisecond_is_that_millisecond(tree):
    from attt.monitoring.forms import EventSearchForm

    form = EventSearchForm(make_user(tree.dept_a, "soc_analyst"), {"since": "2004-03-15T07:55:47.472Z"})
    assert form.is_valid(), form.errors
    assert form.query().since_ms == 1079337347472


def test_the_page_shows_times_in_the_platforms_zone_to_the_millisecond(api, client, tree):
    """The stored UTC text with microseconds (2026-01-01T00:00:00.123456Z) is not what analysts compare with their
    own logs; the page shows the platform's time, the stored text on hover."""
    _source, token = make_source(tree.dept_a)
    line = json.dumps({"@timestamp": "2026-01-01T00:00:00.123456Z", "message": "giờ", "host": {"name": "h"}})
    assert post(api, token, line.encode()).json()["accepted"] == 1
    client.force_login(make_user(tree.dept_a, "soc_analyst"))
    page = client.get(reverse("monitoring:event_search"), {"q": "giờ"}).content.decode()
    assert '<time datetime="2026-01-01T00:00:00.123456Z" title="2026-01-01T00:00:00.123456Z">' in page
    assert "2026-01-01 07:00:00.123</time>" in page and "(Asia/Ho_Chi_Minh)" in page
    from attt.monitoring.views import _local_time

    assert _local_time("không phải thời gian") == "không phải thời gian" and _local_time(None) == ""
