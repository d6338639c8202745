"""The event store's contract, run on the embedded SQLite store and on the ClickHouse store through chDB (the
same SQL a ClickHouse server runs): repeats dropped by id, counts per source and label, organisation filters,
the newest documents. Then what is particular to SQLite's chunks: windows cutting through a chunk, repeats
looked up among overlapping chunks, files of the previous one-row-per-event layout, and a model-based check."""

import datetime as dt
import itertools
import json
import sqlite3
import subprocess
import sys
import tempfile
import uuid

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.monitoring import store as store_module
from attt.monitoring.enrich import SystemInfo
from attt.monitoring.normalise import SourceRef, normalise_lines
from attt.monitoring.store import ChDBExecutor, ClickHouseEventStore, SQLiteEventStore, now_ms

_prefix = itertools.count()
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SYSTEMS = [
    SystemInfo(uuid.UUID(int=1), uuid.UUID(int=101), "Cổng dịch vụ công", "government", 3),
    SystemInfo(uuid.UUID(int=2), uuid.UUID(int=102), "Hệ thống thuế", "finance", 4),
]


@pytest.fixture(scope="module")
def chdb_executor(tmp_path_factory):
    return ChDBExecutor(str(tmp_path_factory.mktemp("chdb")))


@pytest.fixture(params=["sqlite", "chdb"])
def store(request, tmp_path, chdb_executor):
    if request.param == "sqlite":
        return SQLiteEventStore(tmp_path / "events.sqlite3")
    return ClickHouseEventStore(chdb_executor, prefix=f"t{next(_prefix)}")


def _events(source, lines, when=None):
    events, rejected = normalise_lines(b"\n".join(lines), source, when or dt.datetime.now(dt.UTC))
    assert not rejected
    return events


def _line(ms: int, n: int, dataset: str | None = None, host: str | None = None) -> bytes:
    doc: dict = {"@timestamp": ms, "n": n}
    if dataset is not None:
        doc["event"] = {"dataset": dataset}
    if host is not None:
        doc["host"] = {"name": host}
    return orjson.dumps(doc)


def _evtx_line(ms: int, n: int, computer: str) -> bytes:
    """An EVTX-derived event: its document is built at ingest (not derived from the line)."""
    stamp = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")
    system = {"TimeCreated": {"#attributes": {"SystemTime": stamp}}, "Computer": computer, "EventID": 4625}
    return orjson.dumps({"Event": {"System": system, "EventData": {"IpAddress": f"10.0.0.{n % 250}"}}, "n": n})


def test_store_contract(store):
    a = SourceRef(uuid.uuid4(), uuid.uuid4())
    b = SourceRef(uuid.uuid4(), uuid.uuid4())
    first = _events(
        a, [b'{"@timestamp": "2026-01-0%dT00:00:00Z", "host": {"name": "h%d"}}' % (i, i) for i in range(1, 6)]
    )
    assert store.insert(first) == 5
    assert store.insert(first[:3]) == 0  # a re-delivered batch
    assert store.insert(_events(b, [b'{"@timestamp": "2026-01-03T00:00:00Z", "x": 1}'])) == 1
    store.reject(a.id, a.organization_id, [(2, "invalid JSON"), (7, "not an object")])
    assert store.total() == 6
    since = int(dt.datetime(2026, 1, 2, tzinfo=dt.UTC).timestamp() * 1000)
    until = int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp() * 1000)
    assert store.count([str(a.organization_id)], since, until) == 3
    assert store.count(None, since, until, group_by="source_id") == {str(a.id): 3, str(b.id): 1}
    assert store.count([], since) == 0
    stats = store.per_source(now_ms() - 60_000)
    assert stats[str(a.id)]["events"] == 5 and stats[str(a.id)]["rejected"] == 2
    assert stats[str(a.id)]["last_event"] == int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp() * 1000)
    assert [d["host"]["name"] for d in store.recent([str(a.organization_id)], limit=2)] == ["h5", "h4"]
    assert store.recent([str(b.organization_id)])[0]["x"] == 1
    assert [line for _, line, _ in store.recent_rejections(str(a.id))] in ([2, 7], [7, 2])


