"""The durable spool between a gateway's acknowledgement and the store: one SQLite file in WAL mode with
synchronous=FULL, so a batch is on disk (fsynced) before the sender hears "accepted". Workers claim batches
with a lease; a batch whose worker died (kill -9) is claimed again when the lease runs out. A batch leaves the
spool only after it is stored and handed to consumers: delivery is at least once, the store drops repeats by
event id. A batch whose processing fails waits before its next attempt (a lease, then twice as long each time)
so it does not hold up the batches behind it; after `MAX_ATTEMPTS` it is set aside (kept, listed, revivable)
rather than tried for ever."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    received REAL NOT NULL,
    events INTEGER NOT NULL,
    payload BLOB NOT NULL,
    claimed_by TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,  -- failed attempts so far
    error TEXT  -- why the last attempt failed
);
CREATE INDEX IF NOT EXISTS batch_lease ON batch (lease_until, id);
"""
MAX_ATTEMPTS = 8  # with a 60 s lease the last attempt comes ~2 hours after the first failure (60 s doubling, ≤ 1 h)
MAX_WAIT_S = 3600.0


class Spool:
    def __init__(self, path: Path | str, *, lease_seconds: float = 60.0) -> None:
        self.path = str(path)
        self.lease_seconds = lease_seconds
        self.worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()  # one connection shared by this process's threads
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(batch)")}
        for column, kind in (("attempts", "INTEGER NOT NULL DEFAULT 0"), ("error", "TEXT")):
            if column not in columns:  # a spool made before failed attempts were counted
                self._db.execute(f"ALTER TABLE batch ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self._db.close()

    def append(self, source_id: uuid.UUID | str, events: int, payload: bytes, *, hold: bool = False) -> int:
        """Write one batch durably; returns its spool id once committed (WAL + synchronous=FULL: fsynced).
        With `hold` the writer keeps the lease and processes the batch itself (no other worker takes it
        unless this process dies and the lease runs out)."""
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO batch (source_id, received, events, payload, claimed_by, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    str(source_id),
                    now,
                    events,
                    payload,
                    self.worker if hold else None,
                    now + self.lease_seconds if hold else 0,
                ),
            )
        return cursor.lastrowid

    def claim(self, limit: int = 1, after: int = 0) -> list[tuple[int, str, bytes]]:
        """Up to `limit` batches no live worker holds, leased to this worker: (spool id, source id, payload), oldest
        first. `after`: the last id the caller took in this pass, so a batch it failed is not taken again in the
        same pass (whatever the wait before a retry, and in one bounded query however many failed)."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute(
                    "SELECT id, source_id, payload FROM batch WHERE lease_until < ? AND attempts < ? AND id > ? "
                    "ORDER BY id LIMIT ?",
                    (now, MAX_ATTEMPTS, after, limit),
                ).fetchall()
                if rows:
                    self._db.executemany(
                        "UPDATE batch SET claimed_by = ?, lease_until = ? WHERE id = ?",
                        [(self.worker, now + self.lease_seconds, row[0]) for row in rows],
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return rows

    def done(self, batch_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM batch WHERE id = ?", (batch_id,))

    def release(self, batch_id: int, error: str = "") -> None:
        """Give a batch back after a failed attempt: it is tried again after a lease, twice as long after each
        further failure (at most an hour), and set aside after `MAX_ATTEMPTS`. A batch already gone (its lease ran
        out and another process stored it) is left alone."""
        with self._lock:
            row = self._db.execute("SELECT attempts FROM batch WHERE id = ?", (batch_id,)).fetchone()
            if row is None:
                return
            (attempts,) = row
            wait = min(self.lease_seconds * 2**attempts, MAX_WAIT_S)
            self._db.execute(
                "UPDATE batch SET claimed_by = NULL, lease_until = ?, attempts = attempts + 1, error = ? WHERE id = ?",
                (time.time() + wait, error[:1000], batch_id),
            )

    def pending(self) -> tuple[int, int, float | None]:
        """(batches, events, oldest received time) still waiting: the lag of the pipeline."""
        batches, events, oldest = self._db.execute(
            "SELECT count(*), coalesce(sum(events), 0), min(received) FROM batch WHERE attempts < ?", (MAX_ATTEMPTS,)
        ).fetchone()
        return batches, events, oldest

    def set_aside(self) -> list[dict]:
        """Batches whose every attempt failed: kept, not tried again until revived."""
        rows = self._db.execute(
            "SELECT id, source_id, received, events, attempts, error FROM batch WHERE attempts >= ? ORDER BY id",
            (MAX_ATTEMPTS,),
        )
        keys = ("id", "source_id", "received", "events", "attempts", "error")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def set_aside_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM batch WHERE attempts >= ?", (MAX_ATTEMPTS,)).fetchone()[0]

    def revive(self) -> int:
        """Put the batches set aside back in the queue (once what made them fail is mended). Returns how many."""
        with self._lock:
            return self._db.execute(
                "UPDATE batch SET attempts = 0, error = NULL, lease_until = 0, claimed_by = NULL WHERE attempts >= ?",
                (MAX_ATTEMPTS,),
            ).rowcount
