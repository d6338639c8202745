"""Benchmark: the incident list, search and dashboard at national scale (100,000 incidents, 1,000,000 observables).

Builds, in a temporary SQLite database of its own, the demo tree, registry and incident demo (core, registry,
incidents loaders), then bulk-inserts N incidents spread over the demo's organisations (every state, severity,
TLP), one statutory deadline each (a share of them missed), and M observables drawn from a pool so values recur
(sightings). It measures server time through django.test.Client (the whole middleware stack) and the SQL queries
of each page, logged in as the national coordinator (everything) and, as the baseline in the same run, as a
province's responder (one subtree):

- the list (/incidents/), a filtered list (state + severity), search by an observable value and by title words;
- the home page with its incident widget (the dashboard) and the breach list;
- an incident's page (timeline, tasks, observables with sightings, duplicates) and the API list.

Full run: 100,000 incidents and 1,000,000 observables. --quick scales down to 10,000 and 100,000 (it says so in
its output) to finish in about a minute. The last line printed is a JSON object with list_p95_ms,
search_p95_ms, dashboard_p95_ms, queries_per_page, …. Run by hand: `.venv/bin/python bench/incidents.py --quick`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from benchlib import QueryCounter, leave_bench_folder, load_demo, p95, run_worker

ROOT = Path(__file__).resolve().parent.parent
LOADERS = ("core", "registry", "incidents")
TARGET_P95_MS = 200
FULL = (100_000, 1_000_000)
QUICK = (10_000, 100_000)


def bulk(n_incidents: int, n_observables: int, rng) -> dict:
    """Insert the data set with bulk_create (no per-row audit: this is load, not user activity)."""
    import datetime
    import uuid

    from django.utils import timezone

    from attt.core.models import Organization
    from attt.incidents.models import Deadline, Incident, Observable, Severity, State
    from attt.incidents.services import taxonomy

    orgs = list(Organization.objects.filter(is_active=True).only("pk"))
    categories = list(taxonomy())
    states = list(State.values)
    now = timezone.now()
    pool_ips = [f"203.0.{i // 256 % 256}.{i % 256}" for i in range(50_000)]
    pool_domains = [f"mau-{i}.example" for i in range(20_000)]
    ids = []
    batch = []
    for n in range(n_incidents):
        pk = uuid.uuid4()
        discovered = now - datetime.timedelta(minutes=rng.randint(0, 60 * 24 * 400))
        org = rng.choice(orgs)
        ids.append((pk, org.pk))
        batch.append(
            Incident(
                id=pk,
                organization_id=org.pk,
                number=f"BN{n:08d}",
                title=f"Sự cố mẫu số {n}: {rng.choice(['tấn công', 'mã độc', 'lừa đảo', 'dò quét', 'DDoS'])}",
                source=rng.choice(["operator", "soc", "member", "public"]),
                state=rng.choice(states),
                regime="ND331_2026",
                category=rng.choice(categories),
                severity=rng.choice([Severity.ORDINARY] * 9 + [Severity.SERIOUS, ""]),
                tlp=rng.choice(["clear", "green", "amber", "amber"]),
                discovered_at=discovered,
            )
        )
        if len(batch) == 5000:
            Incident.objects.bulk_create(batch)
            batch = []
    Incident.objects.bulk_create(batch)
    deadlines = []
    for pk, org in ids:
        due = now - datetime.timedelta(hours=rng.randint(-200, 2000))
        met = due + datetime.timedelta(hours=rng.randint(-72, 24)) if rng.random() < 0.9 else None
        deadlines.append(
            Deadline(
                incident_id=pk,
                organization_id=org,
                code="report_72h",
                due_at=due,
                met_at=met,
                late=met is not None and met > due,
            )
        )
    Deadline.objects.bulk_create(deadlines, batch_size=5000)
    batch, seen = [], set()
    made = 0
    while made < n_observables:
        pk, org = ids[rng.randrange(len(ids))]
        if rng.random() < 0.7:
            kind, value = "ipv4", rng.choice(pool_ips)
        else:
            kind, value = "domain", rng.choice(pool_domains)
        if (pk, value) in seen:
            continue
        seen.add((pk, value))
        batch.append(Observable(incident_id=pk, organization_id=org, kind=kind, value=value))
        made += 1
        if len(batch) == 10000:
            Observable.objects.bulk_create(batch)
            batch = []
    Observable.objects.bulk_create(batch)
    return {"incidents": Incident.objects.count(), "observables": Observable.objects.count(), "sample": str(ids[0][0])}


def worker(n_incidents: int, n_observables: int, runs: int) -> dict:
    leave_bench_folder()
    import django

    django.setup()
    import random

    from django.db import connection, transaction
    from django.test import Client

    from attt.core.models import Organization, User

    timings = load_demo(LOADERS)
    step = time.perf_counter()
    with transaction.atomic():
        sizes = bulk(n_incidents, n_observables, random.Random(2026))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["bulk_s"] = round(time.perf_counter() - step, 1)

    from attt.incidents.models import Incident

    sample = Incident.objects.filter(number__startswith="SC").first() or Incident.objects.first()
    coordinator = User.objects.get(username="qg.incidentresponder")
    province_user = User.objects.get(username="hn.incidentresponder")
    pages = {
        "list": "/incidents/",
        "list_filtered": "/incidents/?state=coordinating&severity=serious",
        "search_observable": "/incidents/?q=203.0.1.7",
        "search_title": "/incidents/?q=m%C3%A3+%C4%91%E1%BB%99c",
        "dashboard": "/",
        "breaches": "/incidents/deadlines/missed/",
        "detail": f"/incidents/{sample.pk}/",
        "api_list": "/api/v1/incidents/incidents/?limit=50",
    }
    measured = {}
    for who, user in (("national", coordinator), ("province", province_user)):
        client = Client()
        client.force_login(user)
        for name, url in pages.items():
            if who == "province" and name == "detail":
                continue
            for _ in range(2):
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")
            captured = QueryCounter()
            with connection.execute_wrapper(captured):
                client.get(url)
            samples = []
            for _ in range(runs):
                tick = time.perf_counter()
                client.get(url)
                samples.append((time.perf_counter() - tick) * 1000)
            measured[f"{who}:{name}"] = {
                "p95_ms": round(p95(samples), 1),
                "median_ms": round(statistics.median(samples), 1),
                "queries": len(captured),
            }
    return {
        **sizes,
        **timings,
        "organizations": Organization.objects.count(),
        "pages": measured,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 incidents / 100,000 observables, about a minute")
    parser.add_argument("--runs", type=int, default=None, help="timed requests per page")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--incidents", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--observables", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    runs = args.runs or (15 if args.quick else 40)
    if args.worker:
        print(json.dumps(worker(args.incidents, args.observables, runs)))
        return
    n_incidents, n_observables = QUICK if args.quick else FULL
    if args.quick:
        print(
            f"quick mode: scaled down to {n_incidents:,} incidents and {n_observables:,} observables "
            f"(full run: {FULL[0]:,} / {FULL[1]:,})"
        )
    started = time.perf_counter()
    result = run_worker(
        __file__, ["--incidents", str(n_incidents), "--observables", str(n_observables), "--runs", str(runs)]
    )
    pages = result["pages"]
    print(
        f"{result['incidents']:,} incidents, {result['observables']:,} observables, "
        f"{result['organizations']} organisations; load "
        + ", ".join(f"{k[:-2]} {v} s" for k, v in result.items() if k.endswith("_s"))
    )
    print(f"{'who:page':<28} {'p95 ms':>8} {'median':>8} {'queries':>8}")
    for name, page in pages.items():
        print(f"{name:<28} {page['p95_ms']:>8} {page['median_ms']:>8} {page['queries']:>8}")
    ratios = {}
    for name in ("list", "search_observable", "search_title", "dashboard", "breaches"):
        national, province = pages[f"national:{name}"], pages[f"province:{name}"]
        ratios[f"{name}_time_national_vs_province"] = (
            round(national["median_ms"] / province["median_ms"], 2) if province["median_ms"] else None
        )
        ratios[f"{name}_queries_national_vs_province"] = (
            round(national["queries"] / province["queries"], 2) if province["queries"] else None
        )
    for key, value in ratios.items():
        print(f"ratio {key}: {value}")
    national = {k.split(":", 1)[1]: v for k, v in pages.items() if k.startswith("national:")}
    summary = {
        "quick": args.quick,
        "incidents": result["incidents"],
        "observables": result["observables"],
        "list_p95_ms": national["list"]["p95_ms"],
        "search_p95_ms": max(national["search_observable"]["p95_ms"], national["search_title"]["p95_ms"]),
        "dashboard_p95_ms": national["dashboard"]["p95_ms"],
        "breaches_p95_ms": national["breaches"]["p95_ms"],
        "detail_p95_ms": national["detail"]["p95_ms"],
        "queries_per_page": max(p["queries"] for p in pages.values()),
        "queries": {k: v["queries"] for k, v in national.items()},
        "under_target": all(p["p95_ms"] < TARGET_P95_MS for p in pages.values()),
        "ratios": ratios,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
