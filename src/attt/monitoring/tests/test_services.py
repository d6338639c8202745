"""Ingest over HTTP, sources through the API, health, silence warnings with layer 4, enrichment from the
registry, consumers, and isolation between organisations."""

import datetime as dt
import gzip
from pathlib import Path

import pytest
from django.core import mail  # noqa: F401 (locmem backend: notifications e-mail in tests)
from django.urls import reverse
from django.utils import timezone

from attt.compliance import services as compliance
from attt.core.models import Notification
from attt.core.testing import make_user
from attt.monitoring import pipeline, services
from attt.monitoring.models import Source
from attt.monitoring.store import EventQuery
from attt.monitoring.tests.factories import make_source
from attt.registry.models import IPRange
from attt.registry.tests.factories import make_system

INGEST = "/api/v1/ingest/events"
GOOD = b'{"@timestamp": "2026-01-01T00:00:00Z", "source": {"ip": "198.51.100.7"}, "message": "login"}'


def post(api, token, body: bytes, **headers):
    return api.post(INGEST, body, content_type="application/x-ndjson", HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


@pytest.fixture
def source(tree):
    return make_source(tree.dept_a)


def test_ingest_acknowledges_counts_and_a_reason_per_line(api, source):
    src, token = source
    response = post(api, token, GOOD + b"\n{broken\n\n" + GOOD.replace(b"login", b"logout") + b"\n[1]\n")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 2)
    assert [e["line"] for e in body["errors"]] == [2, 5]
    assert "invalid JSON" in body["errors"][0]["reason"]
    assert services.store().total() == 2
    health = services.health([src])[src.pk]
    assert health["events_1h"] == 2 and health["rejected_1h"] == 2 and health["error_rate"] == 0.5
    src.refresh_from_db()
    assert src.last_seen_at is not None


def test_ingest_gzip_and_resend_adds_nothing(api, source):
    _, token = source
    body = gzip.compress(GOOD + b"\n" + GOOD.replace(b"login", b"x"))
    assert post(api, token, body, HTTP_CONTENT_ENCODING="gzip").json()["accepted"] == 2
    assert post(api, token, body, HTTP_CONTENT_ENCODING="gzip").json()["accepted"] == 2
    assert services.store().total() == 2  # the same events, deduplicated by id
    members = gzip.compress(GOOD) + gzip.compress(b"\n" + GOOD.replace(b"login", b"y")) + b"\0\0"
    assert post(api, token, members, HTTP_CONTENT_ENCODING="gzip").json()["accepted"] == 2  # `cat a.gz b.gz`
    assert services.store().total() == 3


def test_ingest_refuses_bad_tokens_bad_gzip_and_oversize(api, source, monkeypatch):
    src, token = source
    assert post(api, "attt_src_nope", GOOD).status_code == 401
    assert api.post(INGEST, GOOD, content_type="application/x-ndjson").status_code in (401, 403)
    bad = post(api, token, b"\x1f\x8bnot gzip", HTTP_CONTENT_ENCODING="gzip")
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    cut = post(api, token, gzip.compress(GOOD + b"\n" + GOOD)[:-12], HTTP_CONTENT_ENCODING="gzip")
    assert cut.status_code == 400 and cut["Content-Type"].startswith("application/problem+json")
    assert cut.json()["detail"] != bad.json()["detail"]  # says "truncated", not "not gzip"
    assert services.store().total() == 0  # nothing of a cut body is taken
    monkeypatch.setenv("ATTT_MONITORING_MAX_BATCH_BYTES", "100")
    assert post(api, token, GOOD * 3).status_code == 400
    assert post(api, token, gzip.compress(GOOD * 30), HTTP_CONTENT_ENCODING="gzip").status_code == 400
    Source.objects.filter(pk=src.pk).update(is_active=False)
    assert post(api, token, GOOD).status_code == 401


def test_an_oversize_body_is_not_read_past_the_limit(monkeypatch):
    """The parser reads one byte past the limit at most, whatever the sender declares."""
    import io

    from attt.monitoring.api.views import RawBodyParser

    monkeypatch.setenv("ATTT_MONITORING_MAX_BATCH_BYTES", "100")

    class Endless(io.RawIOBase):
        asked: list[int] = []

        def read(self, size=-1):
            self.asked.append(size)
            return b"x" * (10**6 if size is None or size < 0 else size)

    body = RawBodyParser().parse(Endless())
    assert len(body) == 101 and Endless.asked == [101]


