"""What the page benchmarks share: their worker process, the demo data they build on, a percentile, and a log of
SQL statements.

Each benchmark imports this from its own folder (bench/ is the first entry of sys.path when a script there
runs), then calls `leave_bench_folder()` before Django starts: bench/sigma.py would otherwise shadow the
pySigma package that the detection engine imports as `sigma`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def leave_bench_folder() -> None:
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]


def run_worker(script: str, args: list[str], *, database_url: bool = True) -> dict:
    """Run `script --worker ARGS` in its own process with a fresh data folder (settings are read once per process,
    so each run gets its own database), as in production (no debug), and return the JSON of its last line.
    `database_url=False` drops ATTT_DATABASE_URL, so the embedded SQLite is measured even under PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="attt-bench-") as data_dir:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "attt.settings.development",
            "ATTT_DATA_DIR": data_dir,
            "ATTT_DEBUG": "0",  # as in production: no debug toolbar of templates, no query log
            "ATTT_ALLOWED_HOSTS": "testserver,localhost",
            "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        if not database_url:
            env.pop("ATTT_DATABASE_URL", None)
        process = subprocess.run(
            [sys.executable, script, "--worker", *args], env=env, capture_output=True, text=True, check=False
        )
    if process.returncode != 0:
        sys.stderr.write(process.stderr[-4000:])
        raise SystemExit(f"{Path(script).name} {' '.join(args)}: the worker failed")
    return json.loads(process.stdout.strip().splitlines()[-1])


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


class QueryCounter(list):
    """An execute wrapper that records each SQL statement (works with DEBUG off and across reconnections)."""

    def __call__(self, execute, sql, params, many, context):
        self.append(sql)
        return execute(sql, params, many, context)


def load_demo(loaders: tuple[str, ...], scale: float = 1.0) -> dict:
    """Migrate the benchmark's own database and run the named demo loaders (seeded, so every run builds the
    same data); returns the seconds each step took."""
    import random

    from django.core.management import call_command
    from django.db import transaction

    from attt.core import demo
    from attt.core.audit import audit_context

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    timings = {"migrate_s": round(time.perf_counter() - started, 1)}
    with audit_context(actor_name="system:bench"):
        for loader in sorted((x for x in demo.loaders if x.name in loaders), key=lambda x: x.order):
            step = time.perf_counter()
            ctx = demo.DemoContext(
                rng=random.Random(f"2026:{loader.name}"), scale=scale, progress=lambda _label: None, stdout=sys.stderr
            )
            with transaction.atomic():
                loader.func(ctx)
            timings[f"load_{loader.name}_s"] = round(time.perf_counter() - step, 1)
    return timings
