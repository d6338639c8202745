"""What other modules may ask of central monitoring, and the ingest entry points the API, the CLI and the jobs
share: accept a batch (normalise, spool durably, process), source health, silence warnings, enrichment."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from functools import cache
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from attt.core import scoping
from attt.core.formats import local_time
from attt.core.models import Notification
from attt.core.services import jobs, notifications
from attt.monitoring import conf
from attt.monitoring.enrich import EnrichmentIndex, SystemInfo
from attt.monitoring.models import Source, hash_token
from attt.monitoring.normalise import SourceRef, events_payload, normalise_file_text, normalise_lines
from attt.monitoring.pipeline import NormalisedEvent, hand_over
from attt.monitoring.spool import Spool
from attt.monitoring.store import EventQuery, SearchResult, SQLiteEventStore, now_ms
from attt.monitoring.worker import drain, process

logger = logging.getLogger(__name__)
RATE_WINDOW_S = 300  # events/s is averaged over the last five minutes


# --- Spool and store of this process ------------------------------------------------------------------------


@cache
def _spool(path: str) -> Spool:
    return Spool(path)


@cache
def _store(path: str):
    if conf.store_kind() == "clickhouse":
        from attt.monitoring.store import ChDBExecutor, ClickHouseEventStore, ClickHouseExecutor

        url = conf.clickhouse_url()
        executor = ChDBExecutor(url.removeprefix("chdb://")) if url.startswith("chdb://") else ClickHouseExecutor(url)
        return ClickHouseEventStore(executor)
    return SQLiteEventStore(path)


def spool() -> Spool:
    return _spool(str(conf.data_dir() / "spool.sqlite3"))


def store() -> SQLiteEventStore:
    """The event store of this process: SQLite by default, ClickHouse with ATTT_MONITORING_STORE=clickhouse
    (ATTT_MONITORING_CLICKHOUSE_URL: http(s)://user:password@host:8123/database, or chdb:///path in-process)."""
    return _store(str(conf.data_dir() / "events.sqlite3"))


# --- Enrichment index (refreshed from the registry) -----------------------------------------------------------

_index: tuple[float, EnrichmentIndex] | None = None
_index_lock = threading.Lock()
INDEX_TTL_S = 300


def enrichment_index(refresh: bool = False) -> EnrichmentIndex:
    """The registry's IP ranges, server addresses and domains as an in-memory index, rebuilt every five minutes."""
    global _index
    with _index_lock:
        if refresh or _index is None or time.monotonic() - _index[0] > INDEX_TTL_S:
            _index = (time.monotonic(), _build_index())
        return _index[1]


def _build_index() -> EnrichmentIndex:
    from attt.compliance import services as compliance
    from attt.registry import services as registry

    systems = registry.visible_systems(registry.system_actor()).prefetch_related("ip_ranges", "servers", "domains")
    networks, domains = [], []
    for system in systems:
        info = SystemInfo(
            system.pk,
            system.organization_id,
            system.name,
            system.priority_sector or "",
            compliance.approved_level(system),
        )
        networks += [(r.cidr, info) for r in system.ip_ranges.all()]
        networks += [(s.ip_address, info) for s in system.servers.all() if s.ip_address]
        domains += [(d.ascii_name, info) for d in system.domains.all()]
        domains += [(s.hostname, info) for s in system.servers.all() if s.hostname]
    return EnrichmentIndex.build(networks, domains)


def forget_index() -> None:
    global _index
    _index = None


# --- Sources ---------------------------------------------------------------------------------------------------


def authenticate(token: str) -> Source | None:
    """The active source holding this credential (constant-time by hashing first), else None."""
    if not token:
        return None
    return Source.objects.filter(token_hash=hash_token(token), is_active=True).select_related("organization").first()


def rotate_token(source: Source) -> str:
    """Replace the source's credential; the old one stops working at once. Returns the new token (shown once)."""
    token = source.new_token()
    source.save(update_fields=["token_hash", "token_hint", "updated_at"])
    return token


def source_ref(source: Source) -> SourceRef:
    return SourceRef(source.pk, source.organization_id, source.log_format)


# --- Accepting batches -----------------------------------------------------------------------------------------


def accept(source: Source, data: bytes, *, text_file: bool = False) -> dict:
    """Normalise a batch, make its events durable (spool fsync or JetStream ack) and process them, then record its
    rejections. Returns the acknowledgement: counts and a reason per rejected line number."""
    ref = source_ref(source)
    if text_file:
        events, rejected = normalise_file_text(data, ref)  # bytes: an object that is not UTF-8 is rejected
    else:
        events, rejected = normalise_lines(data, ref)
    if events:
        if conf.transport() == "nats":
            from attt.monitoring import transport

            transport.publish_events_sync(events, ref)
        else:
            payload = events_payload(events, ref, None if text_file else data)
            batch_id = spool().append(source.pk, len(events), payload, hold=True)
            try:
                process(events, store(), enrichment_index(), hand_over, payload)
            except Exception as exc:  # durable already: the spool job retries it; the sender's answer stays 202
                logger.exception("batch %s of source %s left in the spool for a retry", batch_id, source.pk)
                spool().release(batch_id, f"{type(exc).__name__}: {exc}")
            else:
                spool().done(batch_id)
    # After the accepted lines are durable: a sender (or the syslog listener) retrying a batch refused before
    # that point does not have its rejections counted twice.
    store().reject(source.pk, source.organization_id, rejected)
    mark_seen(source)
    return {
        "accepted": len(events),
        "rejected": len(rejected),
        "errors": [{"line": line, "reason": reason} for line, reason in rejected],
    }


def park(source: Source, data: bytes) -> Path:
    """Keep a batch `accept` kept refusing (the syslog listener's last resort, so that the batches after it can go
    on): its lines as received, in a file of their own under the data folder that `attt ingest file PATH --source
    ID` replays once the cause is mended. Written whole or not at all (a temporary name, fsync, then renamed)."""
    folder = conf.data_dir() / "parked" / str(source.pk)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{timezone.now():%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}.log"  # sorts by time
    partial = path.with_suffix(".partial")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(data + b"\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)  # the new name survives a crash too
    finally:
        os.close(directory)
    return path


def mark_seen(source: Source) -> None:
    """The silence flag is read from the database, not from `source`: a syslog listener holds its Source for
    days, so its copy never learns that `check_sources` marked it silent."""
    now = timezone.now()
    Source.objects.filter(pk=source.pk).update(last_seen_at=now)
    source.last_seen_at = now
    if Source.objects.filter(pk=source.pk, silent_since__isnull=False).update(silent_since=None):
        source.silent_since = None
        # After this transaction: it holds the source's row now, and layer 4 takes the audit chain's lock,
        # which comes first in the one lock order (docs/architecture.md).
        # `robust`: a failure is logged, not raised after the batch was stored; the silence job reconnects it.
        transaction.on_commit(lambda: _set_layer4(source, connected=True, seen=now), robust=True)


def replay_file(source: Source, path: Path, *, chunk_lines: int = 5000) -> dict:
    """`attt ingest file`: an EVTX-JSON file (one or more objects) or NDJSON, in batches. Every object or line ends
    up accepted or rejected: a bad object is rejected with the lines it spans and the next one is read."""
    data = path.read_bytes()
    if source.log_format == "evtx_json" or path.suffix.lower() == ".json":
        return accept(source, data, text_file=True)
    totals = {"accepted": 0, "rejected": 0, "errors": []}
    lines = data.split(b"\n")
    for start in range(0, len(lines), chunk_lines):
        ack = accept(source, b"\n".join(lines[start : start + chunk_lines]))
        totals["accepted"] += ack["accepted"]
        totals["rejected"] += ack["rejected"]
        totals["errors"] += [{"line": e["line"] + start, "reason": e["reason"]} for e in ack["errors"]]
    return totals


def apply_retention() -> dict:
    """Delete events older than the retention period (a daily job)."""
    days = conf.retention_days()
    return {"removed": store().remove_before(now_ms() - days * 86400 * 1000), "retention_days": days}


def set_aside_count() -> int:
    """Batches of the embedded spool set aside after failing every attempt (JetStream: `attt ingest set-aside`)."""
    return spool().set_aside_count() if conf.transport() != "nats" else 0


def parked_count() -> int:
    """Syslog batches parked on this machine (`park`) and not yet replayed: a replayed file is the operator's to
    remove. Listeners on other machines park in their own folders."""
    folder = conf.data_dir() / "parked"
    return sum(1 for _ in folder.glob("*/*.log")) if folder.is_dir() else 0


def drain_spool(*, follow: bool = False) -> int:
    """Process batches left in the spool by a crashed process (a scheduled job; `attt ingest worker`, which
    follows the spool with `follow`)."""
    return drain(spool(), store(), enrichment_index, follow=follow, before_batch=jobs.between_units_of_work)


def consume_nats(events: list[NormalisedEvent], frame: bytes | None) -> None:
    """A JetStream worker's step: the same processing as the embedded path (the worker thread's database
    connection checked first: it may have been lost since the thread's last batch)."""
    jobs.between_units_of_work()
    process(events, store(), enrichment_index(), hand_over, frame)


# --- Health ----------------------------------------------------------------------------------------------------


def health(sources: list[Source]) -> dict:
    """{source id: {"last_seen", "events_per_s", "events_1h", "rejected_1h", "error_rate", "lag_s", "silent"}}."""
    since = now_ms() - 3600 * 1000
    recent = now_ms() - RATE_WINDOW_S * 1000
    stats = store().per_source(since)
    rates = store().per_source(recent)
    figures = {}
    for source in sources:
        s = stats.get(str(source.pk), {})
        events, rejected = s.get("events", 0), s.get("rejected", 0)
        lag = None
        if s.get("last_ingested") and s.get("last_event"):
            lag = max(0.0, (s["last_ingested"] - s["last_event"]) / 1000)
        figures[source.pk] = {
            "last_seen": source.last_seen_at,
            "events_per_s": round(rates.get(str(source.pk), {}).get("events", 0) / RATE_WINDOW_S, 2),
            "events_1h": events,
            "rejected_1h": rejected,
            "error_rate": round(rejected / (events + rejected), 4) if events + rejected else 0.0,
            "lag_s": lag,
            "silent": is_silent(source),
        }
    return figures


def is_silent(source: Source, now: dt.datetime | None = None) -> bool:
    if not source.is_active:
        return False
    now = now or timezone.now()
    since = source.last_seen_at or source.created_at
    return since is not None and now - since > dt.timedelta(minutes=source.expected_interval_minutes)


def sees_sources(user) -> bool:
    """Whether the user may see event sources somewhere (the live figures' permission)."""
    return scoping.get_scope(user).has_anywhere("monitoring.source.view")


def organization_in_scope(user, pk):
    """The organisation `pk` whose sources the user may see, else None (a page narrowed with ?org=)."""
    return scoping.organization_where(user, "monitoring.source.view", pk)


def visible_sources(user, organization=None):
    queryset = scoping.visible(user, Source.objects.select_related("organization"))
    if organization is not None:
        queryset = queryset.filter(organization__path__startswith=organization.path)
    return queryset


def visible_organization_ids(user, organization=None) -> list[str] | None:
    """Organisations whose events the user may see (None = all): those where they may view sources."""
    scope = scoping.get_scope(user)
    if scope.is_superuser and organization is None:
        return None
    organizations = scoping.organizations_where(user, "monitoring.source.view")
    if organization is not None:
        organizations = organizations.filter(path__startswith=organization.path)
    return [str(pk) for pk in organizations.values_list("pk", flat=True)]


def throughput(user, organization=None) -> dict:
    """Live figures within the user's scope (optionally one subtree): {"events_per_s": float,
    "events_24h": int, "sources": int, "silent_sources": int, "rejected_24h": int}."""
    sources = list(visible_sources(user, organization))
    ids = {str(s.pk) for s in sources}
    day = store().per_source(now_ms() - 86400 * 1000)
    recent = store().per_source(now_ms() - RATE_WINDOW_S * 1000)
    return {
        "events_per_s": round(sum(v["events"] for k, v in recent.items() if k in ids) / RATE_WINDOW_S, 2),
        "events_24h": sum(v["events"] for k, v in day.items() if k in ids),
        "sources": len(sources),
        "silent_sources": sum(1 for s in sources if is_silent(s)),
        "rejected_24h": sum(v.get("rejected", 0) for k, v in day.items() if k in ids),
    }


def silent_sources(user, organization=None) -> list:
    """Sources in scope silent beyond their expected interval, oldest silence first."""
    found = [s for s in visible_sources(user, organization).filter(is_active=True) if is_silent(s)]
    return sorted(found, key=lambda s: s.last_seen_at or s.created_at)


def search_events(user, query: EventQuery, organization=None, limit: int = 50) -> SearchResult:
    """Stored events in the user's scope (or one subtree of it) matching `query`, newest first."""
    return store().search(visible_organization_ids(user, organization), query, limit)


def recent_events(user, organization=None, limit: int = 50, source: Source | None = None) -> list[dict]:
    return store().recent(
        visible_organization_ids(user, organization), limit=limit, source_id=str(source.pk) if source else None
    )


# --- Silence warnings and layer 4 (scheduled job) -------------------------------------------------------------------


def check_sources() -> dict:
    """Warn each organisation about its sources silent beyond their interval (once per silence) and set the
    'connected to national monitoring' layer-4 status of the systems sources cover: connected while any active
    source covering the system receives, else disconnected (a source still in its first interval decides
    nothing)."""
    from attt.compliance import services as compliance

    now = timezone.now()
    warned = 0
    covering: dict = {}  # system id → (system, [(source, silent)])
    for source in Source.objects.select_related("organization").prefetch_related("systems"):
        silent = is_silent(source, now)
        if silent and source.silent_since is None:
            with transaction.atomic():
                # Only while the source is as read: a batch seen or another run's warning since then wins.
                unchanged = Source.objects.filter(
                    pk=source.pk, silent_since__isnull=True, last_seen_at=source.last_seen_at
                )
                if not unchanged.update(silent_since=now):
                    continue
                notifications.notify_permission_holders(
                    "monitoring.source.change",
                    source.organization,
                    title=_("Event source silent: %(name)s") % {"name": source.name},
                    body=_silence_text(source),
                    link=source.get_absolute_url(),
                    level=Notification.Level.WARNING,
                )
            warned += 1
        for system in source.systems.all():
            covering.setdefault(system.pk, (system, []))[1].append((source, silent))
    connected = 0
    for system, sources in covering.values():
        receiving = [s.last_seen_at for s, silent in sources if s.is_active and not silent and s.last_seen_at]
        if receiving:
            compliance.set_national_monitoring(system, connected=True, seen=max(receiving))
            connected += 1
        elif any(silent or not s.is_active for s, silent in sources):
            seen = max((s.last_seen_at for s, _silent in sources if s.last_seen_at), default=None)
            compliance.set_national_monitoring(system, connected=False, seen=seen)
    return {"warned": warned, "connected": connected}


def _silence_text(source: Source) -> str:
    """The warning's body, with times in the platform's zone as people read them."""
    if source.last_seen_at is None:
        text = _(
            "No events received since it was registered on %(when)s (expected at least every %(minutes)s minutes)."
        )
    else:
        text = _("No events since %(when)s (expected at least every %(minutes)s minutes).")
    when = source.last_seen_at or source.created_at
    return text % {"when": local_time(when), "minutes": source.expected_interval_minutes}


def _set_layer4(source: Source, *, connected: bool, seen) -> None:
    from attt.compliance import services as compliance

    for system in source.systems.all():
        compliance.set_national_monitoring(system, connected=connected, seen=seen)
