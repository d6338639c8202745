"""Benchmark: matching the registry against a national-size vulnerability corpus.

Builds, in a temporary SQLite database, 3,418 systems × 30 components and a corpus shaped like the real
samples (NVD ranges with start/end bounds, exact versions, editions, AND-configurations; about 250,000 CVEs
and 4 criteria each, or 25,000 with --quick), then measures:

- the full rematch (index already in memory, steady state: every pair known) — target < 2 s;
- the first full rematch that creates the warnings (reported, no target);
- importing one TYPICAL new CVE through the importer to its warnings and notifications (the criteria of a
  corpus CVE affecting the median number of deployments among CVEs affecting any) — target < 50 ms;
- the worst case: a new CVE affecting every deployment of the most common product (reported, no target);
- the baseline of the same run: matching one component key against the index (the inner loop).

The last line is JSON with full_rematch_s, new_cve_ms (typical) and new_cve_worst_ms.
Run by hand: `.venv/bin/python bench/cve_match.py --quick`.
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

from benchlib import leave_bench_folder

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS, PER_SYSTEM = 3418, 30


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cves = 25_000 if args.quick else 250_000
    data_dir = tempfile.mkdtemp(prefix="attt-bench-")
    os.environ.update(ATTT_DATA_DIR=data_dir, ATTT_DEBUG="0", DJANGO_SETTINGS_MODULE="attt.settings.development")
    leave_bench_folder()  # bench/sigma.py would shadow pySigma, which the detection engine imports
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Count

    from attt.core.services.organizations import create_organization
    from attt.registry.models import Component, InformationSystem
    from attt.vulns import feeds, services
    from attt.vulns.matching import key_of

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    # Versions on a timeline of 400 releases (major.minor.patch, same order as version_key).
    timeline = 400

    def version(t: int) -> str:
        t = min(max(t, 0), timeline - 1)
        return f"{t // 40 + 1}.{t % 40 // 5}.{t % 5}"

    # Software the registry runs: 1,000 common products (Zipf weights) shared with the corpus; the rest of
    # a system is in-house or local software the corpus does not know, and text entries without a CPE.
    popular = [(f"vendor{i}", f"product{i}") for i in range(1000)]
    weights = [1 / (rank + 1) for rank in range(len(popular))]
    tail = [(f"tailvendor{i // 5}", f"tailproduct{i}") for i in range(cves // 2)]
    # The corpus: a constant number of CVEs on the common products (35 % of the --quick corpus), the rest
    # of an NVD-size corpus on the long tail of products nobody here runs, so warnings stay realistic.
    popular_cves = int(25_000 * 0.35)

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
            mix = (
                [rng.choices(popular, weights)[0] for _ in range(4)]
                + [rng.choice(tail) for _ in range(2)]
                + [(f"vn_vendor{rng.randrange(2000)}", f"app{rng.randrange(20)}") for _ in range(20)]
            )
            for vendor, product in mix:
                deployed = version(timeline - 1 - int(abs(rng.gauss(0, 8))))  # most systems keep up
                components.append(
                    Component(
                        system=system,
                        organization_id=system.organization_id,
                        vendor=vendor,
                        product=product,
                        version=deployed,
                        cpe23=f"cpe:2.3:a:{vendor}:{product}:{deployed}:*:*:*:*:*:*:*",
                    )
                )
            for n in range(PER_SYSTEM - len(mix)):
                components.append(
                    Component(
                        system=system,
                        organization_id=system.organization_id,
                        vendor="Local",
                        product=f"Phần mềm {n}",
                        version="1.0",
                    )
                )
        Component.objects.bulk_create(components, batch_size=5000)
    with connection.cursor() as cursor, transaction.atomic():
        vuln_rows, crit_rows = [], []
        import uuid

        for n in range(cves):
            vid = uuid.uuid4().hex
            vuln_rows.append((vid, f"CVE-2020-{n:07d}", "", 7.5, "", False, "", "[]", "{}"))
            vendor, product = rng.choices(popular, weights)[0] if n < popular_cves else rng.choice(tail)
            fixed = rng.randrange(timeline)
            for _ in range(rng.randint(1, 6)):  # one range per maintained branch, older branches below
                shape = rng.random()
                si = ee = ei = ""
                exact = "*"
                if shape < 0.5:
                    si, ee = version(fixed - rng.randint(5, 40)), version(fixed)
                elif shape < 0.8:
                    ei = version(fixed - 1)
                else:
                    exact = version(rng.randint(fixed - 20, fixed))
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
                fixed = max(1, fixed - rng.randint(1, 30))
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

    from attt.vulns.matching import CriteriaIndex
    from attt.vulns.models import VulnWarning

    t = time.perf_counter()
    index = services.criteria_index()
    index_s = time.perf_counter() - t
    first = services.rematch_all(notify=False)
    warnings = VulnWarning.objects.count()
    per_system = sorted(
        VulnWarning.objects.values("system_id").annotate(n=Count("pk")).values_list("n", flat=True), reverse=True
    )
    affected = len(per_system)
    print(f"index load {index_s:.2f} s; first rematch (creates warnings) {first}")
    print(
        f"realism: {warnings} warnings ({warnings / SYSTEMS:.1f} per system; {SYSTEMS - affected} systems with none; "
        f"busiest {per_system[0] if per_system else 0}); "
        f"{first['pairs']} pairs from {SYSTEMS * PER_SYSTEM} components"
    )

    def timed_rematch(lookup) -> tuple[float, dict]:
        saved = CriteriaIndex.lookup
        CriteriaIndex.lookup = lookup
        try:
            t = time.perf_counter()
            result = services.rematch_all(notify=False)
            return time.perf_counter() - t, result
        finally:
            CriteriaIndex.lookup = saved

    base_full_s, base = timed_rematch(CriteriaIndex.scan)
    print(f"baseline full rematch (scan every criterion of the product) {base_full_s:.3f} s {base}")
    full_s, steady = timed_rematch(CriteriaIndex.lookup)
    print(f"full rematch (bisect, steady state) {full_s:.3f} s {steady}")
    assert steady["created"] == 0 and steady["pairs"] == base["pairs"] == first["pairs"]

    keys = {key_of(cpe23=c.cpe23) for c in components if c.cpe23}
    keys.discard(None)
    lookup_s = {}
    for name, lookup in (("scan", index.scan), ("bisect", index.lookup)):
        t = time.perf_counter()
        for key in keys:
            lookup(key)
        lookup_s[name] = time.perf_counter() - t
    print(
        f"{len(keys)} distinct component keys against the index: scan {lookup_s['scan'] * 1000:.1f} ms, "
        f"bisect {lookup_s['bisect'] * 1000:.1f} ms ({lookup_s['scan'] / max(lookup_s['bisect'], 1e-9):.1f}×)"
    )

    # New CVEs: a TYPICAL one (the criteria of a corpus CVE hitting the median number of deployments
    # among CVEs that hit any) and the worst case (every version of the most common product).
    from attt.vulns.models import MatchCriterion

    per_cve = sorted(
        VulnWarning.objects.values("vulnerability_id").annotate(n=Count("pk")).values_list("vulnerability_id", "n"),
        key=lambda item: item[1],
    )
    median_vuln, median_n = per_cve[len(per_cve) // 2]
    typical_matches = [
        {
            "vulnerable": True,
            "criteria": c.cpe,
            **{
                name: value
                for name, value in (
                    ("versionStartIncluding", c.start_including),
                    ("versionStartExcluding", c.start_excluding),
                    ("versionEndIncluding", c.end_including),
                    ("versionEndExcluding", c.end_excluding),
                )
                if value
            },
        }
        for c in MatchCriterion.objects.filter(vulnerability_id=median_vuln)
    ]
    vendor, product = popular[0]
    worst_matches = [
        {"vulnerable": True, "criteria": f"cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*", "versionEndExcluding": "99"}
    ]
    print(
        f"{len(per_cve)} CVEs hit at least one deployment; median {median_n} deployments, "
        f"worst {per_cve[-1][1]}, {sum(1 for _v, n in per_cve if n >= 100)} CVEs hit ≥ 100"
    )

    def timed_new_cves(lookup, matches: list[dict], first_n: int) -> tuple[float, object]:
        saved = CriteriaIndex.lookup
        CriteriaIndex.lookup = lookup
        record = {
            "id": "",
            "descriptions": [{"lang": "en", "value": "new"}],
            "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": matches}]}],
        }
        try:
            samples = []
            for n in range(first_n, first_n + 5):
                record["id"] = f"CVE-2099-{n:04d}"
                data = json.dumps(record).encode()
                t = time.perf_counter()
                report = services.import_feed(feeds.load(data))
                samples.append((time.perf_counter() - t) * 1000)
            return sorted(samples)[len(samples) // 2], report
        finally:
            CriteriaIndex.lookup = saved

    base_new_ms, _report = timed_new_cves(CriteriaIndex.scan, typical_matches, 0)
    new_ms, report = timed_new_cves(CriteriaIndex.lookup, typical_matches, 100)
    typical_warnings = report.warnings_created
    print(
        f"one TYPICAL new CVE (median: {median_n} deployments in the corpus) → {typical_warnings} warnings: "
        f"median {new_ms:.1f} ms (baseline scan {base_new_ms:.1f} ms)"
    )
    base_worst_ms, _report = timed_new_cves(CriteriaIndex.scan, worst_matches, 200)
    worst_ms, report = timed_new_cves(CriteriaIndex.lookup, worst_matches, 300)
    worst_warnings = report.warnings_created
    print(
        f"one WORST-CASE new CVE on the most common product (every deployment affected) → {worst_warnings} "
        f"warnings: median {worst_ms:.1f} ms (baseline scan {base_worst_ms:.1f} ms)"
    )
    print(
        f"ratios new/baseline (same run): full rematch {full_s / base_full_s:.2f}, typical new CVE "
        f"{new_ms / base_new_ms:.2f}, worst new CVE {worst_ms / base_worst_ms:.2f}; "
        f"targets: full rematch < 2 s {'met' if full_s < 2 else 'MISSED'}, "
        f"typical new CVE < 50 ms {'met' if new_ms < 50 else 'MISSED'} "
        f"(worst case {worst_ms:.0f} ms, {worst_warnings} deployments: no target)"
    )
    print(
        json.dumps(
            {
                "full_rematch_s": round(full_s, 3),
                "full_rematch_match_s": steady["match_s"],
                "full_rematch_apply_s": steady["apply_s"],
                "baseline_full_rematch_s": round(base_full_s, 3),
                "full_rematch_ratio": round(full_s / base_full_s, 3),
                "first_rematch_s": round(sum(first[k] for k in ("index_s", "match_s", "apply_s")), 3),
                "index_load_s": round(index_s, 2),
                "new_cve_ms": round(new_ms, 1),
                "new_cve_deployments": median_n,
                "new_cve_warnings": typical_warnings,
                "baseline_new_cve_ms": round(base_new_ms, 1),
                "new_cve_ratio": round(new_ms / base_new_ms, 3),
                "new_cve_worst_ms": round(worst_ms, 1),
                "new_cve_worst_deployments": worst_warnings,
                "baseline_new_cve_worst_ms": round(base_worst_ms, 1),
                "new_cve_worst_ratio": round(worst_ms / base_worst_ms, 3),
                "cves": cves,
                "criteria": len(crit_rows),
                "components": SYSTEMS * PER_SYSTEM,
                "warnings": warnings,
                "warnings_per_system": round(warnings / SYSTEMS, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
