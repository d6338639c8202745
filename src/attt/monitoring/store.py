"""The event store. Embedded default: one SQLite file in WAL mode beside the platform's database, written by
ingest workers and read by the web server from several processes at once (busy timeout, BEGIN IMMEDIATE for
writes), events keyed by their id so a re-delivered batch adds nothing. See docs/monitoring.md "Event store"
for the measurements behind the choice and the ClickHouse deployment for scale-out."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import orjson

from attt.monitoring.pipeline import NormalisedEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS event (
    id BLOB NOT NULL,
    organization_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    system_id TEXT,
    ts INTEGER NOT NULL,
    ingested INTEGER NOT NULL,
    dataset TEXT,
    host TEXT,
    doc BLOB NOT NULL,
    original BLOB
);
-- (time, id) rather than id alone: the same event always has the same time, and time-ordered keys are appended
-- near the end of the index instead of at random pages.
CREATE UNIQUE INDEX IF NOT EXISTS event_ts_id ON event (ts, id);
CREATE INDEX IF NOT EXISTS event_org_ts ON event (organization_id, ts);
-- Covers the live figures (events per source since a time) without reading the documents.
CREATE INDEX IF NOT EXISTS event_ingested ON event (ingested, source_id, ts);
CREATE TABLE IF NOT EXISTS rejection (
    source_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    line INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejection_source_at ON rejection (source_id, at);
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def _placeholders(values: list) -> str:
    return ",".join("?" * len(values))


class SQLiteEventStore:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        # Big pages for a new file (an existing file keeps its own): ~2.7 KB documents fill a 4 KiB page each and
        # leave it a third empty, and every page costs a WAL frame and a checkpoint write; 64 KiB pages halve the
        # insert cost (bench/ingest.py). Must come before WAL mode, which fixes the page size.
        self._db.execute("PRAGMA page_size=65536")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durability comes from the spool, which is replayed
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("PRAGMA cache_size=-65536")  # 64 MiB: the indexes' hot pages stay in memory
        self._db.executescript(SCHEMA)
        if "original" not in {row[1] for row in self._db.execute("PRAGMA table_info(event)")}:
            self._db.execute("ALTER TABLE event ADD COLUMN original BLOB")  # a file made before the column existed

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, rows: Iterable[tuple]) -> int:
        with self._lock:  # one connection shared by this process's threads: one transaction at a time
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.total_changes
                self._db.executemany(sql, rows)
                added = self._db.total_changes - before
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return added

    def insert(self, events: list[NormalisedEvent]) -> int:
        """Store a batch; events already stored (same id) are skipped. Returns how many were new.

        `event.original` is stored as the bytes received, in its own column, and the document without it: the
        original is most of the document, and escaping it into a JSON string again cost more than the insert
        (`recent` puts it back)."""
        ingested = now_ms()
        text = _texts()  # a batch comes from one source: its ids are formatted once
        return self._write(
            "INSERT OR IGNORE INTO event VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    bytes.fromhex(e.id),
                    text(e.organization_id),
                    text(e.source_id),
                    text(e.system_id) if e.system_id else None,
                    int(e.timestamp.timestamp() * 1000),
                    ingested,
                    *_document_parts(e.ecs),
                )
                for e in events
            ),
        )

    def reject(self, source_id: uuid.UUID, organization_id: uuid.UUID, rejections: list[tuple[int, str]]) -> None:
        if rejections:
            at = now_ms()
            self._write(
                "INSERT INTO rejection VALUES (?, ?, ?, ?, ?)",
                ((str(source_id), str(organization_id), at, line, reason[:500]) for line, reason in rejections),
            )

    def per_source(self, since_ms: int) -> dict[str, dict]:
        """{source id: {"events", "last_ingested", "last_event", "rejected"}} since a time (ingest time)."""
        stats: dict[str, dict] = {}
        for source, n, last, last_event in self._db.execute(
            "SELECT source_id, count(*), max(ingested), max(ts) FROM event WHERE ingested >= ? GROUP BY source_id",
            (since_ms,),
        ):
            stats[source] = {"events": n, "last_ingested": last, "last_event": last_event, "rejected": 0}
        for source, n in self._db.execute(
            "SELECT source_id, count(*) FROM rejection WHERE at >= ? GROUP BY source_id", (since_ms,)
        ):
            stats.setdefault(source, {"events": 0, "last_ingested": None, "last_event": None})["rejected"] = n
        return stats

    def count(
        self,
        organization_ids: list[str] | None,
        since_ms: int,
        until_ms: int | None = None,
        group_by: str | None = None,
    ):
        """Events with a time in [since, until) of the given organisations (None = all), in total or per
        `source_id` / `system_id` / `dataset` / `host`."""
        where, args = ["ts >= ?"], [since_ms]
        if until_ms is not None:
            where.append("ts < ?")
            args.append(until_ms)
        if organization_ids is not None:
            if not organization_ids:
                return {} if group_by else 0
            where.append(f"organization_id IN ({_placeholders(organization_ids)})")
            args += organization_ids
        if group_by is None:
            return self._db.execute(f"SELECT count(*) FROM event WHERE {' AND '.join(where)}", args).fetchone()[0]  # noqa: S608 (fixed fragments, values bound)
        if group_by not in ("source_id", "system_id", "dataset", "host"):
            raise ValueError(group_by)
        sql = f"SELECT {group_by}, count(*) FROM event WHERE {' AND '.join(where)} GROUP BY {group_by}"  # noqa: S608 (column checked above)
        return dict(self._db.execute(sql, args).fetchall())

    def recent(self, organization_ids: list[str] | None, limit: int = 50, source_id: str | None = None) -> list[dict]:
        where, args = [], []
        if organization_ids is not None:
            if not organization_ids:
                return []
            where.append(f"organization_id IN ({_placeholders(organization_ids)})")
            args += organization_ids
        if source_id:
            where.append("source_id = ?")
            args.append(source_id)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT doc, original FROM event{condition} ORDER BY ts DESC LIMIT ?"  # noqa: S608
        return [_document(doc, original) for doc, original in self._db.execute(sql, [*args, limit])]

    def recent_rejections(self, source_id: str, limit: int = 20) -> list[tuple[int, int, str]]:
        return self._db.execute(
            "SELECT at, line, reason FROM rejection WHERE source_id = ? ORDER BY at DESC LIMIT ?", (source_id, limit)
        ).fetchall()

    def total(self) -> int:
        return self._db.execute("SELECT count(*) FROM event").fetchone()[0]


def _texts():
    """`str()` of UUIDs, remembered for one batch."""
    cache: dict = {}

    def text(value) -> str:
        found = cache.get(value)
        if found is None:
            found = cache[value] = str(value)
        return found

    return text


def _document_parts(ecs: dict) -> tuple[str | None, str | None, bytes, bytes | None]:
    """(dataset, host, the document without `event.original` as JSON, the original as UTF-8 bytes)."""
    event = ecs.get("event")
    host = ecs.get("host")
    host = _column(host.get("name") or host.get("hostname")) if isinstance(host, dict) else None
    if not isinstance(event, dict):
        return None, host, orjson.dumps(ecs), None
    dataset = _column(event.get("dataset") or event.get("module"))
    original = event.get("original")
    if not isinstance(original, str):
        return dataset, host, orjson.dumps(ecs), None
    rest = event.copy()
    del rest["original"]
    doc = ecs.copy()
    doc["event"] = rest
    return dataset, host, orjson.dumps(doc), original.encode()


def _document(doc: bytes, original: bytes | None) -> dict:
    """A stored document with its `event.original` put back (last among the `event` keys)."""
    ecs = orjson.loads(doc)
    if original is not None:
        ecs["event"]["original"] = original.decode()
    return ecs


def _column(value) -> str | None:
    """A sender's value as column text (ECS says string, senders may send lists or numbers)."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _dataset(ecs: dict) -> str | None:
    event = ecs.get("event")
    return _column(event.get("dataset") or event.get("module")) if isinstance(event, dict) else None