def test_source_api_create_shows_token_once_and_rotation_replaces_it(api, tree):
    analyst = make_user(tree.dept_a, "soc_analyst")
    api.force_authenticate(analyst)
    created = api.post(
        reverse("api:eventsource-list"),
        {"organization": str(tree.dept_a.pk), "name": "Tường lửa sở A", "log_format": "cef"},
        format="json",
    )
    assert created.status_code == 201, created.content
    token = created.json()["token"]
    assert token.startswith("attt_src_")
    detail = api.get(reverse("api:eventsource-detail", args=[created.json()["id"]])).json()
    assert detail["token"] is None and detail["token_hint"] == token[:13]
    rotated = api.post(reverse("api:eventsource-rotate-token", args=[created.json()["id"]])).json()["token"]
    api.force_authenticate(None)
    line = b"<134>Oct 11 22:14:15 fw CEF:0|V|P|1|1|n|3|src=10.0.0.1"
    assert post(api, token, line).status_code == 401
    assert post(api, rotated, line).json()["accepted"] == 1
    api.force_authenticate(analyst)
    health = api.get(reverse("api:eventsource-health", args=[created.json()["id"]])).json()
    assert health["events_1h"] == 1 and health["silent"] is False


def test_isolation_an_organisation_sees_only_its_sources_and_events(api, tree):
    mine, token_a = make_source(tree.dept_a)
    other, token_b = make_source(tree.dept_b)
    post(api, token_a, GOOD)
    post(api, token_b, GOOD.replace(b"login", b"secret-of-b"))
    analyst = make_user(tree.dept_a, "soc_analyst")
    api.force_authenticate(analyst)
    listed = [s["id"] for s in api.get(reverse("api:eventsource-list")).json()["results"]]
    assert listed == [str(mine.pk)]
    assert api.get(reverse("api:eventsource-detail", args=[other.pk])).status_code == 404
    assert api.get(reverse("api:eventsource-health", args=[other.pk])).status_code == 404
    events = services.recent_events(analyst)
    assert [e["message"] for e in events] == ["login"]
    assert services.throughput(analyst)["events_24h"] == 1 and services.throughput(analyst)["sources"] == 1
    national = make_user(tree.root, "soc_analyst", username="national-soc")
    assert services.throughput(national)["events_24h"] == 2
    assert len(services.recent_events(national)) == 2


def test_silent_source_warns_its_organisation_once_and_sets_layer_4(tree, django_capture_on_commit_callbacks):
    officer = make_user(tree.dept_a, "soc_analyst")
    outsider = make_user(tree.dept_b, "soc_analyst")
    system = make_system(tree.dept_a)
    src, _ = make_source(tree.dept_a, expected_interval_minutes=10)
    src.systems.add(system)
    Source.objects.filter(pk=src.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=11))
    assert [s.pk for s in services.silent_sources(officer)] == [src.pk]
    assert services.silent_sources(outsider) == []
    assert services.check_sources()["warned"] == 1
    assert services.check_sources()["warned"] == 0  # once per silence
    warnings = Notification.objects.filter(level=Notification.Level.WARNING)
    assert {n.recipient for n in warnings} == {officer}
    assert compliance.layers_of(system).national_monitoring_connected is False
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        services.accept(src, GOOD)  # the source speaks again, through an instance loaded before the silence
        assert compliance.layers_of(system).national_monitoring_connected is False
    assert len(after_commit) == 1  # layer 4 is set once the batch's transaction has committed
    assert compliance.layers_of(system).national_monitoring_connected is True
    assert services.silent_sources(officer) == []
    assert Source.objects.get(pk=src.pk).silent_since is None
    Source.objects.filter(pk=src.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=11))
    assert services.check_sources()["warned"] == 1  # a new silence warns again


def test_enrichment_maps_addresses_to_registry_systems_longest_prefix_first(tree, source):
    src, _ = source
    wide = make_system(tree.dept_a, name="Mạng tỉnh")
    narrow = make_system(tree.dept_b, name="Cổng dịch vụ công")
    IPRange.objects.create(system=wide, organization=tree.dept_a, cidr="198.51.0.0/16")
    IPRange.objects.create(system=narrow, organization=tree.dept_b, cidr="198.51.100.0/24")
    services.forget_index()
    seen = []
    pipeline.register_consumer("test", seen.extend)
    try:
        services.accept(src, GOOD + b"\n" + GOOD.replace(b"198.51.100.7", b"198.51.7.7"))
    finally:
        pipeline._consumers.pop("test")
    assert [e.system_id for e in seen] == [narrow.pk, wide.pk]
    assert seen[0].ecs["attt"]["system"]["name"] == "Cổng dịch vụ công"


