"""Monitoring's own settings, read from ATTT_MONITORING_* variables (or Django settings of the same name), so the
embedded default needs nothing and a scale-out deployment only sets variables."""

from __future__ import annotations

import os
from pathlib import Path


def _setting(name: str, default: str) -> str:
    """The environment first (read at each call, so a test or a worker can point elsewhere), then a Django
    setting of the same name, then the default."""
    if name in os.environ:
        return os.environ[name]
    from django.conf import settings

    if settings.configured and hasattr(settings, name):
        return str(getattr(settings, name))
    return default


def data_dir() -> Path:
    """Folder of the spool and the embedded event store (ATTT_MONITORING_DIR, else <ATTT_DATA_DIR>/monitoring)."""
    base = os.environ.get("ATTT_DATA_DIR")
    if base is None:
        try:
            from django.conf import settings

            base = str(settings.DATA_DIR)
        except Exception:
            base = "var"
    path = Path(_setting("ATTT_MONITORING_DIR", str(Path(base) / "monitoring")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def transport() -> str:
    """'spool' (embedded default: a local fsynced SQLite spool) or 'nats' (JetStream between gateways and workers)."""
    return _setting("ATTT_MONITORING_TRANSPORT", "spool")


def nats_servers() -> list[str]:
    return [s for s in _setting("ATTT_MONITORING_NATS_URL", "nats://127.0.0.1:4222").split(",") if s]


def store_kind() -> str:
    """'sqlite' (embedded default) or 'clickhouse' (ATTT_MONITORING_CLICKHOUSE_URL)."""
    return _setting("ATTT_MONITORING_STORE", "sqlite")


def clickhouse_url() -> str:
    return _setting("ATTT_MONITORING_CLICKHOUSE_URL", "http://127.0.0.1:8123/attt")


def max_batch_bytes() -> int:
    return int(_setting("ATTT_MONITORING_MAX_BATCH_BYTES", str(32 * 1024 * 1024)))


def max_batch_lines() -> int:
    """Lines of one HTTP batch. The acknowledgement names every rejected line: 32 MiB of two-byte lines would be
    16 million reasons held and answered (gigabytes); a real batch of 32 MiB holds tens of thousands of events."""
    return int(_setting("ATTT_MONITORING_MAX_BATCH_LINES", "200000"))


MIN_RETENTION_DAYS = 90  # alert and event search promise at least 90 days


def retention_days() -> int:
    """Days events are kept (ATTT_MONITORING_RETENTION_DAYS, default 365, at least 90)."""
    raw = _setting("ATTT_MONITORING_RETENTION_DAYS", "365")
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"ATTT_MONITORING_RETENTION_DAYS must be a whole number of days, not {raw!r}") from None
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"ATTT_MONITORING_RETENTION_DAYS must be at least {MIN_RETENTION_DAYS} (it is {days})")
    return days