def test_a_batch_of_many_bad_lines_keeps_its_first_reasons_and_counts_every_line(store):
    """A sender's 2 MB batch of a million bad lines (a few KB gzipped) wrote a million rejection rows: the
    store's write lock held for seconds against every other source, ~300 MB on disk, and so again for each
    batch. Now a batch keeps the first reasons and one row counting the rest; the error rate stays exact."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    rejected = [(n, f"invalid JSON at line {n}") for n in range(1, 2 * store_module.REJECTIONS_KEPT + 2)]
    store.reject(source.id, source.organization_id, rejected)
    assert store.per_source(now_ms() - 60_000)[str(source.id)]["rejected"] == len(rejected)
    listed = store.recent_rejections(str(source.id), limit=10 * store_module.REJECTIONS_KEPT)
    assert len(listed) == store_module.REJECTIONS_KEPT + 1
    assert sorted(line for _, line, _ in listed) == list(range(1, store_module.REJECTIONS_KEPT + 2))
    summary = next(reason for _, line, reason in listed if line == store_module.REJECTIONS_KEPT + 1)
    assert summary.startswith(f"{store_module.REJECTIONS_KEPT + 1} lines rejected from this line on")


def test_values_of_unexpected_types_are_stored_as_text(store):
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    events = _events(source, [b'{"event": {"dataset": ["fw", "ids"]}, "host": {"name": 42}}'])
    assert store.insert(events) == 1
    assert store.count(None, 0, group_by="dataset") == {'["fw","ids"]': 1}
    assert store.count(None, 0, group_by="host") == {"42": 1}


def test_clickhouse_store_refuses_anything_but_ids_in_filters(chdb_executor):
    store = ClickHouseEventStore(chdb_executor, prefix=f"t{next(_prefix)}")
    with pytest.raises(ValueError):
        store.count(["x' OR 1=1 --"], 0)


def test_clickhouse_keeps_a_derived_events_line_and_opens_a_table_of_the_first_layout(chdb_executor):
    """A derived event's row holds its line, not a document; a table made before those columns gets them and its
    stored documents still read."""
    prefix = f"t{next(_prefix)}"
    chdb_executor.command(
        f"CREATE TABLE {prefix}_event (id FixedString(32), organization_id LowCardinality(String), "
        "source_id LowCardinality(String), system_id Nullable(String), ts DateTime64(3, 'UTC'), "
        "ingested DateTime64(3, 'UTC'), dataset LowCardinality(Nullable(String)), host Nullable(String), "
        "doc String) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (organization_id, ts, id)"
    )
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    old = _events(source, [_evtx_line(BASE_MS, 1, "DC01")])[0]
    chdb_executor.insert_json(
        f"{prefix}_event",
        orjson.dumps(
            {"id": old.id, "organization_id": str(source.organization_id), "source_id": str(source.id),
             "ts": BASE_MS / 1000, "ingested": BASE_MS / 1000, "doc": orjson.dumps(old.ecs).decode()}
        ),
    )  # fmt: skip
    store = ClickHouseEventStore(chdb_executor, prefix=prefix)
    received = dt.datetime.fromtimestamp(BASE_MS / 1000 + 60, dt.UTC)
    lines = [_line(BASE_MS + 1, 2, "dns"), b'{"message": "no time of its own"}']  # the second takes `received`
    new = _events(source, lines, received)
    assert store.insert(new) == 2
    assert store.insert(_events(source, lines, received)) == 0  # a retry: same lines, same receive time
    (row,) = chdb_executor.rows(f"SELECT doc, original FROM {prefix}_event WHERE id = '{new[0].id}'")
    assert row == {"doc": "", "original": new[0].original.decode()}
    assert store.recent(None, limit=5) == [new[1].ecs, new[0].ecs, old.ecs]


def test_clickhouse_checks_ids_in_bounded_queries_and_looks_back_only_as_far_as_needed(chdb_executor, monkeypatch):
    """A batch larger than one query's ids is checked in several; `recent` reads the last day first and goes
    further back only when that holds too few events, giving the newest in order either way."""
    monkeypatch.setattr(ClickHouseEventStore, "IDS_PER_QUERY", 3)
    store = ClickHouseEventStore(chdb_executor, prefix=f"t{next(_prefix)}")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    now = now_ms()
    old = BASE_MS - 400 * 86_400_000  # beyond every bounded look-back
    lines = [_line(now - n * 60_000, n) for n in range(5)] + [_line(old + n, 100 + n) for n in range(5)]
    events = _events(source, lines)
    assert store.insert(events) == 10 and store.insert(events) == 0
    queries = []
    rows = chdb_executor.rows
    monkeypatch.setattr(chdb_executor, "rows", lambda sql: queries.append(sql) or rows(sql))
    assert [d["n"] for d in store.recent(None, limit=3)] == [0, 1, 2] and len(queries) == 1
    queries.clear()
    assert [d["n"] for d in store.recent(None, limit=7)] == [0, 1, 2, 3, 4, 104, 103]
    assert len(queries) == 5 and "INTERVAL" not in queries[-1]  # 1, 7, 31, 366 days, then all


def test_count_refuses_an_unknown_grouping(store):
    with pytest.raises(ValueError):
        store.count(None, 0, group_by="doc")


def test_recent_gives_back_the_whole_document_with_its_original(store):
    """The document read back is the one normalised, original included (non-ASCII text too)."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    line = '{"@timestamp": "2026-01-01T00:00:00Z", "message": "Đăng nhập \\"sai\\"", "event": {"kind": "alert"}}'
    events = _events(source, [line.encode()])
    assert store.insert(events) == 1
    (doc,) = store.recent([str(source.organization_id)])
    assert doc == events[0].ecs
    assert doc["event"]["original"] == line and doc["message"] == 'Đăng nhập "sai"'


