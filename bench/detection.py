"""Benchmark: the live detection dashboard and the alert search at national scale (100,000 alerts, 90 days).

Builds, in a temporary SQLite database of its own (or the PostgreSQL database ATTT_DATABASE_URL names, with
--postgres), the demo tree and registry (core and registry loaders), then bulk-inserts N alerts over the last 90
days (more recent ones denser, as in real monitoring) on the demo's systems, from 300 rule signatures and a
pool of indicators, every severity and status. It measures server time through django.test.Client (the whole
middleware stack) and the SQL queries of each page, logged in as the national SOC analyst:

- the national dashboard (/detection/) and its polled part (/detection/live/);
- a province's dashboard (?org=<province>), the baseline measured in the same run;
- the alert search: a date range with a severity, and free text.

The dashboard's figures are shared for one poll interval (the cache); every timed request starts with an empty
cache, so the figures measured are the computation one poll interval costs, not a cache hit.

Full run: 100,000 alerts. --quick scales down to 20,000 (it says so) to finish in about a minute. The last
line printed is a JSON object with dashboard_p95_ms, province_dashboard_p95_ms, search_p95_ms,
queries_per_page, alerts. Run by hand: `.venv/bin/python bench/detection.py --quick`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from benchlib import QueryCounter, leave_bench_folder, load_demo, p95, run_worker

ROOT = Path(__file__).resolve().parent.parent
LOADERS = ("core", "registry")
TARGET_P95_MS = 200
FULL, QUICK = 100_000, 20_000


def bulk(n_alerts: int, rng) -> int:
    """Insert the alerts with bulk_create (machine-generated rows: detection does not audit them either)."""
    import datetime
    import uuid

    from django.utils import timezone

    from attt.detection.models import Alert, Severity, hour_of
    from attt.registry.models import InformationSystem

    systems = list(InformationSystem.objects.values_list("pk", "organization_id"))
    if not systems:
        raise SystemExit("the registry demo made no systems")
    targets = rng.sample(systems, k=min(len(systems), 40))
    severities = [s.value for s in Severity]
    weights = [5, 20, 40, 25, 10]
    statuses = list(Alert.Status.values)
    rules = [(f"00000000-0000-4000-8000-{i:012d}", f"Quy tắc phát hiện số {i}") for i in range(300)]
    indicators = [uuid.uuid4() for _ in range(200)]
    now = timezone.now()
    window = 15 * 60
    batch, made, keys = [], 0, set()
    while made < n_alerts:
        system, org = rng.choice(targets) if rng.random() < 0.6 else rng.choice(systems)
        age = datetime.timedelta(seconds=int(rng.triangular(0, 90 * 24 * 3600, 0)))
        last = now - age
        epoch = int(last.timestamp())
        start = datetime.datetime.fromtimestamp(epoch - epoch % window, tz=datetime.UTC)
        first = max(start, last - datetime.timedelta(seconds=rng.randint(0, 600)))
        source = uuid.uuid5(uuid.NAMESPACE_OID, str(system))
        if rng.random() < 0.75:
            rule_id, title = rng.choice(rules)
            fields = {"kind": Alert.Kind.SIGMA, "signature": rule_id, "rule_id": rule_id, "title": title}
        else:
            indicator = rng.choice(indicators)
            fields = {
                "kind": Alert.Kind.IOC,
                "signature": f"ioc:{indicator}",
                "indicator_id": indicator,
                "indicator_kind": "ipv4",
                "indicator_value": f"203.0.113.{indicator.int % 256}",
                "title": f"Kết nối tới địa chỉ độc hại 203.0.113.{indicator.int % 256}",
            }
        key = (fields["signature"], source, start)
        if key in keys:
            continue
        keys.add(key)
        if age < datetime.timedelta(days=1):
            status = Alert.Status.OPEN
        elif age < datetime.timedelta(days=7):
            status = rng.choice(statuses)
        else:  # older alerts are mostly handled; a backlog stays open
            status = rng.choices(statuses, [5, 5, 85, 5])[0]
        batch.append(
            Alert(
                organization_id=org,
                system_id=system,
                source_id=source,
                severity=rng.choices(severities, weights)[0],
                window_start=start,
                first_seen=first,
                first_hour=hour_of(first),
                last_seen=last,
                count=rng.randint(1, 50),
                status=status,
                reason="Dương tính giả." if status == Alert.Status.CLOSED else "",
                **fields,
            )
        )
        made += 1
        if len(batch) == 5000:
            Alert.objects.bulk_create(batch)
            batch = []
    Alert.objects.bulk_create(batch)
    return Alert.objects.count()


def worker(n_alerts: int, runs: int) -> dict:
    leave_bench_folder()
    import django

    django.setup()
    import random

    from django.core.cache import cache
    from django.db import connection, transaction
    from django.test import Client

    from attt.core.models import Organization, User

    timings = load_demo(LOADERS)
    step = time.perf_counter()
    with transaction.atomic():
        alerts = bulk(n_alerts, random.Random(2026))
    with connection.cursor() as cursor:
        # On PostgreSQL, VACUUM sets the visibility map autovacuum would set in production: without it an
        # index-only scan still visits the table for every row of freshly inserted data.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    timings["bulk_s"] = round(time.perf_counter() - step, 1)

    analyst = User.objects.get(username="qg.socanalyst")
    province = Organization.objects.filter(depth=1, kind="province", is_active=True).order_by("code").first()
    week_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * 86400))
    pages = {
        "dashboard": "/detection/",
        "dashboard_live": "/detection/live/",
        "province_dashboard": f"/detection/?org={province.pk}",
        "search_range": f"/detection/alerts/?severity=critical&since={week_ago}",
        "search_text": "/detection/alerts/?q=203.0.113.7",
    }
    client = Client()
    client.force_login(analyst)
    measured = {}
    for name, url in pages.items():
        for _ in range(2):  # warm up connections, sessions and content types
            cache.clear()
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
        cache.clear()
        captured = QueryCounter()
        with connection.execute_wrapper(captured):
            client.get(url)
        samples = []
        for _ in range(runs):
            cache.clear()  # the figures of one poll interval, computed afresh
            tick = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - tick) * 1000)
        measured[name] = {
            "p95_ms": round(p95(samples), 1),
            "median_ms": round(statistics.median(samples), 1),
            "queries": len(captured),
        }
    return {
        "alerts": alerts,
        "organizations": Organization.objects.count(),
        "vendor": connection.vendor,
        **timings,
        "pages": measured,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} alerts instead of {FULL:,}, about a minute")
    parser.add_argument("--runs", type=int, default=None, help="timed requests per page")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="use the database ATTT_DATABASE_URL names, e.g. under scripts/with-postgres.sh",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--alerts", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    runs = args.runs or (15 if args.quick else 40)
    if args.worker:
        print(json.dumps(worker(args.alerts, runs)))
        return
    n_alerts = QUICK if args.quick else FULL
    if args.quick:
        print(f"quick mode: scaled down to {n_alerts:,} alerts (full run: {FULL:,})")
    started = time.perf_counter()
    result = run_worker(__file__, ["--alerts", str(n_alerts), "--runs", str(runs)], database_url=args.postgres)
    pages = result["pages"]
    print(
        f"{result['alerts']:,} alerts over 90 days, {result['organizations']} organisations, {result['vendor']}; load "
        + ", ".join(f"{k[:-2]} {v} s" for k, v in result.items() if k.endswith("_s"))
    )
    print(f"{'page':<22} {'p95 ms':>8} {'median':>8} {'queries':>8}")
    for name, page in pages.items():
        print(f"{name:<22} {page['p95_ms']:>8} {page['median_ms']:>8} {page['queries']:>8}")
    national, province = pages["dashboard"], pages["province_dashboard"]
    ratio = round(national["median_ms"] / province["median_ms"], 2) if province["median_ms"] else None
    print(f"ratio national / province dashboard time: {ratio}; queries: {national['queries']} / {province['queries']}")
    summary = {
        "quick": args.quick,
        "vendor": result["vendor"],
        "dashboard_p95_ms": national["p95_ms"],
        "dashboard_live_p95_ms": pages["dashboard_live"]["p95_ms"],
        "province_dashboard_p95_ms": province["p95_ms"],
        "search_p95_ms": max(pages["search_range"]["p95_ms"], pages["search_text"]["p95_ms"]),
        "queries_per_page": max(p["queries"] for p in pages.values()),
        "queries": {k: v["queries"] for k, v in pages.items()},
        "alerts": result["alerts"],
        "national_vs_province_time": ratio,
        "under_target": national["p95_ms"] < TARGET_P95_MS,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
