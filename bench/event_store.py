"""Benchmark: the embedded event-store candidates on monitoring's workload — SQLite (WAL), DuckDB and chDB (the
ClickHouse engine in-process), all from the venv.

For each engine, in its own file under a temporary folder:
1. insert rate: normalised events (the columns the store indexes plus the ECS document as JSON) in batches of
   5,000, the way ingest workers write them, in the form each engine loads fastest from Python (SQLite:
   executemany; DuckDB: an Arrow table; chDB: JSONEachRow text);
2. a 90-day query: events of 50 of 700 organisations in a 90-day window, counted per source (the live page's
   and the reports' shape), spread over 100 days of data;
3. side by side: a second process reads (the 90-day query in a loop) while this one keeps inserting, as the web
   server and the ingest workers do; errors (locks) are counted.

Run by hand: `.venv/bin/python bench/event_store.py [--quick]`. The last line is a JSON object with each
engine's `insert_events_per_s`, `query_90d_ms` and `concurrent_errors`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import tempfile
import time
import uuid
from pathlib import Path

import orjson

BATCH = 5000
DAY_MS = 86_400_000
END_MS = 1_795_000_000_000


def make_rows(n: int, rng: random.Random) -> list[tuple]:
    organizations = [str(uuid.UUID(int=i + 1)) for i in range(700)]
    sources = [str(uuid.UUID(int=10**6 + i)) for i in range(2000)]
    rows = []
    for _ in range(n):
        org = rng.randrange(700)
        doc = {
            "@timestamp": "2026-11-01T00:00:00Z",
            "source": {"ip": f"113.160.{rng.randint(0, 255)}.{rng.randint(1, 254)}"},
            "event": {"original": "x" * rng.randint(600, 1400), "dataset": "firewall"},
        }
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128)).hex,
                organizations[org],
                sources[org * 2 + rng.randrange(2)],
                END_MS - rng.randrange(100 * DAY_MS),
                orjson.dumps(doc).decode(),
            )
        )
    return rows


def query_args(rng: random.Random) -> tuple[list[str], int, int]:
    organizations = [str(uuid.UUID(int=i + 1)) for i in rng.sample(range(700), 50)]
    return organizations, END_MS - 90 * DAY_MS, END_MS


# --- Engines --------------------------------------------------------------------------------------------------


class SQLiteEngine:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        import sqlite3

        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS event (id BLOB UNIQUE, organization_id TEXT, source_id TEXT, ts INTEGER, "
            "doc BLOB); CREATE INDEX IF NOT EXISTS event_org_ts ON event (organization_id, ts);"
        )

    def insert(self, rows) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany(
            "INSERT OR IGNORE INTO event VALUES (?, ?, ?, ?, ?)", ((bytes.fromhex(r[0]), *r[1:]) for r in rows)
        )
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def query(self, organizations, since, until) -> dict:
        marks = ",".join("?" * len(organizations))
        sql = (
            f"SELECT source_id, count(*) FROM event WHERE organization_id IN ({marks}) "
            "AND ts >= ? AND ts < ? GROUP BY source_id"
        )
        return dict(self.db.execute(sql, [*organizations, since, until]).fetchall())


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, path: Path) -> None:
        import duckdb

        self.db = duckdb.connect(str(path))
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS event (id VARCHAR PRIMARY KEY, organization_id VARCHAR, source_id VARCHAR, "
            "ts BIGINT, doc VARCHAR)"
        )

    def insert(self, rows) -> None:
        import pyarrow as pa

        columns = list(zip(*rows, strict=True))
        table = pa.table(
            {n: list(c) for n, c in zip(("id", "organization_id", "source_id", "ts", "doc"), columns, strict=True)}
        )
        self.db.register("batch", table)
        self.db.execute("INSERT OR IGNORE INTO event SELECT * FROM batch")
        self.db.unregister("batch")

    def close(self) -> None:
        self.db.close()

    def query(self, organizations, since, until) -> dict:
        return dict(
            self.db.execute(
                "SELECT source_id, count(*) FROM event WHERE organization_id IN (SELECT unnest(?)) "
                "AND ts >= ? AND ts < ? GROUP BY source_id",
                [organizations, since, until],
            ).fetchall()
        )


class ChDBEngine:
    """The SQL is ClickHouse's: the same statements run on a ClickHouse server (clickhouse-connect)."""

    name = "chdb"
    TABLE = (
        "CREATE TABLE IF NOT EXISTS event (id FixedString(32), organization_id LowCardinality(String), "
        "source_id LowCardinality(String), ts DateTime64(3), doc String) ENGINE = ReplacingMergeTree "
        "PARTITION BY toYYYYMM(ts) ORDER BY (organization_id, ts, id)"
    )

    def __init__(self, path: Path) -> None:
        from chdb import session

        self.db = session.Session(str(path))
        self.db.query(self.TABLE)

    def insert(self, rows) -> None:
        body = b"\n".join(
            orjson.dumps({"id": r[0], "organization_id": r[1], "source_id": r[2], "ts": r[3] / 1000, "doc": r[4]})
            for r in rows
        )
        self.db.query("INSERT INTO event FORMAT JSONEachRow " + body.decode())

    def close(self) -> None:
        self.db.close()

    def query(self, organizations, since, until) -> dict:
        names = ",".join(f"'{o}'" for o in organizations)  # UUID strings built by this script
        result = self.db.query(
            f"SELECT source_id, count() FROM event WHERE organization_id IN ({names}) "
            f"AND ts >= fromUnixTimestamp64Milli({since}) AND ts < fromUnixTimestamp64Milli({until}) "
            "GROUP BY source_id",
            "CSV",
        )
        return dict(line.replace('"', "").split(",") for line in result.bytes().decode().splitlines())