def test_file_replay_of_evtx_json(tree, tmp_path):
    import glob

    files = sorted(glob.glob("/work/shared/testdata/sigma/regression_data/**/*.json", recursive=True))[:5]
    if not files:
        pytest.skip("Sigma regression data missing")
    src, _ = make_source(tree.dept_a, log_format="evtx_json")
    path = tmp_path / "replay.json"
    path.write_text("\n".join(Path(f).read_text(encoding="utf-8") for f in files), encoding="utf-8")
    ack = services.replay_file(src, path)
    assert ack["rejected"] == 0 and ack["accepted"] >= 5
    assert services.store().total() == ack["accepted"]


def test_demo_loader_creates_sources_and_replays_events(tree):
    import io
    import random

    from attt.core import demo
    from attt.core.services.organizations import create_organization
    from attt.monitoring import demo_data

    create_organization(parent=tree.root, code="ttgs-quoc-gia", name="Trung tâm Giám sát", kind="unit")
    create_organization(parent=tree.province_a, code="byt-cntt", name="Cục CNTT", kind="operator")
    ctx = demo.DemoContext(rng=random.Random(1), scale=0.1, progress=lambda message: None, stdout=io.StringIO())
    result = demo_data.load(ctx)
    assert result["sources"] == 3 and result["events"] == 40  # the IDS sensor stays silent on purpose
    firewall = services.store().search(None, EventQuery(host="fw-dc01"), limit=50).hits
    assert len(firewall) == 20 and all(h.document["log"]["syslog"]["hostname"] == "fw-dc01" for h in firewall)
    assert (
        services.store().per_source(0)[str(Source.objects.get(name="Cổng thu nhận nhật ký các SOC").pk)]["rejected"]
        == 1
    )


@pytest.mark.parametrize("day", [5, 25])
def test_the_demo_firewall_writes_syslog_headers_as_a_device_does(day):
    """From the 10th of a month on, the demo's headers lost the hour's zero ("Nov 25  3:59:49"): not RFC 3164, so
    every firewall event was stored with no host and at its receive time."""
    import random

    from attt.monitoring.demo_data import _cef_lines
    from attt.monitoring.parsers import parse_syslog

    now = dt.datetime(2026, 11, day, 3, 59, 50, tzinfo=dt.UTC)
    for offset, line in enumerate(_cef_lines(random.Random(1), now, 3).split(b"\n")):
        record = parse_syslog(line, now=now)
        assert record["hostname"] == "fw-dc01"
        assert record["timestamp"] == now - dt.timedelta(seconds=3 - offset)


def test_a_failing_consumer_does_not_fail_the_sender_and_the_batch_is_retried(api, source, monkeypatch):
    _, token = source
    monkeypatch.setattr(services.spool(), "lease_seconds", 0)  # no wait before the next attempt

    def broken(events):
        raise RuntimeError("detection down")

    pipeline.register_consumer("broken", broken)
    try:
        assert post(api, token, GOOD).json()["accepted"] == 1
    finally:
        pipeline._consumers.pop("broken")
    assert services.spool().pending()[0] == 1
    assert services.drain_spool() == 1
    assert services.spool().pending()[0] == 0 and services.store().total() == 1


def test_rejections_of_a_batch_refused_before_it_was_durable_are_counted_once_its_retry_is(tree, source, monkeypatch):
    """A sender (or the syslog listener) retries a refused batch: its bad lines must be counted once, so they are
    recorded only after the good lines are durable."""
    src = source[0]
    batch = GOOD + b"\n{broken\n"
    spool = services.spool()
    with monkeypatch.context() as down:
        down.setattr(spool, "append", lambda *a, **k: (_ for _ in ()).throw(OSError("disk I/O error")))
        with pytest.raises(OSError):
            services.accept(src, batch)
    assert services.store().recent_rejections(str(src.pk)) == []
    assert services.accept(src, batch)["rejected"] == 1
    assert len(services.store().recent_rejections(str(src.pk))) == 1 and services.store().total() == 1


def test_retention_job_keeps_the_set_number_of_days_and_refuses_fewer_than_90(tree, source, monkeypatch):
    source = source[0]
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    recent = timezone.now().isoformat()
    old = (timezone.now() - dt.timedelta(days=120)).isoformat()
    body = b"\n".join(b'{"@timestamp": "%s", "n": %d}' % (when.encode(), n) for n, when in enumerate([old, recent]))
    services.accept(source, b'{"@timestamp": "%s", "n": 8}' % old.encode())  # a replay: kept for the period
    with monkeypatch.context() as stored_then:
        then_ms = int(dt.datetime.fromisoformat(old).timestamp() * 1000)
        stored_then.setattr("attt.monitoring.store.now_ms", lambda: then_ms)
        services.accept(source, body)  # one batch: kept whole while its newest event is within the period
        services.accept(source, b'{"@timestamp": "%s", "n": 9}' % old.encode())
    monkeypatch.setenv("ATTT_MONITORING_RETENTION_DAYS", "100")
    assert services.apply_retention() == {"removed": 1, "retention_days": 100}
    assert services.store().count(None, 0) == 3
    monkeypatch.setenv("ATTT_MONITORING_RETENTION_DAYS", "30")
    with pytest.raises(ValueError, match="at least 90"):
        services.apply_retention()
    with pytest.raises(SystemCheckError, match=r"attt\.monitoring\.E001"):
        call_command("check")


