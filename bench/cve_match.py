"""Benchmark: matching the registry against a national-size vulnerability corpus.

Builds, in a temporary SQLite database, 3,418 systems × 30 components and a corpus shaped like the real
samples (NVD ranges with start/end bounds, exact versions, editions, AND-configurations; about 250,000 CVEs
and 4 criteria each, or 25,000 with --quick), then measures:

- the full rematch (index already in memory, steady state: every pair known) — target < 2 s;
- the first full rematch that creates the warnings (reported, no target);
- importing one new CVE through the importer to its warnings and notifications — target < 50 ms;
- the baseline of the same run: matching one component key against the index (the inner loop).

The last line is JSON with full_rematch_s and new_cve_ms. Run by hand: `.venv/bin/python bench/cve_match.py --quick`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS, PER_SYSTEM = 3418, 30


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cves = 25_000 if args.quick else 250_000
    data_dir = tempfile.mkdtemp(prefix="attt-bench-")
    os.environ.update(ATTT_DATA_DIR=data_dir, ATTT_DEBUG="0", DJANGO_SETTINGS_MODULE="attt.settings.development")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from attt.core.services.organizations import create_organization
    from attt.registry.models import Component, InformationSystem
    from attt.vulns import feeds, services
    from attt.vulns.matching import key_of

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    products = [(f"vendor{v}", f"product{v}_{p}") for v in range(400) for p in range(10)]  # 4,000 products

    def version() -> str:
        return f"{rng.randint(1, 15)}.{rng.randint(0, 9)}.{rng.randint(0, 30)}"

    with transaction.atomic():
        root = create_organization(parent=None, code="root", name="Root", kind="national_authority")
        provinces = [
            create_organization(parent=root, code=f"p{i}", name=f"Tỉnh {i}", kind="province") for i in range(63)
        ]
        systems = [
            InformationSystem(
                organization=provinces[i % 63], code=f"s{i}", name=f"System {i}", internet_facing=i % 3 == 0
            )
            for i in range(SYSTEMS)
        ]
        InformationSystem.objects.bulk_create(systems, batch_size=2000)
        components = []
        for system in systems:
            for _ in range(PER_SYSTEM):
                vendor, product = rng.choice(products)
                components.append(
                    Component(
                        system=system,
                        organization_id=system.organization_id,
                        product=product,
                        cpe23=f"cpe:2.3:a:{vendor}:{product}:{version()}:*:*:*:*:*:*:*",
                    )
                )
        Component.objects.bulk_create(components, batch_size=5000)
    with connection.cursor() as cursor, transaction.atomic():
        vuln_rows, crit_rows = [], []
        import uuid

        for n in range(cves):
            vid = uuid.uuid4().hex
            vuln_rows.append((vid, f"CVE-2020-{n:07d}", "", 7.5, "", False, "", "[]", "{}"))
            for _ in range(4):
                vendor, product = rng.choice(products)
                shape = rng.random()
                lo, hi = sorted([version(), version()], key=lambda v: tuple(map(int, v.split("."))))
                si, ee, ei, exact = ("", "", "", "*")
                if shape < 0.5:
                    si, ee = lo, hi
                elif shape < 0.8:
                    ei = hi
                else:
                    exact = version()
                crit_rows.append(
                    (
                        vid,
                        "nvd",
                        f"cpe:2.3:a:{vendor}:{product}:{exact}:*:*:*:*:*:*:*",
                        "a",
                        vendor,
                        product,
                        exact,
                        "*:*:*:*:*:*:*",
                        si,
                        "",
                        ei,
                        ee,
                        True,
                        0,
                        False,
                    )
                )
        cursor.executemany(
            "INSERT INTO vulns_vulnerability (id, cve_id, summary, cvss_score, cvss_vector, kev_ransomware, "
            'kev_action, "references", fingerprints, created_at, updated_at) '
            "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            vuln_rows,
        )
        cursor.executemany(
            "INSERT INTO vulns_matchcriterion (vulnerability_id, source, cpe, part, vendor, product, version, extras, "
            "start_including, start_excluding, end_including, end_excluding, vulnerable, config, needs_platform) "
            "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            crit_rows,
        )
    build_s = time.perf_counter() - started
    print(
        f"built {SYSTEMS} systems × {PER_SYSTEM} components, {cves} CVEs / {len(crit_rows)} criteria in {build_s:.1f} s"
    )

    t = time.perf_counter()
    index = services.criteria_index()
    index_s = time.perf_counter() - t
    first = services.rematch_all(notify=False)
    print(f"index load {index_s:.2f} s; first rematch (creates warnings) {first}")
    t = time.perf_counter()
    steady = services.rematch_all(notify=False)
    full_s = time.perf_counter() - t
    print(f"full rematch (steady state) {full_s:.3f} s {steady}")

    key = key_of(cpe23=components[0].cpe23)
    t = time.perf_counter()
    for _ in range(1000):
        index.lookup(key)
    baseline_us = (time.perf_counter() - t) * 1000
    print(f"baseline: one component key against the index {baseline_us:.1f} µs")

    vendor, product = products[0]
    record = {
        "id": "CVE-2099-0001",
        "descriptions": [{"lang": "en", "value": "new"}],
        "configurations": [
            {
                "nodes": [
                    {
                        "operator": "OR",
                        "cpeMatch": [
                            {
                                "vulnerable": True,
                                "criteria": f"cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*",
                                "versionEndExcluding": "99",
                            }
                        ],
                    }
                ]
            }
        ],
    }
    samples = []
    for n in range(5):
        record["id"] = f"CVE-2099-{n:04d}"
        data = json.dumps(record).encode()
        t = time.perf_counter()
        report = services.import_feed(feeds.load(data))
        samples.append((time.perf_counter() - t) * 1000)
    new_ms = sorted(samples)[len(samples) // 2]
    print(
        f"one new CVE → {report.warnings_created} warnings: median {new_ms:.1f} ms "
        f"(ratio to one-key baseline {new_ms * 1000 / max(baseline_us, 0.001):.0f}×)"
    )
    print(
        json.dumps(
            {
                "full_rematch_s": round(full_s, 3),
                "first_rematch_s": round(sum(first[k] for k in ("index_s", "match_s", "apply_s")), 3),
                "index_load_s": round(index_s, 2),
                "new_cve_ms": round(new_ms, 1),
                "cves": cves,
                "components": SYSTEMS * PER_SYSTEM,
                "warnings": first["created"],
            }
        )
    )


if __name__ == "__main__":
    main()
