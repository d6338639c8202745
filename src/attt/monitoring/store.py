"""The event store. Embedded default: one SQLite file in WAL mode beside the platform's database, written by
ingest workers and read by the web server from several processes at once (busy timeout, BEGIN IMMEDIATE for
writes). See docs/monitoring.md "Event store" for the measurements behind the choice and the ClickHouse
deployment for scale-out.

The SQLite store keeps events in chunks, as log stores such as Loki or ClickHouse do: one row per batch of one
source, holding the batch's time range and figures (the index) and its lines compressed with zstd (the content).
A row and three index entries per event cost ~4 µs of CPU, close to half the per-event budget (10 µs at 100,000
events/s); zstd level 1 over a batch's lines costs 1–2 µs an event at a ratio of ~6, and the batch's one row next to
nothing. Counts come from the chunks' figures (per-event times and labels only for chunks cut by a window's edge);
lines are decompressed only for `recent()`."""

from __future__ import annotations

import datetime as dt
import heapq
import json
import sqlite3
import sys
import threading
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, pairwise
from operator import attrgetter
from pathlib import Path

import orjson
import zstandard

from attt.monitoring.enrich import SystemInfo
from attt.monitoring.normalise import chunk_body, derived_document
from attt.monitoring.pipeline import NormalisedEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    organization_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    ts_min INTEGER NOT NULL,  -- event times, ms
    ts_max INTEGER NOT NULL,
    ingested INTEGER NOT NULL,  -- store time, ms
    events INTEGER NOT NULL,
    -- JSON {"system": [[[id, attt.system block | null] | null, count], ...], "dataset": [[text | null, count], ...],
    -- "host": [...], "received": [[ISO 8601 | null, count], ...]}: each label's distinct values in the chunk
    labels BLOB NOT NULL,
    -- per event, the position of its value in that label's list (uint8 each up to 256 values, else uint16; empty
    -- when the list has one value)
    system_of BLOB NOT NULL,
    dataset_of BLOB NOT NULL,
    host_of BLOB NOT NULL,
    received_of BLOB NOT NULL,
    derived BLOB NOT NULL,  -- per event, 1 when its line is the received line its document is rebuilt from
    times BLOB NOT NULL,  -- per event, its time (int64 ms, little-endian)
    ids BLOB NOT NULL,  -- per event, its id (16 bytes)
    framed INTEGER NOT NULL,  -- 1 when the body came from an ATTT2 wire frame: its first line is the header
    body BLOB NOT NULL  -- zstd of the lines, one an event, joined by newlines; last, so reading the rest skips it
);
-- Repeats are looked up among a source's chunks around a batch's time; the reads go by organisation and time.
CREATE INDEX IF NOT EXISTS chunk_source_ts ON chunk (source_id, ts_max);
CREATE INDEX IF NOT EXISTS chunk_org_ts ON chunk (organization_id, ts_max);
CREATE INDEX IF NOT EXISTS chunk_ts ON chunk (ts_max);
-- Covers the live figures (events per source since a time) without reading the chunks.
CREATE INDEX IF NOT EXISTS chunk_ingested ON chunk (ingested, source_id, ts_max, events);
CREATE TABLE IF NOT EXISTS rejection (
    source_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    line INTEGER NOT NULL,
    reason TEXT NOT NULL,
    lines INTEGER NOT NULL DEFAULT 1  -- rejected lines the row stands for (see `_recorded`)
);
CREATE INDEX IF NOT EXISTS rejection_source_at ON rejection (source_id, at);
"""
# After `lines` exists (a file of an earlier layout gets it on open): covers the live figures' sum.
REJECTION_INDEX = "CREATE INDEX IF NOT EXISTS rejection_at_lines ON rejection (at, source_id, lines)"

REJECTIONS_KEPT = 100  # rejected lines of a batch recorded with their reason; one more row counts the rest
CHUNK_EVENTS = 20_000  # events a chunk holds at most (label positions are at most uint16)
_LABEL_OF = {"system_id": "system", "dataset": "dataset", "host": "host"}  # count's group_by → label
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_SWAP = sys.byteorder != "little"  # the arrays are stored little-endian
_INSERT = "INSERT INTO chunk VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def epoch_ms(stamp: dt.datetime) -> int:
    """An aware time as the stores keep it: whole milliseconds since 1970 (a float's product drops one now and then;
    a batch's times are computed the same way inline)."""
    return (stamp - _EPOCH) // _MS


def now_ms() -> int:
    return int(time.time() * 1000)


def _placeholders(values: list) -> str:
    return ",".join("?" * len(values))


SEARCH_SECONDS = 5.0  # a search of the embedded store reads chunks this long at most (None: no limit), then answers


@dataclass(frozen=True)
class EventQuery:
    """What an event search asks: event times in [since, until) (ms; either end open), exact values of the labels
    the stores index (source, system, dataset, host), and a text the event's stored line contains, case aside
    (the line as received for ECS-like JSON, else its ECS document)."""

    since_ms: int | None = None
    until_ms: int | None = None
    source_id: str | None = None
    system_id: str | None = None
    dataset: str | None = None
    host: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Hit:
    source_id: str
    organization_id: str
    document: dict  # the event's ECS document


@dataclass(frozen=True)
class SearchResult:
    """The newest matching events, newest first; `complete` is False when the store stopped reading (its time
    budget) before it could rule out newer matches: a narrower window or more filters give a complete answer."""

    hits: list[Hit]
    complete: bool


class _EventReads:
    """What both stores read through their `search`."""

    def recent(self, organization_ids: list[str] | None, limit: int = 50, source_id: str | None = None) -> list[dict]:
        """The newest `limit` events by event time, newest first, as ECS documents (all of them: no time budget)."""
        found = self.search(organization_ids, EventQuery(source_id=source_id), limit, budget_s=None)
        return [hit.document for hit in found.hits]


class SQLiteEventStore(_EventReads):
    """Chunks of events in one SQLite file. A repeated event (same id) is skipped exactly: an id fixes its event's
    source and time, so only the ids of that source's chunks overlapping a batch's time range need comparing, done
    inside the write transaction so that two processes cannot both add the event."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._compressor = zstandard.ZstdCompressor(level=1)  # not thread-safe: used under the lock
        # What chunks keep of each enrichment result (JSON), by object: a batch may touch a thousand systems, and
        # making a block costs microseconds. The objects are held, so their ids stay theirs; used under the lock.
        self._system_entries: dict[int, tuple[SystemInfo, orjson.Fragment]] = {}
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        # Big pages for a new file (an existing file keeps its own): a chunk is ~1 MB and every page costs a WAL
        # frame and a checkpoint write. Must come before WAL mode, which fixes the page size.
        self._db.execute("PRAGMA page_size=65536")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durability comes from the spool, which is replayed
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("PRAGMA cache_size=-65536")  # 64 MiB
        self._db.executescript(SCHEMA)
        if self._has_event_table():
            self._migrate()
        if not self._rejection_has_lines():
            with self._lock, self._write():
                if not self._rejection_has_lines():  # another process added it meanwhile
                    self._db.execute("ALTER TABLE rejection ADD COLUMN lines INTEGER NOT NULL DEFAULT 1")
                    self._db.execute("DROP INDEX IF EXISTS rejection_at")
        self._db.execute(REJECTION_INDEX)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction; the caller holds the lock (one connection shared by this process's threads)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def insert(self, events: list[NormalisedEvent], frame: bytes | None = None) -> int:
        """Store a batch as one chunk per source (several for a very large one); events already stored (same id)
        and repeats within the batch are skipped. Returns how many were new.

        `frame`: the batch's wire form (`normalise.encode_lines` of exactly these events' lines, in order), when the
        caller has it: its compressed lines become the chunk's body as they are, rather than compressing the same
        lines again, unless some events are dropped as repeats or some are not derived.

        A derived event (ECS-like JSON) is stored as its received line alone and its document rebuilt on read;
        any other as its ECS document. Chunks are built before the write transaction and built again only if
        some of their events turn out to be stored already."""
        if not events:
            return 0
        ingested = now_ms()
        added = 0
        with self._lock:
            prepared = [
                (batch, self._rows(batch, ingested, frame if len(batch.events) == len(events) else None))
                for batch in map(_Batch, _by_source(events))
            ]
            with self._write():
                for batch, rows in prepared:
                    stored = self._stored_ids(batch)
                    if stored:
                        batch = batch.without(stored)
                        if batch is None:
                            continue
                        rows = self._rows(batch, ingested)
                    self._db.executemany(_INSERT, rows)
                    added += len(batch.events)
        return added

    def _stored_ids(self, batch: _Batch) -> set[str]:
        """The batch's ids already in the chunks of its source that overlap the spans of its times."""
        found: set[str] = set()
        wanted = batch.id_set
        for low, high in _time_spans(batch.times, batch.ts_min, batch.ts_max):
            for (ids,) in self._db.execute(
                "SELECT ids FROM chunk WHERE source_id = ? AND ts_max >= ? AND ts_min <= ?",
                (batch.source_id, low, high),
            ):
                text = ids.hex()
                found.update(wanted.intersection(text[i : i + 32] for i in range(0, len(text), 32)))
        return found

    def _rows(self, batch: _Batch, ingested: int, frame: bytes | None = None) -> list[tuple]:
        chunks = list(batch.columns(CHUNK_EVENTS, self._system_entry))
        if frame is not None and len(chunks) == 1 and chunks[0][3].count(0) == 0:  # one chunk, every event derived
            return [self._chunk(batch.organization_id, batch.source_id, ingested, *chunks[0], frame=frame)]
        return [self._chunk(batch.organization_id, batch.source_id, ingested, *columns) for columns in chunks]

    def _system_entry(self, value: SystemInfo | uuid.UUID | None) -> orjson.Fragment:
        found = self._system_entries.get(id(value))
        if found is None:
            if len(self._system_entries) >= 100_000:  # enrichment's index was rebuilt many times over
                self._system_entries.clear()
            found = self._system_entries[id(value)] = (value, orjson.Fragment(orjson.dumps(_system_entry(value))))
        return found[1]

    def _chunk(
        self,
        organization_id: str,
        source_id: str,
        ingested: int,
        times: list[int],
        ids: bytes,
        labels: dict[str, tuple[list, list[int], bytes]],
        derived: bytes,
        lines: list[bytes],
        frame: bytes | None = None,
    ) -> tuple:
        """A chunk row; `labels` maps each label to (distinct values as stored, their counts, positions)."""
        body, framed = chunk_body(frame) if frame is not None else (self._compressor.compress(b"\n".join(lines)), False)
        return (
            organization_id,
            source_id,
            min(times),
            max(times),
            ingested,
            len(times),
            orjson.dumps(
                {name: list(zip(values, counts, strict=True)) for name, (values, counts, _) in labels.items()}
            ),
            *(labels[name][2] for name in ("system", "dataset", "host", "received")),
            derived,
            _pack(array("q", times)),
            ids,
            framed,
            body,
        )

    def reject(self, source_id: uuid.UUID, organization_id: uuid.UUID, rejections: list[tuple[int, str]]) -> None:
        if rejections:
            at = now_ms()
            with self._lock, self._write():
                self._db.executemany(
                    "INSERT INTO rejection VALUES (?, ?, ?, ?, ?, ?)",
                    ((str(source_id), str(organization_id), at, *row) for row in _recorded(rejections)),
                )

    def per_source(self, since_ms: int) -> dict[str, dict]:
        """{source id: {"events", "last_ingested", "last_event", "rejected"}} since a time (ingest time). The
        indexes are named: for the GROUP BY, SQLite would otherwise walk every chunk and rejection by source."""
        stats: dict[str, dict] = {}
        for source, n, last, last_event in self._db.execute(
            "SELECT source_id, sum(events), max(ingested), max(ts_max) FROM chunk INDEXED BY chunk_ingested "
            "WHERE ingested >= ? GROUP BY source_id",
            (since_ms,),
        ):
            stats[source] = {"events": n, "last_ingested": last, "last_event": last_event, "rejected": 0}
        for source, n in self._db.execute(
            "SELECT source_id, sum(lines) FROM rejection INDEXED BY rejection_at_lines WHERE at >= ? "
            "GROUP BY source_id",
            (since_ms,),
        ):
            stats.setdefault(source, {"events": 0, "last_ingested": None, "last_event": None})["rejected"] = n
        return stats

    def count(
        self,
        organization_ids: list[str] | None,
        since_ms: int,
        until_ms: int | None = None,
        group_by: str | None = None,
    ) -> int | dict:
        """Events with a time in [since, until) of the given organisations (None = all), in total or per
        `source_id` / `system_id` / `dataset` / `host`. A chunk wholly inside the window gives its figures; one
        cut by an edge is counted event by event from its times."""
        if group_by is not None and group_by != "source_id" and group_by not in _LABEL_OF:
            raise ValueError(group_by)
        where = _where(organization_ids)
        if where is None:
            return {} if group_by else 0
        conditions, args = where
        conditions.append("ts_max >= ?")
        args.append(since_ms)
        if until_ms is not None:
            conditions.append("ts_min < ?")
            args.append(until_ms)
        label = _LABEL_OF.get(group_by)
        columns = f", labels, {label}_of" if label else ""
        sql = f"SELECT rowid, source_id, ts_min, ts_max, events{columns} FROM chunk WHERE {' AND '.join(conditions)}"  # noqa: S608 (fixed fragments, values bound)
        total = 0
        groups: dict = {}
        for rowid, source, ts_min, ts_max, events, *labelled in self._db.execute(sql, args):
            whole = ts_min >= since_ms and (until_ms is None or ts_max < until_ms)
            inside = None if whole else self._inside(rowid, since_ms, until_ms)
            if label is None:
                n = events if inside is None else len(inside)
                if group_by is None:
                    total += n
                elif n:
                    groups[source] = groups.get(source, 0) + n
                continue
            values = orjson.loads(labelled[0])[label]
            if inside is None:
                counted = ((value, n) for value, n in values)
            elif labelled[1]:
                positions = _positions(labelled[1], events)
                counted = ((values[p][0], n) for p, n in Counter(positions[i] for i in inside).items())
            else:
                counted = [(values[0][0], len(inside))] if inside else []
            for value, n in counted:
                key = _system_key(value) if label == "system" else value
                groups[key] = groups.get(key, 0) + n
        return total if group_by is None else groups

    def _inside(self, rowid: int, since_ms: int, until_ms: int | None) -> list[int]:
        return _within(self._times(rowid), since_ms, until_ms)

    def _times(self, rowid: int, db: sqlite3.Connection | None = None) -> array:
        db = db or self._db
        return _unpack("q", db.execute("SELECT times FROM chunk WHERE rowid = ?", (rowid,)).fetchone()[0])

    def search(
        self,
        organization_ids: list[str] | None,
        query: EventQuery,
        limit: int = 50,
        budget_s: float | None = SEARCH_SECONDS,
    ) -> SearchResult:
        """Chunks are read newest `ts_max` first until none left can hold a match newer than the limit-th found.
        Label values are looked up in the chunks' label lists by SQLite (a chunk without the value is not read);
        a text is looked for only in the lines of events that would still enter the answer."""
        where = _where(organization_ids, query.source_id)
        if where is None or limit <= 0:
            return SearchResult([], True)
        conditions, args = where
        if query.since_ms is not None:
            conditions.append("ts_max >= ?")
            args.append(query.since_ms)
        if query.until_ms is not None:
            conditions.append("ts_min < ?")
            args.append(query.until_ms)
        wanted = _wanted_labels(query)
        for label, value in wanted.items():
            path = "$[0][0]" if label == "system" else "$[0]"
            conditions.append(
                f"EXISTS (SELECT 1 FROM json_each(CAST(labels AS TEXT), '$.{label}') "  # noqa: S608 (fixed fragments)
                f"WHERE json_extract(value, '{path}') = ?)"
            )
            args.append(value)
        condition = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        needles = _needles(query.text)
        deadline = None if budget_s is None else time.monotonic() + budget_s
        # With a budget, a connection of the search's own, which SQLite interrupts at the deadline even while it
        # is still choosing chunks (several organisations sorted by time, a label no chunk holds).
        db = self._db if deadline is None else self._reader(deadline)
        complete = True
        newest: list[tuple[int, int, int]] = []  # (time, chunk, position), newest first; ties: later chunk, line
        try:
            try:
                chunks = db.execute(  # read as needed: the loop stops long before the oldest chunk
                    f"SELECT rowid, ts_max FROM chunk{condition} ORDER BY ts_max DESC, rowid DESC",  # noqa: S608
                    args,
                )
                for rowid, ts_max in chunks:
                    if len(newest) >= limit and (ts_max, rowid) < newest[-1][:2]:
                        break
                    if deadline is not None and time.monotonic() > deadline:  # Python's share of the work
                        complete = False
                        break
                    times = self._times(rowid, db)
                    keep = _within(times, query.since_ms, query.until_ms)
                    if wanted:
                        keep = self._labelled(rowid, wanted, keep, len(times), db)
                    if needles and keep:
                        if len(newest) >= limit:
                            keep = [p for p in keep if (times[p], rowid, p) > newest[-1]]
                        lines = self._lines(rowid, needles=needles, db=db)[1] if keep else []
                        keep = [p for p in keep if any(needle in lines[p] for needle in needles)] if lines else []
                    newest = heapq.nlargest(limit, chain(newest, ((times[p], rowid, p) for p in keep)))
            except sqlite3.OperationalError:
                if deadline is None or time.monotonic() <= deadline:
                    raise
                complete = False  # interrupted at the deadline: the newest found so far
            db.set_progress_handler(None, 0)
            wanted_positions: dict[int, list[int]] = {}
            for _, rowid, position in newest:
                wanted_positions.setdefault(rowid, []).append(position)
            hits = {}
            for rowid, positions in wanted_positions.items():
                for position, hit in zip(positions, self._hits(rowid, positions, db), strict=True):
                    hits[rowid, position] = hit
        finally:
            if db is not self._db:
                db.close()
        return SearchResult([hits[rowid, position] for _, rowid, position in newest], complete)

    def _reader(self, deadline: float) -> sqlite3.Connection:
        """A connection for one search, interrupted by SQLite once `deadline` (monotonic) has passed."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        db.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
        return db

    def _labelled(
        self, rowid: int, wanted: dict[str, str], keep: list[int], n: int, db: sqlite3.Connection
    ) -> list[int]:
        """The positions among `keep` of a chunk's events whose labels have the wanted values."""
        labels, *places = db.execute(
            f"SELECT labels, {', '.join(f'{label}_of' for label in wanted)} FROM chunk WHERE rowid = ?",  # noqa: S608
            (rowid,),
        ).fetchone()
        labels = orjson.loads(labels)
        for (label, value), positions in zip(wanted.items(), places, strict=True):
            if not positions:  # one value for the whole chunk: the wanted one, or SQLite would not have chosen it
                continue
            key = _system_key if label == "system" else None
            chosen = {p for p, (v, _count) in enumerate(labels[label]) if (key(v) if key else v) == value}
            at = _positions(positions, n)
            keep = [p for p in keep if at[p] in chosen]
        return keep

    def _lines(
        self, rowid: int, columns: str = "", needles: tuple[str, ...] = (), db: sqlite3.Connection | None = None
    ) -> tuple[tuple, list]:
        """(the other `columns` asked for, the chunk's lines, one an event). With `needles` (in lower case): the
        lines as text in lower case, or none when no needle is anywhere in the chunk (one look at the whole text
        rules out most chunks of a rare word)."""
        *row, framed, body, n = (
            (db or self._db)
            .execute(
                f"SELECT {columns}framed, body, length(derived) FROM chunk WHERE rowid = ?",  # noqa: S608
                (rowid,),
            )
            .fetchone()
        )
        body = zstandard.ZstdDecompressor().decompress(body)
        if not needles:
            lines = body.split(b"\n")
        else:
            text = body.decode("utf-8", "replace").lower()
            if not any(needle in text for needle in needles):
                return tuple(row), []
            lines = text.split("\n")
        lines = lines[1 if framed else 0 :]
        if len(lines) != n:
            raise ValueError(f"event store chunk {rowid} is damaged: {len(lines)} lines for {n} events")
        return tuple(row), lines

    def _hits(self, rowid: int, positions: list[int], db: sqlite3.Connection) -> list[Hit]:
        """Some events of a chunk: a derived event's document rebuilt from its line, with its `attt.system` block
        put back; any other's as stored."""
        (organization, source, ingested, labels, system_of, received_of, derived), lines = self._lines(
            rowid, "organization_id, source_id, ingested, labels, system_of, received_of, derived, ", db=db
        )
        labels = orjson.loads(labels)
        n = len(derived)
        systems, received = _per_event(labels["system"], system_of, n), _per_event(labels["received"], received_of, n)
        hits = []
        for position in positions:
            if not derived[position]:
                document = orjson.loads(lines[position])
            else:
                system = systems(position)
                document = _rebuilt(
                    lines[position], source, organization, received(position), ingested, system and system[1]
                )
            hits.append(Hit(source, organization, document))
        return hits

    def recent_rejections(self, source_id: str, limit: int = 20) -> list[tuple[int, int, str]]:
        return self._db.execute(
            "SELECT at, line, reason FROM rejection WHERE source_id = ? ORDER BY at DESC LIMIT ?", (source_id, limit)
        ).fetchall()

    def total(self) -> int:
        return self._db.execute("SELECT coalesce(sum(events), 0) FROM chunk").fetchone()[0]

    def remove_before(self, cutoff_ms: int) -> int:
        """Retention: delete the chunks whose newest event is older than the cutoff and which were stored before
        it, and older rejections. An event is kept for the period from its own time and at least as long from its
        arrival: a replay of old logs, or a device whose clock is behind, is not deleted by the next run. A chunk
        is removed whole, so a batch straddling the cutoff stays until all its events are older. Returns how many
        events went."""
        with self._lock, self._write():
            (removed,) = self._db.execute(
                "SELECT coalesce(sum(events), 0) FROM chunk WHERE ts_max < ? AND ingested < ?", (cutoff_ms, cutoff_ms)
            ).fetchone()
            self._db.execute("DELETE FROM chunk WHERE ts_max < ? AND ingested < ?", (cutoff_ms, cutoff_ms))
            self._db.execute("DELETE FROM rejection WHERE at < ?", (cutoff_ms,))
        return removed

    # A file of the previous layout (table `event`, one row per event, `original` apart from the document since
    # some version) is moved into chunks when opened.

    def _rejection_has_lines(self) -> bool:
        return "lines" in {row[1] for row in self._db.execute("PRAGMA table_info(rejection)")}

    def _has_event_table(self) -> bool:
        found = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'event'").fetchone()
        return found is not None

    def _migrate(self) -> None:
        """Move the one-row-per-event table into chunks, one per source and ingest time (i.e. per batch it stored),
        in one transaction, then drop it. The documents become stored ECS documents with `event.original`."""
        with self._lock, self._write():
            if not self._has_event_table():  # another process moved it meanwhile
                return
            has_original = "original" in {row[1] for row in self._db.execute("PRAGMA table_info(event)")}
            rows = self._db.execute(
                "SELECT organization_id, source_id, ingested, id, system_id, ts, dataset, host, doc, "  # noqa: S608
                f"{'original' if has_original else 'NULL'} FROM event "
                "ORDER BY organization_id, source_id, ingested, ts"
            )
            batch: list[tuple] = []
            for row in rows:
                if batch and (row[:3] != batch[0][:3] or len(batch) >= CHUNK_EVENTS):
                    self._insert_legacy(batch)
                    batch = []
                batch.append(row)
            if batch:
                self._insert_legacy(batch)
            self._db.execute("DROP TABLE event")

    def _insert_legacy(self, rows: list[tuple]) -> None:
        organization, source, ingested = rows[0][:3]
        self._db.execute(
            _INSERT,
            self._chunk(
                str(organization),
                str(source),
                ingested,
                [row[5] for row in rows],
                b"".join(row[3] for row in rows),
                {
                    "system": _labels([[row[4], None] if row[4] else None for row in rows], key=_system_key),
                    "dataset": _labels([row[6] for row in rows]),
                    "host": _labels([row[7] for row in rows]),
                    "received": _labels([None] * len(rows)),
                },
                bytes(len(rows)),
                [_legacy_line(row[8], row[9]) for row in rows],
            ),
        )


