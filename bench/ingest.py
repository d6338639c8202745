"""Benchmark: end-to-end ingest on one core, the embedded path (`services.accept` then `worker.process`) —
normalise (msgspec typed read, ECS-like events) + wire frame (zstd: the spool row) + enrich (registry
longest-prefix index) + IOC match (1M indicators, detection.engine.IndicatorIndex) + store (the embedded SQLite
chunk store, keeping the frame as the chunk's body) — next to the parse-only rate of the same input in the same
run (orjson, every line into Python objects) and, for reference, the typed read alone and the floor of this design
(read, id, frame and one row per batch, nothing else).

Builds its own data: realistic 1–2 KB NDJSON events (web gateway, firewall, DNS, Sysmon-like process events with
ECS fields and vendor extras; addresses, hosts, domains and hashes from skewed pools, or `--uniform` all drawn
afresh), 20,000 registry networks and domains, and 1,000,000 indicators (IPv4, domains, URLs, SHA-256) of which
a small share appear in the events. Times are CPU time of this process (per core). Target: ≥ 100,000 events/s
per core and at least a quarter of the parse-only rate.

Run by hand: `.venv/bin/python bench/ingest.py [--quick]`. The last line is a JSON object with
`events_per_s_per_core` and `parse_only_events_per_s`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/sigma.py would shadow pySigma's `sigma` package that the detection engine imports.
sys.path[:] = [str(ROOT / "src")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import orjson  # noqa: E402

from attt.detection.engine import IndicatorIndex  # noqa: E402
from attt.monitoring.enrich import EnrichmentIndex, SystemInfo  # noqa: E402
from attt.monitoring.normalise import _DECODE, SourceRef, events_payload, gc_paused, normalise_lines  # noqa: E402
from attt.monitoring.parsers import parse_json_line, split_lines  # noqa: E402
from attt.monitoring.store import SQLiteEventStore  # noqa: E402

TARGET = 100_000
BATCH = 5000


_WORDS = [
    "allow",
    "deny",
    "session",
    "policy",
    "nat",
    "snat",
    "dnat",
    "zone",
    "trust",
    "untrust",
    "dmz",
    "vpn",
    "ipsec",
    "ssl",
    "tls",
    "cert",
    "expired",
    "renew",
    "user",
    "admin",
    "login",
    "logout",
    "failed",
    "success",
    "timeout",
    "reset",
    "close",
    "open",
    "sync",
    "ack",
    "fin",
    "rst",
    "proxy",
    "cache",
    "hit",
    "miss",
    "upstream",
    "backend",
    "portal",
    "dichvucong",
    "tinh",
    "so",
    "ban",
    "nganh",
    "kho",
    "bac",
    "thue",
    "hai",
    "quan",
    "bhxh",
    "giao",
    "duc",
    "y",
    "te",
    "cong",
    "an",
    "quoc",
    "phong",
]


class _Pool:
    """Values drawn with a Zipf-like skew (weight 1/rank), as in real traffic: a few servers, clients and files
    account for most events, and a long tail is seen once or twice."""

    def __init__(self, rng: random.Random, values: list[str]) -> None:
        self.rng, self.values = rng, values
        total, self.cumulative = 0.0, []
        for rank in range(1, len(values) + 1):
            total += 1 / rank
            self.cumulative.append(total)

    def draw(self) -> str:
        return self.rng.choices(self.values, cum_weights=self.cumulative)[0]


def make_events(n: int, rng: random.Random, *, uniform: bool = False) -> list[bytes]:
    """n NDJSON lines of 1–2 KB, shaped like what Vietnamese SOCs forward (ECS with vendor extras). Addresses,
    hosts, domains and file hashes come from skewed pools (`uniform`: every address and hash drawn afresh, the
    worst case for per-batch memos)."""
    base = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    ]

    def client() -> str:
        return f"113.{rng.randint(160, 191)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    def server() -> str:
        return f"10.{rng.randint(0, 40)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    def digest() -> str:
        return f"{rng.getrandbits(256):064x}"

    if uniform:
        src, dst, file_hash = client, server, digest
    else:
        src = _Pool(rng, [client() for _ in range(50_000)]).draw
        dst = _Pool(rng, [server() for _ in range(3_000)]).draw
        file_hash = _Pool(rng, [digest() for _ in range(5_000)]).draw
    portals = _Pool(rng, [f"portal{i}.example.vn" for i in range(1, 5001)])
    lookups = _Pool(rng, [f"cdn{i}.example.com" for i in range(1, 20001)])
    hosts = _Pool(rng, [f"srv-{i:03d}.tinh{rng.randint(1, 34)}.gov.vn" for i in range(1, 401)])
    lines = []
    for i in range(n):
        kind = i % 4
        stamp = (base + dt.timedelta(milliseconds=i * 7)).isoformat()
        doc = {
            "@timestamp": stamp,
            "event": {
                "kind": "event",
                "category": ["network"],
                "dataset": ["proxy", "firewall", "dns", "sysmon"][kind],
            },
            "host": {"name": hosts.draw()},
            "observer": {
                "vendor": "Fortinet",
                "product": "FortiGate",
                "serial_number": f"FG100F{rng.randint(1, 10**8)}",
            },
            "source": {"ip": src(), "port": rng.randint(1024, 65535), "geo": {"country_iso_code": "VN"}},
            "destination": {"ip": dst(), "port": rng.choice([80, 443, 53, 3389, 445])},
            "network": {"transport": "tcp", "bytes": rng.randint(100, 10**6)},
            "user_agent": {"original": rng.choice(agents)},
            "labels": {"tenant": f"soc-{rng.randint(1, 12)}", "zone": rng.choice(["dmz", "lan", "server"])},
            "vendor": {
                "policy_id": rng.randint(1, 900),
                "session_id": rng.getrandbits(48),
                "note": " ".join(rng.choices(_WORDS, k=rng.randint(30, 130))),
            },
        }
        if kind == 0:
            doc["url"] = {
                "original": f"https://{portals.draw()}/dich-vu/{rng.getrandbits(32):x}?ma={rng.getrandbits(20)}"
            }
        elif kind == 2:
            doc["dns"] = {"question": {"name": lookups.draw()}}
        elif kind == 3:
            doc["process"] = {
                "executable": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                "command_line": "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\ops\\backup.ps1 "
                + "-v " * 20,
            }
            doc["file"] = {"hash": {"sha256": file_hash()}}
        lines.append(orjson.dumps(doc))
    return lines


def build_indicators(n: int, rng: random.Random, events: list[bytes]) -> IndicatorIndex:
    """n indicators; about 1 in 200 events carries one of them (addresses seen once in the events)."""
    items = []
    for i in range(n):
        k = i % 4
        if k == 0:
            items.append(
                ("ipv4", f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}", i)
            )
        elif k == 1:
            items.append(("domain", f"bad{i}.example.net", i))
        elif k == 2:
            items.append(("url", f"http://bad{i}.example.org/p/{i}", i))
        else:
            items.append(("sha256", f"{rng.getrandbits(256):064x}", i))
    seen = Counter(orjson.loads(line)["source"]["ip"] for line in events)
    once = [address for address, count in seen.items() if count == 1]  # the long tail: each hit is one event
    items += [("ipv4", address, "hit") for address in rng.sample(once, min(len(once), len(events) // 200))]
    return IndicatorIndex.build(items)


def build_registry(rng: random.Random) -> EnrichmentIndex:
    networks, domains = [], []
    for i in range(20_000):
        info = SystemInfo(uuid.UUID(int=i + 1), uuid.UUID(int=10**6 + i % 700), f"Hệ thống {i}", "government", 3)
        networks.append((f"10.{i % 41}.{(i // 41) % 256}.0/24", info))
        domains.append((f"tinh{i % 34}.gov.vn" if i < 34 else f"he-thong-{i}.gov.vn", info))
    networks.append(("10.0.0.0/8", SystemInfo(uuid.UUID(int=99), uuid.UUID(int=98), "Mạng diện rộng", "government", 4)))
    return EnrichmentIndex.build(networks, domains)


def parse_only(batches: list[bytes]) -> tuple[float, int]:
    """The baseline: split the same batches and parse every line into Python objects (orjson, the general path's
    parser), batch by batch."""
    start, count = time.process_time(), 0
    for data in batches:
        for _, line in split_lines(data):
            parse_json_line(line)
            count += 1
    return time.process_time() - start, count


def typed_read_only(batches: list[bytes]) -> float:
    """For reference: split and read only the fields ingest uses (msgspec, the first step of the pipeline)."""
    start = time.process_time()
    for data in batches:
        for _, line in split_lines(data):
            _DECODE(line)
    return time.process_time() - start


def floor_only(batches: list[bytes], folder: Path) -> float:
    """For reference, what no pipeline of this design can skip: split, the typed read, an id per line, the zstd
    frame, and one SQLite row per batch holding it (WAL, as the store). No times, observables, enrichment,
    matching or chunk columns: the gap between this and the end-to-end figure is the Python left to trim."""
    import sqlite3

    from attt.monitoring.normalise import encode_lines, event_id

    db = sqlite3.connect(folder / "floor.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE chunk (id INTEGER PRIMARY KEY, ids BLOB, body BLOB)")
    source, received = SourceRef(uuid.uuid4(), uuid.uuid4()), dt.datetime.now(dt.UTC)
    start = time.process_time()
    for data in batches:
        ids = [event_id(source.id, line) for _, line in split_lines(data) if _DECODE(line)]
        frame = encode_lines(source, received, data)
        with db:
            db.execute("INSERT INTO chunk (ids, body) VALUES (?, ?)", (bytes.fromhex("".join(ids)), frame))
    spent = time.process_time() - start
    db.close()
    return spent


def end_to_end(batches: list[bytes], indicators, registry, store) -> tuple[float, dict]:
    """What the embedded ingest path does per batch (`services.accept` then `worker.process`), with the garbage
    collector paused over the batch as the worker does (`worker.drain`): the batch's objects are freed before
    collection resumes. The spool's fsync and the HTTP layer are left out."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    steps = [0.0] * len(STEPS)
    totals = {"hits": 0, "stored": 0}
    start = time.process_time()
    for data in batches:
        with gc_paused():
            one_batch(data, source, indicators, registry, store, steps, totals)
    spent = {k: round(v, 3) for k, v in zip(STEPS, steps, strict=True)}
    return time.process_time() - start, {**totals, "steps_s": spent}


