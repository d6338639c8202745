"""Benchmark: the compliance dashboards, the system list and the yearly report at national scale.

Builds the demo data set (the core, registry and compliance demo loaders: about 3,400 systems at 1×) in a
temporary SQLite database, then measures server time through django.test.Client (the whole middleware
stack, logged in as the national administrator) and the SQL queries of each page:

- the national dashboard (/compliance/) and a province's dashboard, the drill-down's next step;
- the system list: the compliance status list (/compliance/overview/systems/) and the registry's list;
- the dashboard API;
- the national yearly report: generating it from the data, then its DOCX, XLSX and PDF.

Without --quick it builds a 10× data set too, each scale in its own process and database, and prints the
10× / 1× ratios of times and query counts (the query count must not grow with the number of systems).
With --quick it builds 1× only and compares the national dashboard with a province's in the same
database as its baseline. The last line printed is a JSON object (dashboard_p95_ms, system_list_p95_ms,
report_s, queries_per_page, …). Run by hand, e.g. `.venv/bin/python bench/compliance.py --quick`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from benchlib import leave_bench_folder, load_demo, p95, run_worker

ROOT = Path(__file__).resolve().parent.parent
LOADERS = ("core", "registry", "compliance")
TARGET_P95_MS = 200


# --- The worker: one scale, one fresh database ----------------------------------------------------------------


PROPOSED_INDEX = (  # asked of compliance/models.py: ChecklistItem Meta.indexes (system, regime, status)
    "CREATE INDEX IF NOT EXISTS bench_checklist_status ON compliance_checklistitem (system_id, regime, status)"
)


def worker(scale: float, runs: int, with_index: bool = False) -> dict:
    leave_bench_folder()
    import django

    django.setup()

    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import attt.compliance.demo_data  # noqa: F401  (registers the loader if the app does not yet)
    from attt.compliance import reports
    from attt.compliance.models import StatusReport
    from attt.core.audit import audit_context
    from attt.core.models import Organization, User
    from attt.registry import services as registry

    timings = load_demo(LOADERS, scale=scale)
    if with_index:
        with connection.cursor() as cursor:
            cursor.execute(PROPOSED_INDEX)
            cursor.execute("ANALYZE")
    systems = registry.systems_of_organization(Organization.objects.get(parent__isnull=True, is_active=True)).count()

    admin = User.objects.get(username="admin")
    client = Client()
    client.force_login(admin)
    province = Organization.objects.filter(kind="province", depth=1, is_active=True).order_by("code").first()
    pages = {
        "dashboard": "/compliance/",
        "dashboard_province": f"/compliance/?organization={province.pk}",
        "system_list": "/compliance/overview/systems/",
        "registry_system_list": "/registry/systems/",
        "dashboard_api": "/api/v1/compliance/dashboard/",
    }
    measured = {}
    # Django empties the query log when a request starts; keep it, so a request's queries can be counted.
    request_started.disconnect(reset_queries)
    for name, url in pages.items():
        for _ in range(2):  # warm up caches and connections
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries = len(captured)  # now: the log is not kept past the next requests
        samples = []
        for _ in range(runs):
            tick = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - tick) * 1000)
        measured[name] = {
            "p95_ms": round(p95(samples), 1),
            "median_ms": round(statistics.median(samples), 1),
            "queries": queries,
        }

    root = Organization.objects.get(parent__isnull=True, is_active=True)
    year, _month = reports.default_period(StatusReport.Kind.ANNUAL)
    tick = time.perf_counter()
    with CaptureQueriesContext(connection) as captured, audit_context(actor_name="system:bench"):
        report = reports.generate(root, StatusReport.Kind.ANNUAL, year=year, by=admin)
    report_s = time.perf_counter() - tick
    exports = {}
    for fmt in reports.EXPORTS:
        tick = time.perf_counter()
        content, _type, _name = reports.export(report, fmt)
        exports[fmt] = {"s": round(time.perf_counter() - tick, 2), "bytes": len(content)}
    figures = report.data["totals"]
    return {
        "scale": scale,
        "systems": systems,
        **timings,
        "pages": measured,
        "report_s": round(report_s, 2),
        "report_queries": len(captured.captured_queries),
        "exports": exports,
        "approved_pct": figures["approved_pct"],
        "fully_pct": figures["fully_pct"],
    }


def run_scale(scale: float, runs: int, with_index: bool) -> dict:
    """One scale in its own process, with a fresh database."""
    return run_worker(__file__, ["--scale", str(scale), "--runs", str(runs)] + (["--with-index"] if with_index else []))


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1× only, about a minute")
    parser.add_argument("--runs", type=int, default=None, help="timed requests per page")
    parser.add_argument(
        "--with-index",
        action="store_true",
        help="add the proposed checklist index (system, regime, status) before measuring",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    runs = args.runs or (20 if args.quick else 50)
    if args.worker:
        print(json.dumps(worker(args.scale, runs, args.with_index)))
        return

    started = time.perf_counter()
    results = [run_scale(scale, runs, args.with_index) for scale in ((1.0,) if args.quick else (1.0, 10.0))]
    base = results[0]
    print(f"{'scale':>6} {'systems':>8} {'page':<22} {'p95 ms':>8} {'median':>8} {'queries':>8}")
    for result in results:
        for name, page in result["pages"].items():
            print(
                f"{result['scale']:>5}× {result['systems']:>8} {name:<22} {page['p95_ms']:>8} "
                f"{page['median_ms']:>8} {page['queries']:>8}"
            )
        print(
            f"{result['scale']:>5}× yearly report: generated in {result['report_s']} s "
            f"({result['report_queries']} queries); exports "
            + ", ".join(f"{fmt} {e['s']} s" for fmt, e in result["exports"].items())
            + f"; load {', '.join(f'{k[5:-2]} {v} s' for k, v in result.items() if k.startswith('load_'))}"
        )
    pages = base["pages"]
    ratios = {
        "dashboard_queries_national_vs_province": ratio(
            pages["dashboard"]["queries"], pages["dashboard_province"]["queries"]
        ),
        "dashboard_time_national_vs_province": ratio(
            pages["dashboard"]["median_ms"], pages["dashboard_province"]["median_ms"]
        ),
    }
    if len(results) > 1:
        big = results[1]
        for name in pages:
            ratios[f"{name}_queries_10x_vs_1x"] = ratio(big["pages"][name]["queries"], pages[name]["queries"])
            ratios[f"{name}_time_10x_vs_1x"] = ratio(big["pages"][name]["median_ms"], pages[name]["median_ms"])
        ratios["report_time_10x_vs_1x"] = ratio(big["report_s"], base["report_s"])
        ratios["report_queries_10x_vs_1x"] = ratio(big["report_queries"], base["report_queries"])
    for key, value in ratios.items():
        print(f"ratio {key}: {value}")
    summary = {
        "systems": base["systems"],
        "dashboard_p95_ms": pages["dashboard"]["p95_ms"],
        "system_list_p95_ms": pages["system_list"]["p95_ms"],
        "registry_system_list_p95_ms": pages["registry_system_list"]["p95_ms"],
        "report_s": base["report_s"],
        "queries_per_page": max(page["queries"] for page in pages.values()),
        "queries": {name: page["queries"] for name, page in pages.items()},
        "under_target": all(page["p95_ms"] < TARGET_P95_MS for page in pages.values()),
        "approved_pct": base["approved_pct"],
        "fully_pct": base["fully_pct"],
        "ratios": ratios,
        "scales": [r["scale"] for r in results],
        "with_index": args.with_index,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
