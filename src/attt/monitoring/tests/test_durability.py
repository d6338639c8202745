"""At least once, for real: processes are killed with SIGKILL mid-work and restarted; nothing acknowledged is
lost and the store holds each event once."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

from attt.monitoring.normalise import SourceRef, events_payload, normalise_lines
from attt.monitoring.spool import Spool
from attt.monitoring.store import SQLiteEventStore
from attt.monitoring.worker import drain

BATCHES, PER_BATCH = 120, 500


def _fill(spool: Spool) -> int:
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    for b in range(BATCHES):
        lines = b"\n".join(
            b'{"@timestamp": "2026-01-01T00:00:00Z", "source": {"ip": "10.0.%d.%d"}, "n": %d, "pad": "%s"}'
            % (b % 250, i % 250, b * PER_BATCH + i, b"x" * 800)
            for i in range(PER_BATCH)
        )
        events, rejected = normalise_lines(lines, source)
        assert not rejected
        spool.append(source.id, len(events), events_payload(events, source))
    return BATCHES * PER_BATCH


def _stored(path) -> int:
    try:
        with sqlite3.connect(path, timeout=30) as db:
            return db.execute("SELECT coalesce(sum(events), 0) FROM chunk").fetchone()[0]
    except sqlite3.OperationalError:  # the worker has not created the table yet
        return 0


def _worker(spool_path, store_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "attt.monitoring.worker", str(spool_path), str(store_path), "0.5"],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def test_worker_killed_mid_batch_loses_nothing_and_stores_each_event_once(tmp_path):
    spool_path, store_path = tmp_path / "spool.sqlite3", tmp_path / "events.sqlite3"
    total = _fill(Spool(spool_path))
    worker = _worker(spool_path, store_path)
    deadline = time.monotonic() + 60
    while _stored(store_path) < total // 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL
    after_kill = _stored(store_path)
    assert 0 < after_kill < total, "the kill must land mid-way"
    batches_left, events_left, _ = Spool(spool_path).pending()
    assert batches_left > 0 and events_left + after_kill >= total  # nothing dropped from the spool early

    time.sleep(0.6)  # the dead worker's lease runs out
    restarted = _worker(spool_path, store_path)
    out, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0
    assert int(out) >= total - after_kill  # the unfinished batch is processed again
    store = SQLiteEventStore(store_path)
    assert store.total() == total  # each event once (the repeated batch was deduplicated by id)
    assert Spool(spool_path).pending()[0] == 0
    numbers = {doc["n"] for doc in store.recent(None, limit=total)}
    assert numbers == set(range(total))


GATEWAY = """
import sys, uuid
from attt.monitoring.normalise import SourceRef, events_payload, normalise_lines
from attt.monitoring.spool import Spool
spool = Spool(sys.argv[1])
source = SourceRef(uuid.uuid4(), uuid.uuid4())
n = 0
while True:
    events, _ = normalise_lines(b"\\n".join(b'{"n": %d}' % (n + i) for i in range(100)), source)
    batch = spool.append(source.id, len(events), events_payload(events, source))
    print(batch, n, flush=True)  # the acknowledgement, sent only after the commit
    n += 100