def test_documents_round_trip_with_their_system_block(store):
    """Derived (NDJSON) events keep only their line and get their document and `attt.system` block back on
    read; EVTX events keep their document; a batch mixing both, enriched or not, reads back equal to `ecs`."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    received = dt.datetime(2026, 1, 9, 3, 4, 5, 678901, tzinfo=dt.UTC)
    lines = [
        _line(BASE_MS + 1, 1, "firewall", "srv-1.tinh1.gov.vn"),
        b'{"message": "no time of its own", "event": "not an object"}',  # takes the receive time
        _evtx_line(BASE_MS + 3, 3, "DC01"),
        _line(BASE_MS + 4, 4),
        _evtx_line(BASE_MS + 5, 5, "DC02"),
    ]
    events = _events(source, lines, received)
    assert [e.derived for e in events] == [True, True, False, True, False]
    events[0].set_system(SYSTEMS[0])
    events[2].set_system(SYSTEMS[1])
    events[3].set_system(SYSTEMS[1])
    expected = {e.id: e.ecs for e in events}
    assert "attt" in expected[events[0].id] and "attt" not in expected[events[1].id]
    fresh = _events(source, lines, received)  # the same events never materialised before the insert
    for event, info in ((0, SYSTEMS[0]), (2, SYSTEMS[1]), (3, SYSTEMS[1])):
        fresh[event].set_system(info)
    assert store.insert(fresh) == 5
    documents = store.recent([str(source.organization_id)], limit=10)
    assert {d["event"]["id"]: d for d in documents} == expected
    assert store.count(None, 0, group_by="system_id") == {
        str(SYSTEMS[0].system_id): 1,
        str(SYSTEMS[1].system_id): 2,
        None: 2,
    }


def test_counts_of_windows_cutting_through_a_chunk(store):
    """One batch (one chunk) of 40 events one second apart; windows starting and ending inside it count each
    event in the window, per label too."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    lines = [_line(BASE_MS + i * 1000, i, ["dns", "proxy", None][i % 3], f"h{i % 4}") for i in range(40)]
    events = _events(source, lines)
    for i, event in enumerate(events):
        if i % 5 == 0:
            event.set_system(SYSTEMS[i % 2])
    assert store.insert(events) == 40
    org = [str(source.organization_id)]
    since, until = BASE_MS + 10_000, BASE_MS + 25_000  # events 10 … 24
    inside = range(10, 25)
    assert store.count(org, since, until) == 15
    assert store.count(org, since) == 30
    assert store.count(org, BASE_MS, BASE_MS + 1) == 1
    assert store.count(org, BASE_MS + 39_000 + 1) == 0
    assert store.count(org, since, until, group_by="source_id") == {str(source.id): 15}
    datasets = {"dns": 0, "proxy": 0, None: 0}
    hosts: dict = {}
    systems: dict = {}
    for i in inside:
        datasets[["dns", "proxy", None][i % 3]] += 1
        hosts[f"h{i % 4}"] = hosts.get(f"h{i % 4}", 0) + 1
        key = str(SYSTEMS[i % 2].system_id) if i % 5 == 0 else None
        systems[key] = systems.get(key, 0) + 1
    assert store.count(org, since, until, group_by="dataset") == datasets
    assert store.count(org, since, until, group_by="host") == hosts
    assert store.count(org, since, until, group_by="system_id") == systems
    assert store.count(org, 0, group_by="host") == {f"h{k}": 10 for k in range(4)}


def test_a_later_batch_overlapping_in_time_adds_only_its_new_events(store):
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    first = _events(source, [_line(BASE_MS + i * 10, i) for i in range(0, 100, 2)])  # even times 0 … 980
    assert store.insert(first) == 50
    # odd events in the same span, half of the stored ones again, and a repeat within the batch
    later = [_line(BASE_MS + i * 10, i) for i in range(1, 100, 2)] + [
        _line(BASE_MS + i * 10, i) for i in range(0, 50, 2)
    ]
    later.append(later[0])
    assert store.insert(_events(source, later)) == 50
    assert store.insert(_events(source, later)) == 0
    assert store.total() == 100
    assert store.count(None, BASE_MS, BASE_MS + 1000) == 100
    assert sorted(d["n"] for d in store.recent(None, limit=200)) == list(range(100))


def test_recent_across_chunks_gives_the_newest_events_in_order(store):
    """Interleaved chunks (two sources of one organisation, batches overlapping in time, inserted oldest
    first and newest first): the newest `limit` events, newest first, and per source."""
    org = uuid.uuid4()
    a, b = SourceRef(uuid.uuid4(), org), SourceRef(uuid.uuid4(), org)
    for start in (0, 300, 150):
        store.insert(_events(a, [_line(BASE_MS + t, t) for t in range(start, start + 150, 3)]))
        store.insert(_events(b, [_line(BASE_MS + t, t) for t in range(start + 1, start + 150, 3)]))
    store.insert(_events(a, [_line(BASE_MS + 449, 449)]))  # a late, lone newest event
    times = sorted([*range(0, 450, 3), *range(1, 450, 3), 449], reverse=True)
    assert [d["n"] for d in store.recent([str(org)], limit=7)] == times[:7]
    assert [d["n"] for d in store.recent(None, limit=len(times) + 5)] == times
    assert [d["n"] for d in store.recent([str(org)], limit=4, source_id=str(b.id))] == [448, 445, 442, 439]
    assert store.recent([str(uuid.uuid4())]) == [] and store.recent([]) == []