STEPS = ("normalise", "encode", "enrich", "ioc", "store")


def one_batch(data: bytes, source, indicators, registry, store, steps: list[float], totals: dict) -> None:
    t0 = time.process_time()
    events, rejected = normalise_lines(data, source)
    t1 = time.process_time()
    frame = events_payload(events, source, data)  # the compressed wire form: spool row or JetStream message
    t2 = time.process_time()
    registry.enrich(events)
    t3 = time.process_time()
    # as detection's consumer does: the batch's distinct candidates once, answers remembered across batches
    totals["hits"] += len(indicators.match_each([event.observables for event in events]))
    t4 = time.process_time()
    totals["stored"] += store.insert(events, frame)  # the frame's compressed lines become the chunk's body
    t5 = time.process_time()
    for i, value in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
        steps[i] += value
    assert not rejected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 events, 200,000 indicators (within a minute)")
    parser.add_argument("--uniform", action="store_true", help="every address and hash drawn afresh (no skew)")
    args = parser.parse_args()
    n_events, n_indicators = (50_000, 200_000) if args.quick else (300_000, 1_000_000)
    rng = random.Random(2026)
    print(f"building {n_events:,} events, {n_indicators:,} indicators, 20,000 registry networks …", flush=True)
    lines = make_events(n_events, rng, uniform=args.uniform)
    size = sum(map(len, lines)) / len(lines)
    batches = [b"\n".join(lines[offset : offset + BATCH]) for offset in range(0, len(lines), BATCH)]
    indicators = build_indicators(n_indicators, rng, lines)
    registry = build_registry(rng)
    gc.freeze()  # the long-lived indexes leave the collector's sight, as a worker does after loading them
    base_s, parsed = parse_only(batches)
    typed_s = typed_read_only(batches)
    with tempfile.TemporaryDirectory() as folder:
        floor_s = floor_only(batches, Path(folder))
        store = SQLiteEventStore(Path(folder) / "events.sqlite3")
        total_s, detail = end_to_end(batches, indicators, registry, store)
        store.close()
        stored_bytes = (Path(folder) / "events.sqlite3").stat().st_size
    parse_rate = parsed / base_s
    rate = n_events / total_s
    print(f"average event size: {size:,.0f} bytes; store file {stored_bytes / n_events:,.0f} bytes per event")
    print(f"parse only:   {parse_rate:>12,.0f} events/s per core (every line into Python objects, orjson)")
    print(f"typed read:   {n_events / typed_s:>12,.0f} events/s per core (only the fields ingest reads, msgspec)")
    floor = n_events / floor_s
    print(f"floor:        {floor:>12,.0f} events/s per core ({floor / parse_rate:.2f} of parse-only: must-do steps)")
    print(f"end to end:   {rate:>12,.0f} events/s per core  ({rate / parse_rate:.2f} of parse-only; target {TARGET:,})")
    print(f"CPU seconds per step: {detail['steps_s']}  IOC hits: {detail['hits']:,}  stored: {detail['stored']:,}")
    print(
        json.dumps(
            {
                "events": n_events,
                "indicators": n_indicators,
                "uniform": args.uniform,
                "avg_event_bytes": round(size),
                "events_per_s_per_core": round(rate),
                "parse_only_events_per_s": round(parse_rate),
                "ratio_to_parse_only": round(rate / parse_rate, 3),
                "typed_read_only_events_per_s": round(n_events / typed_s),
                "floor_events_per_s": round(floor),
                "stored_bytes_per_event": round(stored_bytes / n_events),
                "ioc_hits": detail["hits"],
                "steps_cpu_s": detail["steps_s"],
                "target_events_per_s_per_core": TARGET,
            }
        )
    )


if __name__ == "__main__":
    main()