"""


def test_gateway_killed_after_acknowledging_keeps_every_acknowledged_batch(tmp_path):
    spool_path = tmp_path / "spool.sqlite3"
    gateway = subprocess.Popen(
        [sys.executable, "-c", GATEWAY, str(spool_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    acknowledged = [int(gateway.stdout.readline().split()[0]) for _ in range(50)]
    os.kill(gateway.pid, signal.SIGKILL)
    gateway.wait()
    spool = Spool(spool_path, lease_seconds=0)
    with sqlite3.connect(spool_path) as db:
        kept = {row[0] for row in db.execute("SELECT id FROM batch")}
    assert set(acknowledged) <= kept
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    assert drain(spool, store, deliver=lambda events: None) == 100 * len(kept)
    assert store.total() == 100 * len(kept)


def test_a_failing_consumer_leaves_the_batch_for_another_attempt(tmp_path):
    spool = Spool(tmp_path / "s.sqlite3", lease_seconds=0)
    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    events, _ = normalise_lines(b'{"a": 1}\n{"a": 2}', source)
    spool.append(source.id, 2, events_payload(events, source))

    def broken(events):
        raise RuntimeError("detection down")

    assert drain(spool, store, deliver=broken) == 0  # tried once in a pass, not again at once
    assert spool.pending()[0] == 1
    assert drain(spool, store, deliver=lambda events: None) == 2
    assert store.total() == 2 and spool.pending()[0] == 0


def test_a_pass_of_many_failing_batches_tries_each_once_in_bounded_queries(tmp_path):
    """A store outage fails every batch of a pass: the worker must not collect their ids into one query (SQLite
    allows 32,766 parameters; lowered to 20 here), and must try each once."""
    spool = Spool(tmp_path / "s.sqlite3", lease_seconds=0)
    spool._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)
    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    events, _ = normalise_lines(b'{"a": 1}', source)
    for _ in range(50):
        spool.append(source.id, 1, events_payload(events, source))

    def broken(events):
        raise RuntimeError("store down")

    assert drain(spool, store, deliver=broken) == 0
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        assert db.execute("SELECT attempts, count(*) FROM batch GROUP BY attempts").fetchall() == [(1, 50)]


def test_a_batch_that_keeps_failing_waits_longer_is_set_aside_and_does_not_hold_up_the_others(tmp_path, monkeypatch):
    from attt.monitoring import spool as spool_module

    clock = [1_000_000.0]
    monkeypatch.setattr(spool_module.time, "time", lambda: clock[0])
    spool = Spool(tmp_path / "s.sqlite3", lease_seconds=60)
    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    poison, _ = normalise_lines(b'{"poison": true}', source)
    spool.append(source.id, 1, events_payload(poison, source))  # first in the queue
    good, _ = normalise_lines(b'{"a": 1}\n{"a": 2}', source)
    spool.append(source.id, 2, events_payload(good, source))

    def deliver(events):
        if events[0].ecs.get("poison"):
            raise RuntimeError("consumer bug")

    assert drain(spool, store, deliver=deliver) == 2  # the good batch behind the poison one is processed
    waits = []
    for _ in range(spool_module.MAX_ATTEMPTS - 1):
        (until,) = spool._db.execute("SELECT lease_until FROM batch").fetchone()
        waits.append(until - clock[0])
        assert drain(spool, store, deliver=deliver) == 0  # still waiting
        clock[0] = until + 1
        assert drain(spool, store, deliver=deliver) == 0  # tried again, failed again
    assert waits[:4] == [60, 120, 240, 480] and max(waits) == spool_module.MAX_WAIT_S
    assert spool.pending()[0] == 0
    (aside,) = spool.set_aside()
    assert aside["attempts"] == spool_module.MAX_ATTEMPTS and aside["error"] == "RuntimeError: consumer bug"
    clock[0] += 10 * spool_module.MAX_WAIT_S
    assert drain(spool, store, deliver=deliver) == 0  # set aside: not tried again
    assert spool.revive() == 1 and drain(spool, store, deliver=lambda events: None) == 1
    assert spool.set_aside() == [] and store.total() == 3


def test_giving_back_a_batch_another_process_has_stored_meanwhile_changes_nothing(tmp_path):
    """A gateway slower than its lease gives its batch back after the drain job stored and removed it."""
    slow, drain = Spool(tmp_path / "spool.sqlite3"), Spool(tmp_path / "spool.sqlite3")
    batch = slow.append(uuid.uuid4(), 1, b"a batch", hold=True)
    other = slow.append(uuid.uuid4(), 1, b"another batch")
    drain.done(batch)
    slow.release(batch, "TimeoutError: the store was slow")
    assert [row[0] for row in drain.claim()] == [other]