def _host(ecs: dict) -> str | None:
    host = ecs.get("host")
    if isinstance(host, dict):
        return _column(host.get("name") or host.get("hostname"))
    return None


# --- ClickHouse (scale-out) and chDB (the same engine in-process) --------------------------------------------------


class ChDBExecutor:
    """chDB session: ClickHouse's engine inside this process (development, tests, one-machine analytics)."""

    def __init__(self, path: str) -> None:
        from chdb import session

        self.session = session.Session(path)

    def command(self, sql: str) -> None:
        self.session.query(sql)

    def rows(self, sql: str) -> list[dict]:
        text = self.session.query(sql, "JSONEachRow").bytes()
        return [orjson.loads(line) for line in text.splitlines() if line]

    def insert_json(self, table: str, body: bytes) -> None:
        self.session.query(f"INSERT INTO {table} FORMAT JSONEachRow\n" + body.decode())


class ClickHouseExecutor:
    """A ClickHouse server (or cluster behind a load balancer) through clickhouse-connect (HTTP)."""

    def __init__(self, url: str) -> None:
        import clickhouse_connect  # a deployment dependency of the clickhouse store only

        self.client = clickhouse_connect.get_client(dsn=url)

    def command(self, sql: str) -> None:
        self.client.command(sql)

    def rows(self, sql: str) -> list[dict]:
        return list(self.client.query(sql).named_results())

    def insert_json(self, table: str, body: bytes) -> None:
        self.client.raw_insert(table, insert_block=body, fmt="JSONEachRow")