def test_a_retention_shorter_than_the_regime_asks_is_a_warning(monkeypatch):
    from attt.monitoring.apps import _check_settings
    from attt.regulation import services as regulation

    longest = regulation.longest_retention(regulation.regime_in_force())
    monkeypatch.setenv("ATTT_MONITORING_RETENTION_DAYS", str(longest.retention_days))
    assert _check_settings(None) == []
    monkeypatch.setenv("ATTT_MONITORING_RETENTION_DAYS", str(longest.retention_days - 1))
    (warning,) = _check_settings(None)
    assert warning.id == "attt.monitoring.W001" and f"level {longest.level}" in warning.msg


def test_cli_lists_the_batches_set_aside_and_puts_them_back(tree, source, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    from attt.monitoring.spool import MAX_ATTEMPTS

    spool = services.spool()
    monkeypatch.setattr(spool, "lease_seconds", 0)
    batch = spool.append(source[0].pk, 1, b"not a batch")
    for _ in range(MAX_ATTEMPTS):
        spool.release(batch, "ValueError: not an attt batch")
    out = StringIO()
    call_command("ingest", "set-aside", stdout=out)
    assert f'"id": {batch}' in out.getvalue() and "not an attt batch" in out.getvalue()
    out = StringIO()
    call_command("ingest", "set-aside", "--retry", stdout=out)
    assert out.getvalue().startswith("1 batches put back") and spool.set_aside() == []


def test_the_live_page_tells_the_platform_operators_of_batches_set_aside(client, tree, source, monkeypatch):
    from django.contrib.auth import get_user_model

    from attt.monitoring.spool import MAX_ATTEMPTS

    spool = services.spool()
    monkeypatch.setattr(spool, "lease_seconds", 0)
    batch = spool.append(source[0].pk, 1, b"not a batch")
    for _ in range(MAX_ATTEMPTS):
        spool.release(batch, "ValueError: not an attt batch")
    operator = get_user_model().objects.create_superuser("ops", "ops@example.invalid", "x")
    analyst = make_user(tree.dept_a, "soc_analyst", username="soc-set-aside")
    for user, shown in ((operator, True), (analyst, False)):
        client.force_login(user)
        page = client.get(reverse("monitoring:live_fragment")).content.decode()
        assert ('data-testid="set-aside"' in page) is shown


def test_the_live_page_tells_the_platform_operators_of_parked_syslog_batches(client, tree, source):
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.create_superuser("ops-parked", "ops@example.invalid", "x")
    client.force_login(operator)
    assert 'data-testid="parked"' not in client.get(reverse("monitoring:live_fragment")).content.decode()
    services.park(source[0], b"<13>Oct 11 22:14:15 host app: refused")
    services.park(source[0], b"<13>Oct 11 22:14:16 host app: refused too")
    page = client.get(reverse("monitoring:live_fragment")).content.decode()
    assert 'data-testid="parked"' in page and services.parked_count() == 2
    client.force_login(make_user(tree.dept_a, "soc_analyst", username="soc-parked"))
    assert 'data-testid="parked"' not in client.get(reverse("monitoring:live_fragment")).content.decode()


def test_the_live_card_narrows_to_an_organisation_and_refuses_one_out_of_scope(client, tree):
    """The detection dashboard passes its ?org= on: the card then counts that subtree's sources only."""
    from django.contrib.auth import get_user_model

    make_source(tree.dept_a)
    make_source(tree.province_b)
    operator = get_user_model().objects.create_superuser("ops-card", "ops@example.invalid", "x")
    client.force_login(operator)
    url = reverse("monitoring:live_stats")
    assert "0 / 2" in client.get(url).content.decode()
    assert "0 / 1" in client.get(url, {"org": tree.province_a.pk}).content.decode()
    analyst = make_user(tree.province_a, "soc_analyst", username="soc-card")
    client.force_login(analyst)
    assert "0 / 1" in client.get(url).content.decode()
    assert client.get(url, {"org": tree.province_b.pk}).status_code == 404
    assert client.get(url, {"org": "nonsense"}).status_code == 404
