"""Benchmark: detection-worker throughput with 1 and 2 workers sharing a JetStream consumer on a real three-node
NATS cluster (loopback, replicated R3 file stream), in the same run.

Builds its own data: batches of realistic 1–2 KB events (bench/ingest.py's generator; each batch with later
times than the one before, as a live source sends them), published once to the stream the way the gateway does
(`encode_chunks`: a batch's accepted lines, zstd-compressed, in one message). Each worker is its own process
running `transport.consume` (the loop of `attt ingest nats-worker`): pull, decompress and normalise, enrich
(registry longest-prefix index), match indicators (IndicatorIndex, 1M), store into its own SQLite event store
(standing in for a shared ClickHouse), acknowledge. Indexes are built anew between drains (outside the timed
window), so no drain starts with answers remembered from the same events read before. Every drain reads the
whole stream through its own durable consumer and stops once the consumer has nothing pending; the timed window
runs from 'go' to the last stored batch. Drains alternate 1 and 2 workers for ROUNDS rounds (the worker
processes stay up), so both meet the same outside load; the best drain of each is compared, the median is
printed too. Each drain prints the CPU seconds of the workers, of the three NATS servers (/proc/<pid>/stat) and
of everything else on the machine (/proc/stat): the target speedup ≥ 1.7× needs two free cores.

Run by hand: `.venv/bin/python bench/scale.py [--quick]`. The last line is a JSON object with
`speedup_2_workers`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/sigma.py would shadow pySigma's `sigma` package that the detection engine imports.
sys.path[:] = [str(ROOT / "src")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

TARGET = 1.7
ROUNDS = 5  # each of 1 and 2 workers drains the stream this often; the best run of each is compared
FETCH = 2  # messages (1,000 events each) per pull: small enough for even shares at the end of the stream


def worker(urls: list[str], store_path: str, indicators: int) -> None:
    """One detection worker process: prints 'ready', waits for 'go' on stdin, works until the consumer has
    nothing pending (transport.consume, as `attt ingest nats-worker`), prints a JSON result (events, wall time
    of the last stored batch, CPU seconds of the worker)."""
    import gc
    import random

    from attt.monitoring import transport
    from attt.monitoring.store import SQLiteEventStore

    sys.path.insert(0, str(ROOT / "bench"))
    import ingest as bench_ingest  # the generators of bench/ingest.py

    def fresh() -> tuple:
        """New indexes, so that every drain starts without remembered answers (each reads the same events)."""
        rng = random.Random(7)
        built = bench_ingest.build_indicators(indicators, rng, []), bench_ingest.build_registry(rng)
        gc.collect()
        gc.freeze()
        return built

    index, registry = fresh()

    def handle(events: list, frame: bytes | None) -> None:
        registry.enrich(events)
        index.match_each([event.observables for event in events])  # as detection's consumer does
        store.insert(events, frame)

    last = [None]

    def stored(count: int) -> None:
        last[0] = time.time()

    print("ready", flush=True)
    for line in sys.stdin:  # "go DURABLE": drain the stream through that consumer into a new store; "reset"
        if line.startswith("reset"):
            index, registry = fresh()
            print("ready", flush=True)
            continue
        durable = line.split()[1]
        store = SQLiteEventStore(f"{store_path}-{durable}.sqlite3")
        cpu = time.process_time()
        handled = asyncio.run(
            transport.consume(urls, handle, durable=durable, batch=FETCH, until_drained=True, on_batch=stored)
        )
        cpu = time.process_time() - cpu
        print(json.dumps({"events": handled, "last": last[0], "cpu": cpu}), flush=True)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc (Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds used by everything on the machine so far (/proc/stat), to show the load of other work."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )  # guest time is already counted in user
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def start_workers(urls: list[str], n: int, folder: Path, indicators: int) -> list[subprocess.Popen]:
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", ",".join(urls), str(folder / f"w{n}-{i}"), str(indicators)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for i in range(n)
    ]  # fmt: skip
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    return processes


def run_workers(processes: list[subprocess.Popen], durable: str, servers: list[int]) -> dict:
    """Drain the stream through one consumer with the workers. The timed window runs from 'go' to the last
    stored batch."""
    nats_before, busy_before = cpu_seconds(servers), machine_busy()
    go = time.time()
    for process in processes:
        process.stdin.write(f"go {durable}\n")
        process.stdin.flush()
    results = [json.loads(process.stdout.readline()) for process in processes]
    end = max(r["last"] for r in results if r["last"])
    # The servers' and the machine's CPU are read once all workers are done (idle tail included: an over-count).
    nats_cpu, busy = cpu_seconds(servers) - nats_before, machine_busy() - busy_before
    for process in processes:  # new indexes for the next drain, outside the timed window and the CPU counts
        process.stdin.write("reset\n")
        process.stdin.flush()
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    seconds = end - go
    workers_cpu = sum(r["cpu"] for r in results)
    return {
        "seconds": seconds,
        "events": [r["events"] for r in results],
        "workers_cpu": workers_cpu,
        "nats_cpu": nats_cpu,
        "other_cpu": max(0.0, busy - workers_cpu - nats_cpu),
    }


async def prepare(urls: list[str], batches: int, per_batch: int, durables: list[str]) -> tuple[int, int]:
    import random
    import uuid

    sys.path.insert(0, str(ROOT / "bench"))
    import ingest as bench_ingest

    from attt.monitoring import transport
    from attt.monitoring.normalise import SourceRef, encode_chunks, normalise_lines
    from attt.monitoring.tests.nats_cluster import ready_stream

    nc = await ready_stream(urls)
    js = nc.jetstream()
    for durable in durables:
        await transport.ensure_consumer(js, durable)
    import datetime as dt

    import orjson

    docs = [orjson.loads(line) for line in bench_ingest.make_events(per_batch * 4, random.Random(2026))]
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    messages = 0
    for b in range(batches):
        chunk = []  # four batches' worth of events, reused with later times, as a live source sends them
        for i, doc in enumerate(docs[(b % 4) * per_batch : (b % 4 + 1) * per_batch]):
            moment = start + dt.timedelta(milliseconds=7 * (b * per_batch + i))
            chunk.append(orjson.dumps({**doc, "@timestamp": moment.isoformat(), "batch": b}))
        events, _ = normalise_lines(b"\n".join(chunk), source)  # the gateway's check; it sends the lines it accepted
        for payload in encode_chunks(source, events[0].ingested, [e.original for e in events], transport.MAX_MESSAGE):
            await transport.publish(js, payload)
            messages += 1
    await nc.close()
    return batches * per_batch, messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 batches of 1,000 events (within a minute)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        urls, store_path, indicators = args.worker
        worker(urls.split(","), store_path, int(indicators))
        return
    from attt.monitoring.tests.nats_cluster import Cluster

    batches, per_batch, indicators = (200, 1000, 100_000) if args.quick else (600, 1000, 1_000_000)
    durables = [f"{n}w-{r}" for r in range(ROUNDS) for n in (1, 2)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cluster = Cluster(folder / "nats")
        servers = [process.pid for process in cluster.processes]
        workers = {}
        try:
            total, messages = asyncio.run(prepare(cluster.urls, batches, per_batch, durables))
            print(f"{total:,} events in {messages} messages on a 3-node cluster (R3 stream)", flush=True)
            workers = {n: start_workers(cluster.urls, n, folder, indicators) for n in (1, 2)}
            runs = {1: [], 2: []}
            for durable in durables:  # rounds alternate 1 and 2 workers, so both meet the same outside load
                n = int(durable[0])
                runs[n].append(run_workers(workers[n], durable, servers))
        finally:
            for process in (p for group in workers.values() for p in group):
                process.stdin.close()
                process.wait()
            cluster.stop()
    for n, label in ((1, "1 worker: "), (2, "2 workers:")):
        for run in runs[n]:
            assert sum(run["events"]) == total
            print(
                f"{label} {total / run['seconds']:>8,.0f} events/s in {run['seconds']:.2f} s (shares {run['events']});"
                f" CPU s: workers {run['workers_cpu']:.2f}, NATS servers {run['nats_cpu']:.2f} "
                f"({run['nats_cpu'] / (run['nats_cpu'] + run['workers_cpu']):.0%} of bench CPU), other work "
                f"{run['other_cpu']:.2f}"
            )
    one, two = (min(runs[n], key=lambda run: run["seconds"]) for n in (1, 2))
    rate_1, rate_2 = total / one["seconds"], total / two["seconds"]
    speedup = rate_2 / rate_1
    medians = [total / statistics.median(run["seconds"] for run in runs[n]) for n in (1, 2)]
    print(f"best of {ROUNDS}: 1 worker {rate_1:,.0f} events/s, 2 workers {rate_2:,.0f} events/s")
    print(f"median speedup: {medians[1] / medians[0]:.2f}×")
    print(f"speedup: {speedup:.2f}× (target {TARGET}×)")
    print(
        json.dumps(
            {
                "events": total,
                "messages": messages,
                "workers_1_events_per_s": round(rate_1),
                "workers_2_events_per_s": round(rate_2),
                "speedup_2_workers": round(speedup, 2),
                "median_speedup_2_workers": round(medians[1] / medians[0], 2),
                "nats_cpu_share_1": round(one["nats_cpu"] / (one["nats_cpu"] + one["workers_cpu"]), 2),
                "nats_cpu_share_2": round(two["nats_cpu"] / (two["nats_cpu"] + two["workers_cpu"]), 2),
                "other_cpu_s_1": round(one["other_cpu"], 2),
                "other_cpu_s_2": round(two["other_cpu"], 2),
                "target_speedup": TARGET,
            }
        )
    )


if __name__ == "__main__":
    main()