def test_search_filters_by_window_labels_and_text(store):
    """Each filter alone and together, on both kinds of stored line; text case aside (Vietnamese too) and found in
    an EVTX event's document; hits say their source and organisation; a text with quotes is only text."""
    org = uuid.uuid4()
    a, b = SourceRef(uuid.uuid4(), org), SourceRef(uuid.uuid4(), org)
    lines = [
        orjson.dumps({"@timestamp": BASE_MS + i * 1000, "n": i, "event": {"dataset": ["dns", "proxy"][i % 2]},
                      "host": {"name": f"h{i % 3}"}, "message": "Đăng nhập SAI" if i % 4 == 0 else "ổn"})
        for i in range(24)
    ]  # fmt: skip
    events = _events(a, lines)
    for i, event in enumerate(events):
        if i % 5 == 0:
            event.set_system(SYSTEMS[0])
    assert store.insert(events) == 24
    assert store.insert(_events(b, [_evtx_line(BASE_MS + 30_000, 99, "DC01")])) == 1
    orgs = [str(org)]

    def found(limit: int = 50, **filters) -> list[int]:
        result = store.search(orgs, store_module.EventQuery(**filters), limit)
        assert result.complete
        return [orjson.loads(hit.document["event"]["original"])["n"] for hit in result.hits]

    everything = [99, *range(23, -1, -1)]
    assert found() == everything
    assert found(since_ms=BASE_MS + 20_000) == [99, 23, 22, 21, 20]
    assert found(since_ms=BASE_MS + 5_000, until_ms=BASE_MS + 8_000) == [7, 6, 5]
    assert found(until_ms=BASE_MS + 2_000) == [1, 0]
    assert found(source_id=str(b.id)) == [99]
    assert found(dataset="proxy") == list(range(23, 0, -2))
    assert found(host="h1") == list(range(22, 0, -3))
    assert found(host="DC01") == [99]
    assert found(system_id=str(SYSTEMS[0].system_id)) == [20, 15, 10, 5, 0]
    assert found(system_id=str(SYSTEMS[1].system_id)) == []
    assert found(text="đăng nhập sai") == list(range(20, -1, -4))
    assert found(text="10.0.0.99") == [99]  # EVTX: its ECS document
    assert found(text="' OR 1=1 --") == [] and found(text='"n":1') == [19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 1]
    assert found(dataset="dns", host="h0", text="sai", since_ms=BASE_MS + 1) == [12]
    assert found(dataset="nothing") == [] and found(host="h1", limit=2) == [22, 19]
    hits = store.search(orgs, store_module.EventQuery(source_id=str(b.id))).hits
    assert [(h.source_id, h.organization_id) for h in hits] == [(str(b.id), str(org))]
    assert store.search([str(uuid.uuid4())], store_module.EventQuery()).hits == []
    assert store.search(None, store_module.EventQuery(text="sai"), limit=1).hits[0].document["n"] == 20


# --- SQLite particulars ---------------------------------------------------------------------------------------


def test_health_figures_read_only_the_recent_part_of_their_indexes(tmp_path):
    """The live page's per-source figures range over the ingest-time indexes, not every chunk and rejection."""
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    plans = []
    original = store._db

    class Explaining:
        def execute(self, sql, args=()):
            plans.append(" ".join(row[-1] for row in original.execute("EXPLAIN QUERY PLAN " + sql, args)))
            return original.execute(sql, args)

    store._db = Explaining()
    store.per_source(0)
    assert len(plans) == 2
    assert "SEARCH chunk USING COVERING INDEX chunk_ingested (ingested>?)" in plans[0]
    assert "SEARCH rejection USING COVERING INDEX rejection_at_lines (at>?)" in plans[1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(10**12), 10**13), min_size=1, max_size=40))
def test_time_spans_cover_every_time_and_leave_out_only_empty_hours(times):
    spans = store_module._time_spans(times, min(times), max(times))
    assert all(any(low <= t <= high for low, high in spans) for t in times)
    assert all(later[0] - earlier[1] > store_module.SPAN_GAP_MS for earlier, later in itertools.pairwise(spans))
    assert all(low in times and high in times for low, high in spans)


def test_a_far_off_time_in_a_batch_does_not_make_it_read_the_sources_history(tmp_path):
    """A batch with one event from 1970 reads the chunks around its two spans only, and still finds repeats
    in both."""
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    for day in range(30):  # a month of history, a chunk a day
        assert store.insert(_events(source, [_line(BASE_MS + day * 86_400_000, day)])) == 1
    late = BASE_MS + 40 * 86_400_000
    first = _events(source, [_line(late, 1), _line(late + 5, 2), _line(1000, 3)])
    assert store.insert(first) == 3
    read = []
    original = store._db

    class Counting:
        def execute(self, sql, args=()):
            rows = original.execute(sql, args).fetchall()
            if sql.startswith("SELECT ids FROM chunk"):
                read.extend(rows)
            return iter(rows)

        def executemany(self, sql, rows):
            return original.executemany(sql, rows)

        def __getattr__(self, name):
            return getattr(original, name)

    store._db = Counting()
    assert store.insert(_events(source, [_line(late, 1), _line(1000, 3), _line(late + 9, 4)])) == 1
    assert len(set(read)) == 1  # the chunk of the first batch (once per span), not the month of history between