ENGINES = {"sqlite": SQLiteEngine, "duckdb": DuckDBEngine, "chdb": ChDBEngine}


def reader(engine: str, path: str, seconds: float, queue) -> None:
    rng = random.Random(3)
    errors = queries = 0
    deadline = time.monotonic() + seconds
    try:
        store = ENGINES[engine](Path(path))
    except Exception as exc:
        queue.put({"queries": 0, "errors": 1, "first_error": f"open: {exc}"[:200]})
        return
    first_error = ""
    while time.monotonic() < deadline:
        try:
            store.query(*query_args(rng))
            queries += 1
        except Exception as exc:
            errors += 1
            first_error = first_error or str(exc)[:200]
            time.sleep(0.05)
    queue.put({"queries": queries, "errors": errors, "first_error": first_error})


def measure(engine: str, folder: Path, rows: list[tuple], extra: list[tuple]) -> dict:
    path = folder / f"events.{engine}"
    store = ENGINES[engine](path)
    start = time.perf_counter()
    for offset in range(0, len(rows), BATCH):
        store.insert(rows[offset : offset + BATCH])
    insert_s = time.perf_counter() - start
    rng = random.Random(5)
    samples = []
    for _ in range(5):
        args = query_args(rng)
        t = time.perf_counter()
        counts = store.query(*args)
        samples.append(time.perf_counter() - t)
    assert sum(int(v) for v in counts.values()) > 0
    store.close()  # the side-by-side test opens the file from two processes
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, as a second server process would be
    queue = spawn.Queue()
    process = spawn.Process(target=reader, args=(engine, str(path), 4.0, queue))
    process.start()
    write_errors, first_error = 0, ""
    deadline = time.monotonic() + 4.0
    writer = None
    while time.monotonic() < deadline:
        try:
            writer = writer or ENGINES[engine](path)
            writer.insert(extra)
        except Exception as exc:
            write_errors += 1
            first_error = first_error or str(exc)[:200]
            time.sleep(0.2)
    try:
        read = queue.get(timeout=60)
    except Exception:
        read = {"queries": 0, "errors": 1, "first_error": "reader process hung"}
    process.join(10)
    if process.is_alive():
        process.kill()
    if writer is not None:
        writer.close()
    return {
        "insert_events_per_s": round(len(rows) / insert_s),
        "query_90d_ms": round(sorted(samples)[2] * 1000, 1),
        "concurrent_reads": read["queries"],
        "concurrent_errors": write_errors + read["errors"],
        "concurrent_first_error": first_error or read["first_error"],
        "file_mb": round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events (within a minute)")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000
    rng = random.Random(2026)
    rows = make_rows(n, rng)
    extra = make_rows(BATCH, random.Random(9))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ENGINES:
            folder = Path(tmp) / engine
            folder.mkdir()
            results[engine] = measure(engine, folder, rows, extra)
            r = results[engine]
            print(
                f"{engine:7} insert {r['insert_events_per_s']:>9,}/s  90-day query {r['query_90d_ms']:>8} ms  "
                f"side by side: {r['concurrent_reads']} reads, {r['concurrent_errors']} errors "
                f"{r['concurrent_first_error'][:80]}",
                flush=True,
            )
    base = results["sqlite"]["insert_events_per_s"]
    for r in results.values():
        r["insert_vs_sqlite"] = round(r["insert_events_per_s"] / base, 2)
    print(json.dumps({"events": n, **results}))


if __name__ == "__main__":
    main()
