"""The event store's contract, run on the embedded SQLite store and on the ClickHouse store through chDB (the
same SQL a ClickHouse server runs): repeats dropped by id, counts per source, organisation filters."""

import datetime as dt
import itertools
import uuid

import pytest

from attt.monitoring.normalise import SourceRef, normalise_lines
from attt.monitoring.store import ChDBExecutor, ClickHouseEventStore, SQLiteEventStore, now_ms

_prefix = itertools.count()


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
    assert [d["host"]["name"] for d in store.recent([str(a.organization_id)], limit=2)] == ["h5", "h4"]
    assert store.recent([str(b.organization_id)])[0]["x"] == 1
    assert [line for _, line, _ in store.recent_rejections(str(a.id))] in ([2, 7], [7, 2])


def test_values_of_unexpected_types_are_stored_as_text(store):
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    events = _events(source, [b'{"event": {"dataset": ["fw", "ids"]}, "host": {"name": 42}}'])
    assert store.insert(events) == 1
    assert store.count(None, 0, group_by="dataset") == {'["fw","ids"]': 1}


def test_clickhouse_store_refuses_anything_but_ids_in_filters(chdb_executor):
    store = ClickHouseEventStore(chdb_executor, prefix=f"t{next(_prefix)}")
    with pytest.raises(ValueError):
        store.count(["x' OR 1=1 --"], 0)


def test_recent_gives_back_the_whole_document_with_its_original(store):
    """SQLite keeps `event.original` as the received bytes in a column of its own; the document read back is the
    one normalised, original included (non-ASCII text too)."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    line = '{"@timestamp": "2026-01-01T00:00:00Z", "message": "Đăng nhập \\"sai\\"", "event": {"kind": "alert"}}'
    events = _events(source, [line.encode()])
    assert store.insert(events) == 1
    (doc,) = store.recent([str(source.organization_id)])
    assert doc == events[0].ecs
    assert doc["event"]["original"] == line and doc["message"] == 'Đăng nhập "sai"'


def test_sqlite_store_opens_a_file_made_before_the_original_column(tmp_path):
    import sqlite3

    from attt.monitoring import store as store_module

    path = tmp_path / "old.sqlite3"
    legacy = store_module.SCHEMA.replace("    doc BLOB NOT NULL,\n    original BLOB\n", "    doc BLOB NOT NULL\n")
    assert legacy != store_module.SCHEMA
    db = sqlite3.connect(path)
    db.executescript(legacy)
    db.execute(
        "INSERT INTO event VALUES (?, 'o', 's', NULL, 1, 1, NULL, NULL, ?)",
        (bytes(16), b'{"event": {"original": "x"}, "a": 1}'),
    )
    db.commit()
    db.close()
    old = SQLiteEventStore(path)
    assert old.recent(["o"]) == [{"event": {"original": "x"}, "a": 1}]
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    assert old.insert(_events(source, [b'{"@timestamp": "2026-01-01T00:00:00Z", "b": 2}'])) == 1
    assert old.recent([str(source.organization_id)])[0]["b"] == 2