def test_one_row_per_chunk_and_large_batches_split(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "CHUNK_EVENTS", 4)
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    a, b = SourceRef(uuid.uuid4(), uuid.uuid4()), SourceRef(uuid.uuid4(), uuid.uuid4())
    mixed = _events(a, [_line(BASE_MS + i, i) for i in range(10)]) + _events(b, [_line(BASE_MS + 5, 5)])
    assert store.insert(mixed) == 11
    rows = store._db.execute("SELECT source_id, events, ts_min, ts_max FROM chunk ORDER BY source_id, ts_min")
    assert sorted((s == str(a.id), n, lo, hi) for s, n, lo, hi in rows) == [
        (False, 1, BASE_MS + 5, BASE_MS + 5),
        (True, 2, BASE_MS + 8, BASE_MS + 9),
        (True, 4, BASE_MS + 0, BASE_MS + 3),
        (True, 4, BASE_MS + 4, BASE_MS + 7),
    ]
    assert store.count(None, BASE_MS + 3, BASE_MS + 9, group_by="source_id") == {str(a.id): 6, str(b.id): 1}


def test_a_search_that_runs_out_of_time_says_so(tmp_path):
    """A rare text over many chunks: the store stops at its time budget and says the answer may miss newer
    matches, rather than reading the whole history inside one request."""
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    for batch in range(3):
        store.insert(_events(source, [_line(BASE_MS + batch * 100 + i, i) for i in range(10)]))
    query = store_module.EventQuery(text='"n":3')
    assert store.search(None, query, budget_s=0).complete is False
    whole = store.search(None, query)
    assert whole.complete and [h.document["n"] for h in whole.hits] == [3, 3, 3]


def test_the_budget_bounds_sqlites_own_choice_of_chunks_too(tmp_path, monkeypatch):
    """A host no chunk holds: SQLite read every chunk's labels before the search's loop, and so its deadline,
    saw a first row; the search's connection is now interrupted at the deadline wherever SQLite is."""
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    for batch in range(300):
        store.insert(_events(source, [_line(BASE_MS + batch * 10 + i, i, host=f"h{batch}") for i in range(3)]))

    class Clock:  # each look at the clock is a second later: the deadline passes while SQLite works
        now = 0.0

        @classmethod
        def monotonic(cls) -> float:
            cls.now += 1
            return cls.now

    monkeypatch.setattr(store_module, "time", Clock)
    assert store.search(None, store_module.EventQuery(host="nowhere"), budget_s=1).complete is False
    assert store.search(None, store_module.EventQuery(host="nowhere"), budget_s=None).complete is True
    found = store.search(None, store_module.EventQuery(host="h299"), budget_s=10**9)
    assert found.complete and len(found.hits) == 3


def test_a_damaged_chunk_is_reported_not_misread(tmp_path):
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    store.insert(_events(source, [_line(BASE_MS, 0), _line(BASE_MS + 1, 1)]))
    store._db.execute("UPDATE chunk SET body = ?", (store._compressor.compress(b"{}"),))
    with pytest.raises(ValueError, match="damaged"):
        store.recent(None)


