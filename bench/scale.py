"""Benchmark: detection-worker throughput with 1 and 2 workers sharing a JetStream consumer on a real three-node
NATS cluster (loopback, replicated R3 file stream), in the same run.

Builds its own data: batches of realistic 1–2 KB events (bench/ingest.py's generator), published once to the
stream. Each worker is its own process doing what a detection worker does per batch: take it from JetStream,
decode, enrich (registry longest-prefix index), match indicators (IndicatorIndex), store into its own SQLite
event store (standing in for a shared ClickHouse), acknowledge. The 1-worker run and the 2-worker run read the
same stream through two durable consumers. Target: speedup ≥ 1.7× (needs two free cores: the figure drops
when other work shares the machine).

Run by hand: `.venv/bin/python bench/scale.py [--quick]`. The last line is a JSON object with
`speedup_2_workers`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/sigma.py would shadow pySigma's `sigma` package that the detection engine imports.
sys.path[:] = [str(ROOT / "src")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

TARGET = 1.7
FETCH = 4  # messages per pull: a larger pull waits out its timeout at the end of the stream


def worker(urls: list[str], durable: str, store_path: str, indicators: int) -> None:
    """One detection worker process: prints 'ready', waits for 'go' on stdin, works until the stream is drained,
    prints a JSON result (events, first and last batch wall times)."""
    import gc
    import random

    from attt.monitoring import transport
    from attt.monitoring.normalise import decode_batch, gc_paused
    from attt.monitoring.store import SQLiteEventStore

    sys.path.insert(0, str(ROOT / "bench"))
    import ingest as bench_ingest  # the generators of bench/ingest.py

    rng = random.Random(7)
    index = bench_ingest.build_indicators(indicators, rng, [])
    registry = bench_ingest.build_registry(rng)
    gc.freeze()
    store = SQLiteEventStore(store_path)

    def handle(payload: bytes) -> int:
        events = list(decode_batch(payload))
        registry.enrich(events)
        match = index.match
        for event in events:
            match(event.observables)
        store.insert(events)
        return len(events)

    async def run() -> dict:
        nc = await transport.connect(urls)
        js = nc.jetstream()
        subscription = await js.pull_subscribe(transport.SUBJECT, durable=durable, stream=transport.STREAM)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        handled, first, last, idle = 0, None, None, 0
        while idle < 2:
            try:
                messages = await subscription.fetch(FETCH, timeout=1)
            except Exception:
                idle += 1
                continue
            idle = 0
            first = first or time.time()
            for message in messages:
                with gc_paused():  # as worker.drain: the batch's objects die before collection resumes
                    handled += handle(message.data)
                await message.ack()
            last = time.time()
        await nc.close()
        return {"events": handled, "first": first, "last": last}

    print(json.dumps(asyncio.run(run())), flush=True)


def run_workers(urls, durable: str, n: int, folder: Path, indicators: int) -> tuple[float, list[dict]]:
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", ",".join(urls), durable, str(folder / f"{durable}-{i}.sqlite3"),
             str(indicators)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for i in range(n)
    ]  # fmt: skip
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    go = time.time()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [json.loads(process.stdout.readline()) for process in processes]
    for process in processes:
        process.wait()
    return max(r["last"] for r in results if r["last"]) - go, results


async def prepare(urls: list[str], batches: int, per_batch: int) -> int:
    import random
    import uuid

    sys.path.insert(0, str(ROOT / "bench"))
    import ingest as bench_ingest

    from attt.monitoring import transport
    from attt.monitoring.normalise import SourceRef, encode_chunks, normalise_lines
    from attt.monitoring.tests.nats_cluster import ready_stream

    nc = await ready_stream(urls)
    js = nc.jetstream()
    for durable in ("bench-1", "bench-2"):
        await transport.ensure_consumer(js, durable)
    lines = bench_ingest.make_events(per_batch * 4, random.Random(2026))
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    for b in range(batches):
        chunk = [line[:-1] + b', "batch": %d}' % b for line in lines[(b % 4) * per_batch : (b % 4 + 1) * per_batch]]
        events, _ = normalise_lines(b"\n".join(chunk), source)
        for payload in encode_chunks(events, transport.MAX_MESSAGE):
            await transport.publish(js, payload)
    await nc.close()
    return batches * per_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 batches of 500 events (within a minute)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        urls, durable, store_path, indicators = args.worker
        worker(urls.split(","), durable, store_path, int(indicators))
        return
    from attt.monitoring.tests.nats_cluster import Cluster

    batches, per_batch, indicators = (60, 500, 100_000) if args.quick else (300, 1000, 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cluster = Cluster(folder / "nats")
        try:
            total = asyncio.run(prepare(cluster.urls, batches, per_batch))
            print(f"{total:,} events in {batches} batches on a 3-node cluster (R3 stream)", flush=True)
            one_s, one = run_workers(cluster.urls, "bench-1", 1, folder, indicators)
            two_s, two = run_workers(cluster.urls, "bench-2", 2, folder, indicators)
        finally:
            cluster.stop()
    assert sum(r["events"] for r in one) == total and sum(r["events"] for r in two) == total
    rate_1, rate_2 = total / one_s, total / two_s
    speedup = rate_2 / rate_1
    print(f"1 worker:  {rate_1:>10,.0f} events/s")
    print(f"2 workers: {rate_2:>10,.0f} events/s  (shares {[r['events'] for r in two]})")
    print(f"speedup: {speedup:.2f}× (target {TARGET}×)")
    print(
        json.dumps(
            {
                "events": total,
                "workers_1_events_per_s": round(rate_1),
                "workers_2_events_per_s": round(rate_2),
                "speedup_2_workers": round(speedup, 2),
                "target_speedup": TARGET,
            }
        )
    )


if __name__ == "__main__":
    main()