def _ids(values: list[str]) -> str:
    """Organisation/source ids as SQL literals; each is checked to be a UUID first, so nothing else gets in."""
    return ",".join(f"'{uuid.UUID(v)}'" for v in values)


class ClickHouseEventStore:
    """The same interface as SQLiteEventStore over ClickHouse SQL, identical on chDB and on a ClickHouse server.
    Events land in a ReplacingMergeTree ordered by (organisation, time, id): a repeated event is merged away in
    the background (`OPTIMIZE … FINAL` forces it) and every read counts distinct ids meanwhile."""

    def __init__(self, executor, prefix: str = "attt") -> None:
        self.x = executor
        self.events, self.rejections = f"{prefix}_event", f"{prefix}_rejection"
        self.x.command(
            f"CREATE TABLE IF NOT EXISTS {self.events} (id FixedString(32), organization_id LowCardinality(String), "
            "source_id LowCardinality(String), system_id Nullable(String), ts DateTime64(3, 'UTC'), "
            "ingested DateTime64(3, 'UTC'), dataset LowCardinality(Nullable(String)), host Nullable(String), "
            "doc String) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (organization_id, ts, id)"
        )
        self.x.command(
            f"CREATE TABLE IF NOT EXISTS {self.rejections} (source_id String, organization_id String, "
            "at DateTime64(3, 'UTC'), line UInt32, reason String) ENGINE = MergeTree ORDER BY (source_id, at)"
        )

    def close(self) -> None:
        """Nothing held open beyond the executor."""

    def insert(self, events: list[NormalisedEvent]) -> int:
        if not events:
            return 0
        ids = [e.id for e in events]
        known = {
            r["id"]
            for r in self.x.rows(
                f"SELECT DISTINCT id FROM {self.events} WHERE id IN ({','.join(repr(i) for i in ids if i.isalnum())})"  # noqa: S608
            )
        }
        ingested = now_ms() / 1000
        body = b"\n".join(
            orjson.dumps(
                {
                    "id": e.id,
                    "organization_id": str(e.organization_id),
                    "source_id": str(e.source_id),
                    "system_id": str(e.system_id) if e.system_id else None,
                    "ts": e.timestamp.timestamp(),
                    "ingested": ingested,
                    "dataset": _dataset(e.ecs),
                    "host": _host(e.ecs),
                    "doc": orjson.dumps(e.ecs).decode(),
                }
            )
            for e in events
            if e.id not in known
        )
        if body:
            self.x.insert_json(self.events, body)
        return len({i for i in ids if i not in known})

    def reject(self, source_id: uuid.UUID, organization_id: uuid.UUID, rejections: list[tuple[int, str]]) -> None:
        if rejections:
            at = now_ms() / 1000
            body = b"\n".join(
                orjson.dumps(
                    {"source_id": str(source_id), "organization_id": str(organization_id), "at": at, "line": line,
                     "reason": reason[:500]}
                )
                for line, reason in rejections
            )  # fmt: skip
            self.x.insert_json(self.rejections, body)

    def per_source(self, since_ms: int) -> dict[str, dict]:
        stats: dict[str, dict] = {}
        for r in self.x.rows(
            "SELECT source_id, uniqExact(id) AS n, toUnixTimestamp64Milli(max(ingested)) AS last, "  # noqa: S608
            f"toUnixTimestamp64Milli(max(ts)) AS last_event FROM {self.events} "
            f"WHERE ingested >= fromUnixTimestamp64Milli({int(since_ms)}) GROUP BY source_id"
        ):
            stats[r["source_id"]] = {
                "events": int(r["n"]),
                "last_ingested": int(r["last"]),
                "last_event": int(r["last_event"]),
                "rejected": 0,
            }
        for r in self.x.rows(
            f"SELECT source_id, count() AS n FROM {self.rejections} "  # noqa: S608
            f"WHERE at >= fromUnixTimestamp64Milli({int(since_ms)}) GROUP BY source_id"
        ):
            stats.setdefault(r["source_id"], {"events": 0, "last_ingested": None, "last_event": None})["rejected"] = (
                int(r["n"])
            )
        return stats

    def count(
        self,
        organization_ids: list[str] | None,
        since_ms: int,
        until_ms: int | None = None,
        group_by: str | None = None,
    ):
        where = [f"ts >= fromUnixTimestamp64Milli({int(since_ms)})"]
        if until_ms is not None:
            where.append(f"ts < fromUnixTimestamp64Milli({int(until_ms)})")
        if organization_ids is not None:
            if not organization_ids:
                return {} if group_by else 0
            where.append(f"organization_id IN ({_ids(organization_ids)})")
        condition = " AND ".join(where)
        if group_by is None:
            return int(self.x.rows(f"SELECT uniqExact(id) AS n FROM {self.events} WHERE {condition}")[0]["n"])  # noqa: S608
        if group_by not in ("source_id", "system_id", "dataset", "host"):
            raise ValueError(group_by)
        rows = self.x.rows(
            f"SELECT {group_by} AS k, uniqExact(id) AS n FROM {self.events} WHERE {condition} GROUP BY {group_by}"  # noqa: S608
        )
        return {r["k"]: int(r["n"]) for r in rows}

    def recent(self, organization_ids: list[str] | None, limit: int = 50, source_id: str | None = None) -> list[dict]:
        where = []
        if organization_ids is not None:
            if not organization_ids:
                return []
            where.append(f"organization_id IN ({_ids(organization_ids)})")
        if source_id:
            where.append(f"source_id = {_ids([source_id])}")
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.x.rows(
            f"SELECT doc FROM {self.events} {condition} ORDER BY ts DESC LIMIT 1 BY id LIMIT {int(limit)}"  # noqa: S608
        )
        return [orjson.loads(r["doc"]) for r in rows]

    def recent_rejections(self, source_id: str, limit: int = 20) -> list[tuple[int, int, str]]:
        rows = self.x.rows(
            f"SELECT toUnixTimestamp64Milli(at) AS at, line, reason FROM {self.rejections} "  # noqa: S608
            f"WHERE source_id = {_ids([source_id])} ORDER BY at DESC LIMIT {int(limit)}"
        )
        return [(int(r["at"]), int(r["line"]), r["reason"]) for r in rows]

    def total(self) -> int:
        return int(self.x.rows(f"SELECT uniqExact(id) AS n FROM {self.events}")[0]["n"])  # noqa: S608

    def optimise(self) -> None:
        """Remove repeated events (same id) now rather than at the next background merge."""
        self.x.command(f"OPTIMIZE TABLE {self.events} FINAL")