LEGACY_SCHEMA = """
CREATE TABLE event (
    id BLOB NOT NULL, organization_id TEXT NOT NULL, source_id TEXT NOT NULL, system_id TEXT, ts INTEGER NOT NULL,
    ingested INTEGER NOT NULL, dataset TEXT, host TEXT, doc BLOB NOT NULL{original}
);
CREATE UNIQUE INDEX event_ts_id ON event (ts, id);
CREATE TABLE rejection (
    source_id TEXT NOT NULL, organization_id TEXT NOT NULL, at INTEGER NOT NULL, line INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""


@pytest.mark.parametrize("with_original", [True, False], ids=["original-column", "before-original-column"])
def test_a_file_of_the_previous_layout_is_moved_into_chunks(tmp_path, with_original):
    """Rows of the one-row-per-event table become chunks (one per source and ingest time) with their documents
    whole, the old table is dropped, and the moved events still count as stored (their repeats are skipped)."""
    path = tmp_path / "old.sqlite3"
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    events = _events(source, [_line(BASE_MS + i * 1000, i, "dns" if i % 2 else None, f"h{i % 3}") for i in range(6)])
    events[0].set_system(SYSTEMS[0])
    db = sqlite3.connect(path)
    db.executescript(LEGACY_SCHEMA.format(original=", original BLOB" if with_original else ""))
    for i, e in enumerate(events):
        document = e.ecs
        original = None
        if with_original and i % 2:  # the newer layout kept the original apart
            document = {**document, "event": {k: v for k, v in document["event"].items() if k != "original"}}
            original = e.original
        row = [bytes.fromhex(e.id), str(e.organization_id), str(e.source_id), str(e.system_id) if e.system_id else None]
        row += [BASE_MS + i * 1000, 1000 + i // 3, e.dataset, e.host, orjson.dumps(document)]
        db.execute(
            f"INSERT INTO event VALUES ({','.join('?' * (len(row) + with_original))})", row + [original] * with_original
        )
    db.execute(
        "INSERT INTO rejection VALUES (?, ?, 5, 1, 'invalid JSON')", (str(source.id), str(source.organization_id))
    )
    db.commit()
    db.close()

    old = SQLiteEventStore(path)
    tables = {name for (name,) in old._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "event" not in tables and old.total() == 6
    assert old._db.execute("SELECT count(*), sum(events) FROM chunk").fetchone() == (2, 6)
    org = [str(source.organization_id)]
    documents = old.recent(org, limit=10)
    assert [d["n"] for d in documents] == [5, 4, 3, 2, 1, 0]
    assert documents == [e.ecs for e in reversed(events)]
    assert old.count(org, BASE_MS + 1000, BASE_MS + 4000, group_by="dataset") == {"dns": 2, None: 1}
    assert old.count(org, 0, group_by="system_id") == {str(SYSTEMS[0].system_id): 1, None: 5}
    assert old.per_source(0)[str(source.id)] == {
        "events": 6,
        "last_ingested": 1001,
        "last_event": BASE_MS + 5000,
        "rejected": 1,
    }
    assert old.insert(events[2:]) == 0
    assert old.insert(_events(source, [_line(BASE_MS + 2500, 99)])) == 1
    old.close()
    assert SQLiteEventStore(path).total() == 7  # opening again moves nothing twice


WRITER = """
import sys, uuid
import orjson
from attt.monitoring.normalise import SourceRef, normalise_lines
from attt.monitoring.store import SQLiteEventStore
store = SQLiteEventStore(sys.argv[1])
source = SourceRef(uuid.UUID(sys.argv[2]), uuid.UUID(sys.argv[3]))
added = 0
for start in range(0, 2000, 100):
    lines = [orjson.dumps({"@timestamp": 1767225600000 + i, "n": i}) for i in range(start, start + 150)]
    events, _ = normalise_lines(b"\\n".join(lines), source)
    added += store.insert(events)
