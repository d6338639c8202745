"""Benchmark: the indicator store as detection reads it, and the importers.

Builds, in a temporary SQLite database of its own, a small organisation tree and N indicators (bulk insert; a
tenth inactive), then measures:

- `services.active_indicators()` streaming every active indicator (values_list + iterator), against the
  baseline of iterating the same rows as model instances in the same run;
- importing a plain list of 10,000 values (detection of kinds, normalisation, upsert) into the store, then the
  same list again (all updates);
- STIX 2.1 export and parse of a report with 1,000 observables, and its MISP export and parse.

Full run: 1,000,000 indicators. --quick uses 100,000 (it says so) and finishes within a minute. The last line
printed is a JSON object (stream_rows_per_s, stream_s, baseline_ratio, import_10k_s, …).
Run by hand: `.venv/bin/python bench/intel.py --quick`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL, QUICK = 1_000_000, 100_000


def worker(count: int) -> dict:
    import django

    django.setup()
    import datetime
    import uuid

    from django.core.management import call_command
    from django.utils import timezone

    from attt.core.testing import build_tree
    from attt.intel import services, store
    from attt.intel.models import Indicator
    from attt.intel.sharing import SharedObservable, SharedReport

    call_command("migrate", verbosity=0)
    tree = build_tree()
    orgs = [tree.root, tree.province_a, tree.province_b, tree.dept_a, tree.dept_b, tree.ministry]
    now = timezone.now()
    started = time.perf_counter()
    batch = []
    for n in range(count):
        kind, value = (
            ("ipv4", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
            if n % 3 == 0
            else ("domain", f"host-{n}.example.com")
            if n % 3 == 1
            else ("sha256", f"{n:064x}")
        )
        batch.append(
            Indicator(
                organization=orgs[n % len(orgs)],
                kind=kind,
                value=value,
                active=n % 10 != 0,
                first_seen=now,
                last_seen=now,
                created_at=now,
                updated_at=now,
            )
        )
        if len(batch) == 10_000:
            Indicator.objects.bulk_create(batch)
            batch = []
    Indicator.objects.bulk_create(batch)
    build_s = time.perf_counter() - started

    started = time.perf_counter()
    streamed = sum(1 for _row in services.active_indicators())
    stream_s = time.perf_counter() - started
    started = time.perf_counter()
    baseline = sum(1 for _row in Indicator.objects.filter(active=True).iterator(chunk_size=5000))
    baseline_s = time.perf_counter() - started
    assert streamed == baseline

    lines = "\n".join(f"198.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in range(10_000)).encode()
    started = time.perf_counter()
    first = store.import_data(tree.province_a, lines, name="bench.txt")
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    again = store.import_data(tree.province_a, lines, name="bench.txt")
    reimport_s = time.perf_counter() - started
    assert first.created == 10_000 and again.updated == 10_000

    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    report = SharedReport(
        id=uuid.uuid4(),
        title="bench",
        description="",
        created=when,
        modified=when,
        observables=[SharedObservable("domain", f"c2-{n}.example.net") for n in range(1000)],
    )
    started = time.perf_counter()
    bundle = services.to_stix_bundle(report)
    services.parse_stix_bundle(bundle)
    stix_s = time.perf_counter() - started
    started = time.perf_counter()
    services.parse_misp_event(services.to_misp_event(report))
    misp_s = time.perf_counter() - started
    return {
        "indicators": count,
        "active": streamed,
        "build_s": round(build_s, 1),
        "stream_s": round(stream_s, 2),
        "stream_rows_per_s": round(streamed / stream_s),
        "baseline_models_s": round(baseline_s, 2),
        "baseline_ratio": round(baseline_s / stream_s, 2),
        "import_10k_s": round(import_s, 2),
        "reimport_10k_s": round(reimport_s, 2),
        "stix_1k_roundtrip_s": round(stix_s, 3),
        "misp_1k_roundtrip_s": round(misp_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} indicators instead of {FULL:,}")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    count = QUICK if args.quick else FULL
    if args.quick:
        print(f"--quick: {QUICK:,} indicators (the full run uses {FULL:,})")
    with tempfile.TemporaryDirectory(prefix="attt-bench-") as data_dir:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "attt.settings.development",
            "ATTT_DATA_DIR": data_dir,
            "ATTT_DEBUG": "0",
            "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        process = subprocess.run(
            [sys.executable, __file__, "--worker", str(count)], env=env, capture_output=True, text=True, check=False
        )
    if process.returncode != 0:
        sys.stderr.write(process.stderr[-4000:])
        raise SystemExit("the worker failed")
    figures = json.loads(process.stdout.strip().splitlines()[-1])
    print(f"built {figures['indicators']:,} indicators in {figures['build_s']} s")
    print(
        f"active_indicators(): {figures['active']:,} rows in {figures['stream_s']} s "
        f"({figures['stream_rows_per_s']:,} rows/s); model instances: {figures['baseline_models_s']} s "
        f"(×{figures['baseline_ratio']} slower)"
    )
    print(f"list import 10,000 values: {figures['import_10k_s']} s new, {figures['reimport_10k_s']} s again")
    print(
        f"STIX 1,000 observables export+parse: {figures['stix_1k_roundtrip_s']} s; "
        f"MISP: {figures['misp_1k_roundtrip_s']} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
