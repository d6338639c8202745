"""Benchmark: event search in the embedded store (`SQLiteEventStore.search`, the page `/monitoring/events/` and
`GET /api/v1/monitoring/events/`) over 90 days of events.

Builds its own data: the 1–2 KB events of bench/ingest.py, re-stamped over 90 days, from 50 sources of 20
organisations, normalised and stored in batches of 5,000 (a chunk each), and one event holding a rare word, the
oldest of all. Measures, median of 5 runs, the newest 100 events with no filter, by a host, by a dataset, by
an organisation, and by a common word; a rare word's search over everything (no time budget: every chunk is
read); and, as the baseline of a text search, the time to decompress every chunk's lines with nothing else.

Run by hand: `.venv/bin/python bench/event_search.py [--quick]`. The last line is a JSON object with
`newest_ms`, `host_ms`, `dataset_ms`, `organization_ms`, `common_text_ms`, `rare_text_full_scan_s`,
`decompress_all_s`, `full_scan_to_decompress_ratio` and `rare_text_complete_within_budget`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from ingest import make_events  # bench/ingest.py, which also takes bench/ off the path

from attt.monitoring.normalise import SourceRef, normalise_lines
from attt.monitoring.store import EventQuery, SQLiteEventStore

BATCH = 5000
DAYS = 90
RARE = "chuỗi-hiếm-7f3a"


def build(store: SQLiteEventStore, n: int, rng: random.Random) -> list[str]:
    """n events over the last 90 days in batches of one source each; returns the organisations' ids."""
    organizations = [uuid.UUID(int=1000 + i) for i in range(20)]
    sources = [SourceRef(uuid.UUID(int=2000 + i), organizations[i % 20]) for i in range(50)]
    end = dt.datetime.now(dt.UTC)
    span_ms = DAYS * 86_400_000
    lines = make_events(n, rng)
    for start in range(0, n, BATCH):
        source = rng.choice(sources)
        batch = []
        for offset, line in enumerate(lines[start : start + BATCH]):
            doc = orjson.loads(line)
            position = start + offset  # older first, as sources send them
            doc["@timestamp"] = (end - dt.timedelta(milliseconds=span_ms * (n - position) // n)).isoformat()
            if position == 0:
                doc["message"] = f"có {RARE} ở đây"
            batch.append(orjson.dumps(doc))
        events, rejected = normalise_lines(b"\n".join(batch), source, end)
        assert not rejected
        store.insert(events)
    return [str(o) for o in organizations]


def median_ms(store: SQLiteEventStore, query: EventQuery, organizations: list[str] | None = None) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        found = store.search(organizations, query, limit=100)
        samples.append(time.perf_counter() - start)
        assert found.hits and found.complete
    return round(statistics.median(samples) * 1000, 1)


def decompress_all(path: Path) -> float:
    """The floor of a text search over everything: read and decompress every chunk's lines, nothing else."""
    import sqlite3

    import zstandard

    db = sqlite3.connect(path)
    start = time.perf_counter()
    for (body,) in db.execute("SELECT body FROM chunk"):
        zstandard.ZstdDecompressor().decompress(body).split(b"\n")
    spent = time.perf_counter() - start
    db.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events (within a minute)")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.sqlite3"
        store = SQLiteEventStore(path)
        print(f"building {n:,} events over {DAYS} days …", flush=True)
        built = time.perf_counter()
        organizations = build(store, n, rng)
        size = sum(p.stat().st_size for p in Path(folder).glob("events.sqlite3*"))  # with its WAL
        print(f"built in {time.perf_counter() - built:.1f} s; {size / n:,.0f} bytes per event")
        since = int((time.time() - DAYS * 86_400) * 1000)
        host = store.search(None, EventQuery(), limit=1).hits[0].document["host"]["name"]
        figures = {
            "events": n,
            "newest_ms": median_ms(store, EventQuery(since_ms=since)),
            "host_ms": median_ms(store, EventQuery(since_ms=since, host=host)),
            "dataset_ms": median_ms(store, EventQuery(since_ms=since, dataset="dns")),
            "organization_ms": median_ms(store, EventQuery(since_ms=since), organizations[:1]),
            "common_text_ms": median_ms(store, EventQuery(since_ms=since, text="DENY")),
        }
        start = time.perf_counter()
        rare = store.search(None, EventQuery(text=RARE.upper()), limit=100, budget_s=None)
        figures["rare_text_full_scan_s"] = round(time.perf_counter() - start, 2)
        assert len(rare.hits) == 1
        figures["decompress_all_s"] = round(decompress_all(path), 2)
        figures["full_scan_to_decompress_ratio"] = round(
            figures["rare_text_full_scan_s"] / figures["decompress_all_s"], 2
        )
        figures["rare_text_complete_within_budget"] = store.search(None, EventQuery(text=RARE), limit=100).complete
        store.close()
    for key, value in figures.items():
        print(f"{key:>36}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