print(added)
"""


def test_two_processes_writing_the_same_events_store_each_once(tmp_path):
    path, source = tmp_path / "events.sqlite3", SourceRef(uuid.uuid4(), uuid.uuid4())
    args = [sys.executable, "-c", WRITER, str(path), str(source.id), str(source.organization_id)]
    SQLiteEventStore(path).close()  # the file exists before both open it
    writers = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    added = [int(w.communicate(timeout=120)[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers)
    assert sum(added) == 2050 and SQLiteEventStore(path).total() == 2050


# --- Model-based check ----------------------------------------------------------------------------------------

_event_spec = st.tuples(
    st.integers(0, 60_000),  # time offset, ms
    st.sampled_from(["firewall", "dns", None]),
    st.sampled_from(["a.gov.vn", "b.gov.vn", None]),
    st.sampled_from([None, 0, 1]),  # system
    st.booleans(),  # EVTX (document kept) rather than NDJSON (line kept)
    st.integers(0, 1),  # source
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(_event_spec, min_size=1, max_size=30),
    batches=st.lists(st.lists(st.integers(0, 29), min_size=1, max_size=25), min_size=1, max_size=5),
    windows=st.lists(st.tuples(st.integers(-1000, 61_000), st.none() | st.integers(0, 62_000)), min_size=1, max_size=4),
    chunk_events=st.sampled_from([2, 7, 20_000]),
    limit=st.integers(1, 40),
)
def test_counts_match_a_naive_model(specs, batches, windows, chunk_events, limit):
    """Random batches (times, repeats within and across batches, systems, two sources of two organisations, both
    kinds of stored line, chunks split small or not) answer every count and `recent` like a list of events."""
    sources = [SourceRef(uuid.UUID(int=11), uuid.UUID(int=21)), SourceRef(uuid.UUID(int=12), uuid.UUID(int=22))]
    model: dict[str, tuple] = {}
    saved = store_module.CHUNK_EVENTS
    store_module.CHUNK_EVENTS = chunk_events
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = SQLiteEventStore(f"{folder}/events.sqlite3")
            for batch in batches:
                events = []
                for source_index in (0, 1):
                    chosen = [(n, specs[n]) for n in batch if n < len(specs) and specs[n][5] == source_index]
                    if not chosen:
                        continue
                    lines = [
                        _evtx_line(BASE_MS + t, n, host or "-") if evtx else _line(BASE_MS + t, n, dataset, host)
                        for n, (t, dataset, host, _, evtx, _) in chosen
                    ]
                    for event, (_, spec) in zip(_events(sources[source_index], lines), chosen, strict=True):
                        if spec[3] is not None:
                            event.set_system(SYSTEMS[spec[3]])
                        events.append(event)
                new = {e.id: e for e in events if e.id not in model}
                assert store.insert(events) == len(new)
                for e in new.values():
                    ms = (e.timestamp - store_module._EPOCH) // store_module._MS
                    system = str(e.system_id) if e.system_id else None
                    model[e.id] = (str(e.organization_id), str(e.source_id), ms, system, e.dataset, e.host)
            assert store.total() == len(model)
            for since, until in windows:
                since, until = BASE_MS + since, None if until is None else BASE_MS + until
                for organizations in (None, [str(sources[0].organization_id)], [str(uuid.uuid4())]):
                    chosen = [
                        m
                        for m in model.values()
                        if since <= m[2] and (until is None or m[2] < until)
                        and (organizations is None or m[0] in organizations)
                    ]  # fmt: skip
                    assert store.count(organizations, since, until) == len(chosen)
                    for group_by, column in (("source_id", 1), ("system_id", 3), ("dataset", 4), ("host", 5)):
                        expected: dict = {}
                        for m in chosen:
                            expected[m[column]] = expected.get(m[column], 0) + 1
                        assert store.count(organizations, since, until, group_by=group_by) == expected
            newest = store.recent(None, limit=limit)
            times = sorted((m[2] for m in model.values()), reverse=True)[:limit]
            assert [_ms(d["@timestamp"]) for d in newest] == times
            assert len({d["event"]["id"] for d in newest}) == len(newest)
            since, until = windows[0]
            for labels in (
                {},
                {"dataset": "dns"},
                {"host": "a.gov.vn"},
                {"system": 1},
                {"dataset": "firewall", "system": 0},
            ):
                query = store_module.EventQuery(
                    since_ms=BASE_MS + since,
                    until_ms=None if until is None else BASE_MS + until,
                    system_id=str(SYSTEMS[labels["system"]].system_id) if "system" in labels else None,
                    dataset=labels.get("dataset"),
                    host=labels.get("host"),
                )
                matching = [
                    m[2]
                    for m in model.values()
                    if query.since_ms <= m[2] and (query.until_ms is None or m[2] < query.until_ms)
                    and (query.system_id is None or m[3] == query.system_id)
                    and (query.dataset is None or m[4] == query.dataset) and (query.host is None or m[5] == query.host)
                ]  # fmt: skip
                hits = store.search([str(sources[1].organization_id), str(sources[0].organization_id)], query, limit)
                assert [_ms(h.document["@timestamp"]) for h in hits.hits] == sorted(matching, reverse=True)[:limit]
            store.close()
    finally:
        store_module.CHUNK_EVENTS = saved


def _ms(iso: str) -> int:
    return (dt.datetime.fromisoformat(iso) - store_module._EPOCH) // store_module._MS


def test_a_batch_is_stored_from_its_wire_frame_as_it_came(tmp_path):
    """The gateway's compressed message becomes the chunk's body (no second compression) when it holds exactly
    the batch's events, all derived; the documents read back the same. With repeats dropped, or with events whose
    document is not derived, the store compresses the lines itself."""
    from attt.monitoring.normalise import chunk_body, events_payload

    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    received = dt.datetime(2026, 1, 9, tzinfo=dt.UTC)
    first = _events(source, [_line(BASE_MS + n, n, "dns", f"h{n}") for n in range(5)], received)
    first[1].set_system(SYSTEMS[0])
    expected = {e.id: e.ecs for e in first}
    assert store.insert(first, events_payload(first, source)) == 5
    later = _events(source, [_line(BASE_MS + n, n, "dns", f"h{n}") for n in range(3, 8)], received)  # 3, 4 again
    assert store.insert(later, events_payload(later, source)) == 3
    mixed = _events(source, [_line(BASE_MS + 20, 20), _evtx_line(BASE_MS + 21, 21, "DC01")], received)
    assert store.insert(mixed, events_payload(mixed, source)) == 2
    bodies = [body for (body,) in store._db.execute("SELECT body FROM chunk ORDER BY rowid")]
    assert bodies[0] == chunk_body(events_payload(first, source))[0]
    # repeats dropped, or a document not derived from its line: the store compressed the lines itself
    assert bodies[1] != chunk_body(events_payload(later, source))[0]
    assert bodies[2] != chunk_body(events_payload(mixed, source))[0]
    documents = {d["event"]["id"]: d for d in store.recent([str(source.organization_id)], limit=20)}
    assert len(documents) == 10 and all(documents[i] == doc for i, doc in expected.items())
    assert store.count(None, 0, group_by="dataset") == {"dns": 8, None: 1, "windows": 1}


def test_a_batch_in_the_earlier_wire_form_is_read_and_stored(tmp_path):
    """Spool rows and JetStream messages written before the header left the compressed part (ATTT2) are still
    in flight at an upgrade: they decode, and the store keeps them with their header as the first line."""
    import zstandard

    from attt.monitoring.normalise import decode_batch, encode_lines

    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    received = dt.datetime(2026, 1, 9, tzinfo=dt.UTC)
    lines = [_line(BASE_MS + n, n, "dns", f"h{n}") for n in range(3)]
    header, _, compressed = encode_lines(source, received, lines).removeprefix(b"ATTT3\n").partition(b"\n")
    old = b"ATTT2\n" + zstandard.ZstdCompressor().compress(header + b"\n" + zstandard.decompress(compressed))
    events, complete = decode_batch(old)
    assert complete and [e.original for e in events] == lines and events[0].ingested == received
    assert store.insert(events, old) == 3
    assert [framed for (framed,) in store._db.execute("SELECT framed FROM chunk")] == [1]
    assert {d["host"]["name"] for d in store.recent(None, limit=5)} == {"h0", "h1", "h2"}


def test_retention_removes_what_is_older_than_the_cutoff(store, monkeypatch):
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    monkeypatch.setattr(store_module, "now_ms", lambda: BASE_MS)  # stored as they happened
    assert store.insert(_events(source, [_line(BASE_MS + n, n) for n in range(3)])) == 3  # a batch of old events
    assert store.insert(_events(source, [_line(BASE_MS + 10, 10), _line(BASE_MS + 30, 30)])) == 2  # straddling
    assert store.insert(_events(source, [_line(BASE_MS + 40, 40)])) == 1
    monkeypatch.undo()
    store.reject(source.id, source.organization_id, [(1, "invalid JSON")])
    assert store.remove_before(BASE_MS + 20) == (3 if isinstance(store, SQLiteEventStore) else 4)
    left = store.count(None, 0)
    assert left == (3 if isinstance(store, SQLiteEventStore) else 2)  # SQLite keeps a straddling chunk whole
    assert store.remove_before(BASE_MS + 41) == left and store.total() == 0
    assert store.recent_rejections(str(source.id)) != []  # rejections are dated by when they came (now)
    assert store.remove_before(now_ms() + 1000) == 0 and store.recent_rejections(str(source.id)) == []


def test_retention_keeps_old_events_for_the_period_after_they_came(store):
    """A replay of last year's logs, or a device whose clock says 1970, is kept as long as a fresh event: retention
    counts from arrival too, so accepted events are not deleted by the next run."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    assert store.insert(_events(source, [_line(0, 1), _line(BASE_MS, 2)])) == 2
    assert store.remove_before(now_ms() - 1000) == 0 and store.count(None, 0) == 2
    assert store.remove_before(now_ms() + 1000) == 2 and store.total() == 0
    store.reject(source.id, source.organization_id, [(1, "invalid JSON")])
    assert store.remove_before(now_ms() + 1000) == 0 and store.recent_rejections(str(source.id)) == []