class _Batch:
    """One source's events of an insert (repeats within the batch removed) with their times in ms."""

    __slots__ = ("events", "id_set", "ids", "organization_id", "source_id", "times", "ts_max", "ts_min")

    def __init__(self, events: list[NormalisedEvent], times: list[int] | None = None) -> None:
        ids = list(map(attrgetter("id"), events))
        if times is None:
            times = [(stamp - _EPOCH) // _MS for stamp in map(attrgetter("timestamp"), events)]
        id_set = set(ids)
        if len(id_set) != len(ids):
            first = {i: n for n, i in reversed(list(enumerate(ids)))}
            keep = sorted(first.values())
            events, ids, times = [events[n] for n in keep], [ids[n] for n in keep], [times[n] for n in keep]
        self.events, self.ids, self.id_set, self.times = events, ids, id_set, times
        self.source_id, self.organization_id = str(events[0].source_id), str(events[0].organization_id)
        self.ts_min, self.ts_max = min(times), max(times)

    def without(self, stored: set[str]) -> _Batch | None:
        keep = [n for n, i in enumerate(self.ids) if i not in stored]
        return _Batch([self.events[n] for n in keep], [self.times[n] for n in keep]) if keep else None

    def columns(self, size: int, system_entry: Callable) -> Iterator[tuple]:
        """(times, ids, labels, derived flags, lines) of each run of at most `size` events; `system_entry` gives
        what a chunk keeps of an event's system."""
        for start in range(0, len(self.events), size):
            events = self.events[start : start + size]
            derived = bytes(map(attrgetter("derived"), events))
            if derived.count(0):
                lines = [e.original if e.derived else orjson.dumps(e.ecs) for e in events]
            else:
                lines = list(map(attrgetter("original"), events))
            yield (
                self.times[start : start + size],
                bytes.fromhex("".join(self.ids[start : start + size])),
                {
                    "system": _labels([e.system or e.system_id for e in events], key=id, stored=system_entry),
                    "dataset": _labels(list(map(attrgetter("dataset"), events))),
                    "host": _labels(list(map(attrgetter("host"), events))),
                    "received": _labels(list(map(attrgetter("ingested"), events)), key=id, stored=_iso),
                },
                derived,
                lines,
            )


SPAN_GAP_MS = 3_600_000


def _recorded(rejections: list[tuple[int, str]]) -> list[tuple[int, str, int]]:
    """(line, reason, lines) rows of a batch's rejections: the first `REJECTIONS_KEPT` with their reasons, then one
    row counting the rest (the sender's answer names each). A row per line let a batch of a million bad lines (a
    few KB gzipped) hold the store's write lock for seconds and take ~300 MB."""
    rows = [(line, reason[:500], 1) for line, reason in rejections[:REJECTIONS_KEPT]]
    if (rest := len(rejections) - REJECTIONS_KEPT) > 0:
        rows.append((rejections[REJECTIONS_KEPT][0], f"{rest} lines rejected from this line on (not listed)", rest))
    return rows


def _time_spans(times: list[int], low: int, high: int) -> list[tuple[int, int]]:
    """The spans a batch's event times fall in, split wherever an hour passes without one: a single event from a
    device whose clock says 1970 would otherwise stretch the batch's range over its source's whole history, and
    its repeat check would read every chunk of it inside the write lock."""
    if high - low <= SPAN_GAP_MS:
        return [(low, high)]
    ordered = sorted(times)
    spans, start = [], ordered[0]
    for before, after in pairwise(ordered):
        if after - before > SPAN_GAP_MS:
            spans.append((start, before))
            start = after
    spans.append((start, ordered[-1]))
    return spans


def _by_source(events: list[NormalisedEvent]) -> list[list[NormalisedEvent]]:
    """The events per (source, organisation); a batch normally has one, which is checked without hashing."""
    first, n = events[0], len(events)
    if (
        list(map(attrgetter("source_id"), events)).count(first.source_id) == n
        and list(map(attrgetter("organization_id"), events)).count(first.organization_id) == n
    ):
        return [events]
    groups: dict = {}
    for e in events:
        groups.setdefault((e.source_id, e.organization_id), []).append(e)
    return list(groups.values())


def _labels(values: list, key=None, stored=None) -> tuple[list, list[int], bytes]:
    """(distinct values in order of appearance, how many events have each, each event's position in the list:
    one byte each up to 256 values, else two, nothing when there is one value). `key` groups the values (default:
    by value; `id` for objects whose hash is slow), `stored` turns a value into what the chunk keeps."""
    n = len(values)
    keys = values if key is None else list(map(key, values))
    if keys.count(keys[0]) == n:
        return [values[0] if stored is None else stored(values[0])], [n], b""
    place = dict.fromkeys(keys)
    for p, k in enumerate(place):
        place[k] = p
    if key is None:
        distinct = list(place)
    else:
        objects = dict(zip(keys, values, strict=True))
        distinct = [objects[k] for k in place]
    if len(place) <= 256:
        positions = bytes(map(place.__getitem__, keys))
        if len(place) <= 16:  # a count per value is a memchr-speed scan
            counts = list(map(positions.count, range(len(place))))
        else:
            counted = Counter(positions)
            counts = [counted[p] for p in range(len(place))]
    else:
        wide = array("H", map(place.__getitem__, keys))
        counted = Counter(wide)
        counts, positions = [counted[p] for p in range(len(place))], _pack(wide)
    return (distinct if stored is None else list(map(stored, distinct))), counts, positions


def _within(times: array, since_ms: int | None, until_ms: int | None) -> list[int]:
    """Positions of a chunk's events with a time in [since, until) (either end open)."""
    if until_ms is None:
        if since_ms is None:
            return list(range(len(times)))
        return [i for i, t in enumerate(times) if t >= since_ms]
    if since_ms is None:
        return [i for i, t in enumerate(times) if t < until_ms]
    return [i for i, t in enumerate(times) if since_ms <= t < until_ms]


def _needles(text: str | None) -> tuple[str, ...]:
    """What a text search looks for in stored lines, in lower case: the text; its JSON-escaped form when that
    differs (a line or document holds `C:\\Windows` and `\\"whoami\\"` as JSON writes them); and the forms of
    senders that escape more. Python's `json.dumps` (and other ASCII-only writers) write each letter beyond ASCII
    as `\\uXXXX`, which lower case leaves as it is, so the text goes in the cases a message is written in (lower,
    upper, first letter or every word capitalised); Go's encoder writes `<`, `>` and `&` as escapes too. Looking
    for a few more needles costs less than reading the escapes of every line searched."""
    if not text:
        return ()
    forms = [text.lower(), orjson.dumps(text.lower()).decode()[1:-1]]
    for variant in (text.lower(), text.upper(), text.capitalize(), text.title()):
        escaped = json.dumps(variant)[1:-1]
        forms += [escaped.lower(), _go_escaped(escaped).lower()]
    return tuple(dict.fromkeys(forms))


def _go_escaped(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _wanted_labels(query: EventQuery) -> dict[str, str]:
    """The chunk labels a query asks exact values of, in the order they are checked (rarest first)."""
    wanted = {"system": query.system_id, "host": query.host, "dataset": query.dataset}
    return {label: value for label, value in wanted.items() if value is not None}


def _positions(data: bytes, n: int) -> bytes | array:
    """The positions a chunk keeps for its `n` events (see `_labels`), indexable by event."""
    return data if len(data) == n else _unpack("H", data)


def _system_entry(value) -> list | None:
    """What a chunk keeps of an event's system: [id, its ECS `attt.system` block, or None without one]."""
    if value is None:
        return None
    if isinstance(value, SystemInfo):
        return [str(value.system_id), value.block()]
    return [str(value), None]


def _rebuilt(
    line: bytes, source: str, organization: str, received: str | None, stored_ms: int, system: dict | None
) -> dict:
    """The ECS document of a derived event from what a store keeps of it: its line, its receive time (else the
    time it was stored) and its `attt.system` block."""
    document = derived_document(
        line,
        uuid.UUID(source),
        uuid.UUID(organization),
        dt.datetime.fromisoformat(received) if received else dt.datetime.fromtimestamp(stored_ms / 1000, dt.UTC),
    )
    if system is not None:
        document["attt"] = {"system": system}
    return document


def _system_key(entry: list | None) -> str | None:
    return entry[0] if entry is not None else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _per_event(values: list, positions: bytes, n: int):
    """A function from an event's position in its chunk to its label value."""
    if not positions:
        only = values[0][0]
        return lambda _: only
    places = _positions(positions, n)
    return lambda position: values[places[position]][0]


def _pack(values: array) -> bytes:
    if _SWAP:
        values.byteswap()
    return values.tobytes()


def _unpack(code: str, data: bytes) -> array:
    values = array(code, data)
    if _SWAP:
        values.byteswap()
    return values


def _where(organization_ids: list[str] | None, source_id: str | None = None) -> tuple[list[str], list] | None:
    """SQL conditions and values on chunks for an organisation filter (None = all; an empty list matches nothing,
    given as None) and an optional source."""
    conditions: list[str] = []
    args: list = []
    if organization_ids is not None:
        if not organization_ids:
            return None
        conditions.append(f"organization_id IN ({_placeholders(organization_ids)})")
        args += organization_ids
    if source_id:
        conditions.append("source_id = ?")
        args.append(source_id)
    return conditions, args


def _legacy_line(doc: bytes | str, original: bytes | None) -> bytes:
    """A previous layout's row as one line of ECS JSON, its `event.original` put back (last among `event`'s keys)."""
    ecs = orjson.loads(doc)
    if original is not None:
        ecs["event"]["original"] = original.decode()
    return orjson.dumps(ecs)


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


def _text(value: str) -> str:
    """Any text as a ClickHouse string expression: its UTF-8 bytes in hexadecimal, so no quote gets in."""
    return f"unhex('{value.encode().hex()}')"


class ClickHouseEventStore(_EventReads):
    """The same interface as SQLiteEventStore over ClickHouse SQL, identical on chDB and on a ClickHouse server.
    Events land in a ReplacingMergeTree ordered by (organisation, time, id): a repeated event is merged away in
    the background (`OPTIMIZE … FINAL` forces it) and every read counts distinct ids meanwhile. As in the SQLite
    store, a derived event (ECS-like JSON) keeps its received line, receive time and system block, and its
    document is rebuilt on read; any other keeps its document."""

    IDS_PER_QUERY = 2000  # ~70 KB of query text
    RECENT_DAYS = (1, 7, 31, 366)  # `recent` looks this far back first, then further only if it found too few
    # Columns added after the first layout; an existing table gets them on open.
    _ADDED = ("original String DEFAULT ''", "received String DEFAULT ''", "system String DEFAULT ''")

    def __init__(self, executor, prefix: str = "attt") -> None:
        self.x = executor
        self.events, self.rejections = f"{prefix}_event", f"{prefix}_rejection"
        self.x.command(
            f"CREATE TABLE IF NOT EXISTS {self.events} (id FixedString(32), organization_id LowCardinality(String), "
            "source_id LowCardinality(String), system_id Nullable(String), ts DateTime64(3, 'UTC'), "
            "ingested DateTime64(3, 'UTC'), dataset LowCardinality(Nullable(String)), host Nullable(String), "
            f"doc String, {', '.join(self._ADDED)}) "
            "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (organization_id, ts, id)"
        )
        for column in self._ADDED:
            self.x.command(f"ALTER TABLE {self.events} ADD COLUMN IF NOT EXISTS {column}")
        # The health figures go by ingest time, which is not in the order key: a min/max per granule skips the
        # old ones (parts written before this index get it from `ALTER TABLE … MATERIALIZE INDEX ingested_range`).
        self.x.command(
            f"ALTER TABLE {self.events} ADD INDEX IF NOT EXISTS ingested_range ingested TYPE minmax GRANULARITY 1"
        )
        self.x.command(
            f"CREATE TABLE IF NOT EXISTS {self.rejections} (source_id String, organization_id String, "
            "at DateTime64(3, 'UTC'), line UInt32, reason String, lines UInt32 DEFAULT 1) "
            "ENGINE = MergeTree ORDER BY (source_id, at)"
        )
        self.x.command(f"ALTER TABLE {self.rejections} ADD COLUMN IF NOT EXISTS lines UInt32 DEFAULT 1")

    def close(self) -> None:
        """Nothing held open beyond the executor."""

    def insert(self, events: list[NormalisedEvent], frame: bytes | None = None) -> int:
        """`frame` is not used: ClickHouse keeps a row per event."""
        if not events:
            return 0
        known = self._stored_ids(events)
        ingested = now_ms() / 1000
        rows = []
        for e in events:
            if e.id in known:
                continue
            known.add(e.id)  # a repeat within the batch is stored once
            row = {
                "id": e.id,
                "organization_id": str(e.organization_id),
                "source_id": str(e.source_id),
                "system_id": str(e.system_id) if e.system_id else None,
                "ts": e.timestamp.timestamp(),
                "ingested": ingested,
                "dataset": e.dataset,
                "host": e.host,
            }
            if e.derived:
                row["original"] = e.original.decode()  # accepted lines are UTF-8
                row["received"] = e.ingested.isoformat()
                row["system"] = orjson.dumps(e.system.block()).decode() if e.system is not None else ""
                row["doc"] = ""
            else:
                row["doc"] = orjson.dumps(e.ecs).decode()
            rows.append(orjson.dumps(row))
        if rows:
            self.x.insert_json(self.events, b"\n".join(rows))
        return len(rows)

    def _stored_ids(self, events: list[NormalisedEvent]) -> set[str]:
        """The batch's ids already stored. Only its organisations' rows within its time range are read (the
        table's order key, not a scan of every id): a repeated event has the same time (the line's own, else
        the receive time the wire form carries to every retry)."""
        ids = [f"'{e.id}'" for e in events if e.id.isalnum()]
        stamps = [int(e.timestamp.timestamp() * 1000) for e in events]
        organizations = _ids(list({str(e.organization_id) for e in events}))
        found: set[str] = set()
        for start in range(0, len(ids), self.IDS_PER_QUERY):  # a query's text is limited (256 KiB by default)
            rows = self.x.rows(
                f"SELECT DISTINCT id FROM {self.events} WHERE organization_id IN ({organizations}) "  # noqa: S608
                f"AND ts >= fromUnixTimestamp64Milli({min(stamps) - 1}) "
                f"AND ts <= fromUnixTimestamp64Milli({max(stamps) + 1}) "
                f"AND id IN ({','.join(ids[start : start + self.IDS_PER_QUERY])})"
            )
            found.update(r["id"] for r in rows)
        return found

    def reject(self, source_id: uuid.UUID, organization_id: uuid.UUID, rejections: list[tuple[int, str]]) -> None:
        if rejections:
            at = now_ms() / 1000
            body = b"\n".join(
                orjson.dumps(
                    {"source_id": str(source_id), "organization_id": str(organization_id), "at": at, "line": line,
                     "reason": reason, "lines": lines}
                )
                for line, reason, lines in _recorded(rejections)
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
            f"SELECT source_id, sum(lines) AS n FROM {self.rejections} "  # noqa: S608
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

    def search(
        self,
        organization_ids: list[str] | None,
        query: EventQuery,
        limit: int = 50,
        budget_s: float | None = SEARCH_SECONDS,
    ) -> SearchResult:
        """One query with every filter (the engine scans in parallel; no budget): a query without a start looks
        back a day, then further only while it finds too few."""
        where = []
        if organization_ids is not None:
            if not organization_ids:
                return SearchResult([], True)
            where.append(f"organization_id IN ({_ids(organization_ids)})")
        for column, value in (("source_id", query.source_id), ("system_id", query.system_id)):
            if value is not None:
                where.append(f"{column} = {_ids([value])}")
        for column, value in (("dataset", query.dataset), ("host", query.host)):
            if value is not None:
                where.append(f"{column} = {_text(value)}")
        if query.text:
            line = "if(original != '', original, doc)"
            where.append(
                "("
                + " OR ".join(f"positionCaseInsensitiveUTF8({line}, {_text(n)}) > 0" for n in _needles(query.text))
                + ")"
            )
        if query.since_ms is not None:
            where.append(f"ts >= fromUnixTimestamp64Milli({int(query.since_ms)})")
        if query.until_ms is not None:
            where.append(f"ts < fromUnixTimestamp64Milli({int(query.until_ms)})")
        rows: list[dict] = []
        if limit > 0:
            # the newest `limit` in a window are the newest of all
            for days in (*self.RECENT_DAYS, None) if query.since_ms is None else (None,):
                bounded = where + ([f"ts >= now64(3) - INTERVAL {days} DAY"] if days else [])
                condition = f"WHERE {' AND '.join(bounded)}" if bounded else ""
                rows = self.x.rows(
                    "SELECT doc, original, source_id, organization_id, received, system, "  # noqa: S608
                    f"toUnixTimestamp64Milli(ingested) AS stored FROM {self.events} {condition} "
                    f"ORDER BY ts DESC LIMIT 1 BY id LIMIT {int(limit)}"
                )
                if len(rows) >= limit:
                    break
        hits = [
            Hit(
                r["source_id"],
                r["organization_id"],
                _rebuilt(
                    r["original"].encode(),
                    r["source_id"],
                    r["organization_id"],
                    r["received"],
                    int(r["stored"]),
                    orjson.loads(r["system"]) if r["system"] else None,
                )
                if r["original"]
                else orjson.loads(r["doc"]),
            )
            for r in rows
        ]
        return SearchResult(hits, True)

    def recent_rejections(self, source_id: str, limit: int = 20) -> list[tuple[int, int, str]]:
        rows = self.x.rows(
            f"SELECT toUnixTimestamp64Milli(at) AS at, line, reason FROM {self.rejections} "  # noqa: S608
            f"WHERE source_id = {_ids([source_id])} ORDER BY at DESC LIMIT {int(limit)}"
        )
        return [(int(r["at"]), int(r["line"]), r["reason"]) for r in rows]

    def total(self) -> int:
        return int(self.x.rows(f"SELECT uniqExact(id) AS n FROM {self.events}")[0]["n"])  # noqa: S608

    def remove_before(self, cutoff_ms: int) -> int:
        """Retention: delete events older than the cutoff and stored before it (as the SQLite store), and older
        rejections (ClickHouse mutations, waited for: a daily job). Returns how many events went."""
        cutoff = f"fromUnixTimestamp64Milli({int(cutoff_ms)})"
        older = f"ts < {cutoff} AND ingested < {cutoff}"
        removed = int(self.x.rows(f"SELECT uniqExact(id) AS n FROM {self.events} WHERE {older}")[0]["n"])  # noqa: S608
        if removed:
            self.x.command(f"ALTER TABLE {self.events} DELETE WHERE {older} SETTINGS mutations_sync = 1")
        self.x.command(f"ALTER TABLE {self.rejections} DELETE WHERE at < {cutoff} SETTINGS mutations_sync = 1")
        return removed

    def optimise(self) -> None:
        """Remove repeated events (same id) now rather than at the next background merge."""
        self.x.command(f"OPTIMIZE TABLE {self.events} FINAL")
