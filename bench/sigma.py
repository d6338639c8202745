"""Benchmark: Sigma detection throughput of the engine with the whole SigmaHQ Windows rule set.

Loads every rule in testdata/sigma/rules-windows (+ the regression-only extras) through pySigma into the engine
(compiled rules are cached under var/cache/sigma by file hash, so the second run loads in under a second), builds
a realistic event stream — the SigmaHQ regression events replicated with mutated hosts, ids and user paths, mixed
with benign Sysmon (process creation, image load, network, file, registry) and Security logon events, 1 in 10
malicious — and measures, on one core in the same run:

- the indexed engine (``RuleSet.match``: log-source bucket, then anchors, then full predicates), and
- the naive baseline: every rule's log source check and compiled predicate on every event (``match_naive``),

then checks both give the same matches on the whole naive sample and runs the regression suite for the
conformance pass rate. Last, an IndicatorIndex of 1,000,000 mixed indicators (IPs, /24 ranges, domains, hashes,
URLs): build time and lookups per second. Reference point: Zircolite, the Python Sigma engine in use
today, does about 750 events/s per core with 2,395 rules. The last line printed is a JSON object
(events_per_s_per_core, naive_events_per_s, rules_loaded, rules_unsupported, conformance_pass_rate, …).
Run by hand: `.venv/bin/python bench/sigma.py --quick`.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# this file is bench/sigma.py: keep its folder off the path so `import sigma` finds pySigma, not this script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT / "src"))

from attt.detection.engine import (  # noqa: E402 - after the path fix above
    IndicatorIndex,
    RuleSet,
    conformance,
)

SIGMA = ROOT.parent / "shared" / "testdata" / "sigma"
CACHE = ROOT / "var" / "cache" / "sigma"
TARGET = 25_000
USER_DIR = re.compile(r"\\Users\\[^\\]+\\")
SYSMON = "Microsoft-Windows-Sysmon/Operational"

BENIGN_PROGRAMS = [
    ("C:\\Windows\\System32\\svchost.exe", "svchost.exe -k netsvcs -p -s Schedule", "services.exe"),
    (
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "chrome.exe --type=renderer --lang=vi",
        "explorer.exe",
    ),
    (
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        'WINWORD.EXE /n "D:\\Bao cao\\Q3.docx"',
        "explorer.exe",
    ),
    ("C:\\Windows\\System32\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", "cmd.exe"),
    (
        "C:\\Windows\\System32\\SearchProtocolHost.exe",
        "SearchProtocolHost.exe Global\\UsGthrFltPipeMssGthrPipe1",
        "SearchIndexer.exe",
    ),
    ("C:\\Program Files\\Zalo\\Zalo.exe", "Zalo.exe --autostart", "explorer.exe"),
    ("C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}", "svchost.exe"),
    ("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", "userinit.exe"),
    ("C:\\Program Files\\7-Zip\\7zFM.exe", '"C:\\Program Files\\7-Zip\\7zFM.exe" D:\\tai-lieu.zip', "explorer.exe"),
    (
        "C:\\Windows\\System32\\backgroundTaskHost.exe",
        "backgroundTaskHost.exe -ServerName:App.AppXmtcan0h2tfbfy7k9kmmttk5tny7avh6t.mca",
        "svchost.exe",
    ),
]
BENIGN_DLLS = ["ntdll.dll", "kernel32.dll", "user32.dll", "combase.dll", "msvcrt.dll", "ws2_32.dll", "crypt32.dll"]
BENIGN_DOMAINS = ["www.google.com", "zalo.me", "vnexpress.net", "login.microsoftonline.com", "dichvucong.gov.vn"]


def benign_event(rng: random.Random, host: str) -> dict:
    image, command, parent = rng.choice(BENIGN_PROGRAMS)
    user = f"CONGTY\\nv{rng.randrange(1000):03d}"
    base = {"Channel": SYSMON, "Provider_Name": "Microsoft-Windows-Sysmon", "Computer": host, "Level": 4}
    kind = rng.randrange(8)
    pid = rng.randrange(1000, 60000)
    if kind <= 2:
        return base | {
            "EventID": 1,
            "Image": image,
            "CommandLine": command,
            "ParentImage": f"C:\\Windows\\{parent}",
            "ParentCommandLine": parent,
            "OriginalFileName": image.rsplit("\\", 1)[1],
            "User": user,
            "ProcessId": pid,
            "IntegrityLevel": "Medium",
            "CurrentDirectory": "C:\\Windows\\system32\\",
            "Hashes": f"SHA256={rng.getrandbits(256):064X}",
            "Company": "Microsoft Corporation",
            "Product": "Microsoft® Windows® Operating System",
            "Description": "Host Process",
        }
    if kind == 3:
        return base | {
            "EventID": 7,
            "Image": image,
            "ImageLoaded": f"C:\\Windows\\System32\\{rng.choice(BENIGN_DLLS)}",
            "Signed": "true",
            "Signature": "Microsoft Windows",
            "SignatureStatus": "Valid",
            "User": user,
        }
    if kind == 4:
        return base | {
            "EventID": 3,
            "Image": image,
            "Protocol": "tcp",
            "Initiated": "true",
            "User": user,
            "SourceIp": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            "SourcePort": rng.randrange(49152, 65535),
            "DestinationIp": f"203.162.{rng.randrange(256)}.{rng.randrange(256)}",
            "DestinationPort": 443,
            "DestinationHostname": rng.choice(BENIGN_DOMAINS),
        }
    if kind == 5:
        return base | {
            "EventID": 11,
            "Image": image,
            "User": user,
            "TargetFilename": f"C:\\Users\\nv{pid % 97}\\AppData\\Local\\Temp\\tmp{pid:x}.tmp",
        }
    if kind == 6:
        return base | {
            "EventID": 13,
            "EventType": "SetValue",
            "Image": image,
            "User": user,
            "TargetObject": f"HKU\\S-1-5-21-{pid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs",
            "Details": "Binary Data",
        }
    return {
        "Channel": "Security",
        "Provider_Name": "Microsoft-Windows-Security-Auditing",
        "Computer": host,
        "EventID": rng.choice((4624, 4634, 4672, 4625)),
        "TargetUserName": user.split("\\")[1],
        "TargetDomainName": "CONGTY",
        "LogonType": rng.choice((2, 3, 10)),
        "IpAddress": f"10.0.0.{rng.randrange(256)}",
        "WorkstationName": host,
        "LogonProcessName": "NtLmSsp",
        "AuthenticationPackageName": "NTLM",
    }


def mutated(rng: random.Random, fields: dict, host: str) -> dict:
    event = copy.copy(fields)
    event["Computer"] = host
    for key in ("ProcessId", "ParentProcessId", "SourcePort"):
        if key in event:
            event[key] = rng.randrange(1000, 60000)
    user_dir = f"\\Users\\nv{rng.randrange(1000):03d}\\"
    for key in ("CommandLine", "TargetFilename", "CurrentDirectory", "Image"):
        value = event.get(key)
        if isinstance(value, str):
            event[key] = USER_DIR.sub(lambda _match: user_dir, value)
    return event


def event_stream(count: int, malicious: list[dict], seed: int = 2026) -> list[dict]:
    rng = random.Random(seed)
    hosts = [f"PC-HN-{n:04d}" for n in range(200)]
    events = []
    for _ in range(count):
        host = rng.choice(hosts)
        events.append(mutated(rng, rng.choice(malicious), host) if rng.random() < 0.1 else benign_event(rng, host))
    return events


def rate(function, events: list[dict]) -> tuple[float, int]:
    """Events per CPU-second of this process (per core: robust to the other jobs sharing the machine)."""
    hits = 0
    started = time.process_time()
    for event in events:
        hits += len(function(event))
    return len(events) / (time.process_time() - started), hits


def indicator_figures(count: int = 1_000_000) -> dict:
    """Build time of an IndicatorIndex of ``count`` mixed indicators and its lookup rate on mixed candidates."""
    rng = random.Random(7)
    share = count // 5
    items = [("ipv4", socket.inet_ntoa(rng.getrandbits(32).to_bytes(4, "big")), n) for n in range(share)]
    items += [
        ("ipv4", f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24", n)
        for n in range(share // 10)
    ]
    items += [("domain", f"c2-{n:x}.example", n) for n in range(share)]
    items += [("sha256", f"{rng.getrandbits(256):064x}", n) for n in range(share)]
    items += [("url", f"http://host{n % 5000}.example/p/{n}", n) for n in range(count - len(items))]
    started = time.process_time()
    index = IndicatorIndex.build(items)
    build_s = time.process_time() - started
    candidates = [("ipv4", socket.inet_ntoa(rng.getrandbits(32).to_bytes(4, "big"))) for _ in range(60_000)]
    candidates += [("domain", f"www.c2-{n:x}.example") for n in range(20_000)]
    candidates += [("sha256", f"{rng.getrandbits(256):064x}") for _ in range(20_000)]
    started = time.process_time()
    hits = sum(len(index.match([candidate])) for candidate in candidates)
    rate_per_s = len(candidates) / (time.process_time() - started)
    print(f"indicators: {len(index):,} built in {build_s:.1f} s; {rate_per_s:,.0f} lookups/s ({hits:,} hits)")
    return {"ioc_build_1m_s": round(build_s, 2), "ioc_lookups_per_s": round(rate_per_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events (finishes within a minute)")
    parser.add_argument("--events", type=int, default=0)
    args = parser.parse_args()
    count = args.events or (30_000 if args.quick else 200_000)
    naive_count = max(500, count // 50)

    started = time.perf_counter()
    ruleset = RuleSet.from_paths(conformance.rule_paths(SIGMA), cache_dir=CACHE)
    load_s = time.perf_counter() - started
    print(f"rules loaded: {len(ruleset.rules)}, unsupported: {len(ruleset.unsupported)} ({load_s:.1f} s)")

    tests, _skipped = conformance.load_tests(SIGMA / "regression_data")
    report = conformance.run(ruleset, tests)
    print(f"conformance: {len(report.passed)}/{report.total} = {report.pass_rate:.1%}")
    for name, reason in report.failures.items():
        print(f"  FAIL {name}: {reason}")

    malicious = [fields for test in tests for fields in test.events]
    events = event_stream(count, malicious)
    for event in events[:200]:  # warm the per-log-source buckets before timing
        ruleset.match(event)

    indexed_rate, indexed_hits = rate(ruleset.match, events)
    naive_events = events[:naive_count]
    naive_rate, _naive_hits = rate(ruleset.match_naive, naive_events)
    disagreements = sum(
        1
        for event in naive_events
        if [r.id for r in ruleset.match(event)] != [r.id for r in ruleset.match_naive(event)]
    )
    ratio = indexed_rate / naive_rate
    print(f"indexed: {indexed_rate:,.0f} events/s on one core over {count:,} events ({indexed_hits:,} rule hits)")
    print(f"naive:   {naive_rate:,.0f} events/s over {naive_count:,} events — index speed-up ×{ratio:.1f}")
    print(f"index vs naive disagreements: {disagreements} of {naive_count}")
    print(
        f"vs Zircolite (~750 events/s/core, 2,395 rules): ×{indexed_rate / 750:.0f}; target {TARGET:,}: "
        f"{'met' if indexed_rate >= TARGET else 'NOT met'}"
    )
    figures = indicator_figures()
    print(
        json.dumps(
            {
                "events_per_s_per_core": round(indexed_rate),
                "naive_events_per_s": round(naive_rate),
                "index_speedup": round(ratio, 1),
                "rules_loaded": len(ruleset.rules),
                "rules_unsupported": len(ruleset.unsupported),
                "conformance_pass_rate": round(report.pass_rate, 4),
                "false_positive_rule_hits": sum(report.other_rule_hits.values()),
                "index_disagreements": disagreements,
                "load_s": round(load_s, 2),
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