def test_a_text_search_finds_backslashes_and_quotes_as_typed(store):
    """Windows paths and command lines are what EVTX events are searched for; the stored document holds them as
    JSON writes them (`C:\\\\Windows`, `\\"whoami\\"`), and a search for the path as typed found nothing."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    system = {"TimeCreated": {"#attributes": {"SystemTime": "2026-01-01T00:00:00Z"}}, "Computer": "PC1", "EventID": 1}
    command = r'C:\Windows\System32\cmd.exe /c "whoami"'
    line = orjson.dumps({"Event": {"System": system, "EventData": {"CommandLine": command}}})
    ndjson = orjson.dumps({"@timestamp": BASE_MS, "process": {"command_line": command}})
    assert store.insert(_events(source, [line, ndjson])) == 2
    for typed in (r"System32\cmd.exe", '/c "whoami"', "CMD.EXE"):
        assert len(store.search(None, store_module.EventQuery(text=typed)).hits) == 2, typed


def test_a_text_search_finds_letters_a_sender_wrote_as_escapes(store):
    """Python's `json.dumps` (and other ASCII-only senders) write 'Đăng nhập thất bại' as `\\u0110\\u0103ng
    nh\\u1eadp ...`, and Go's encoder writes `<` as `\\u003c`: a search for the words as typed found nothing."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    escaped = json.dumps({"@timestamp": BASE_MS, "message": "Đăng nhập thất bại: TÀI KHOẢN quản trị"}).encode()
    assert b"\\u0110" in escaped
    plain = orjson.dumps({"@timestamp": BASE_MS + 1, "message": "đăng nhập thành công"})
    go = orjson.dumps({"@timestamp": BASE_MS + 2, "url": "/search?q=<script>"})
    go = go.replace(b"<", b"\\u003C").replace(b">", b"\\u003e")
    tricky = orjson.dumps({"@timestamp": BASE_MS + 3, "path": "C:\\u0110\\users"})  # a backslash, not an escape
    assert store.insert(_events(source, [escaped, plain, go, tricky])) == 4

    def found(text):
        return len(store.search(None, store_module.EventQuery(text=text)).hits)

    assert found("đăng nhập") == 2 and found("nhập thất bại") == 1  # as the sender wrote it, in lower case
    assert found("ĐĂNG NHẬP THẤT") == 1 and found("Tài Khoản") == 1  # first letter or all capitals
    assert found("<SCRIPT>") == 1
    assert found("\\u0110\\users") == 1  # as typed (a search for "đ\\users" finds it too: see docs)
