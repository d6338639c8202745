"""SigmaHQ's regression suite run against our engine: does each test's rule fire, as many times as expected?

A regression test is a folder with ``info.yml`` (the rule ids in ``rule_metadata[].id``, optionally the expected
``match_count`` per test) and the events as EVTX→JSON. The whole rule set is loaded, every event of the test is
run through ``RuleSet.match``, and the test passes when each listed rule fired (exactly ``match_count`` times
when given). Rules other than the listed ones that fire are counted as possible false positives (they are often
true positives of neighbouring rules, so this is a figure to watch, not a failure).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from attt.detection.engine.fields import fields_from_evtx_json, iter_json_objects
from attt.detection.engine.ruleset import RuleSet


@dataclass(slots=True)
class RegressionTest:
    name: str  # the folder, relative to the regression data root
    rule_ids: list[str]
    match_count: int | None
    events: list[dict]


@dataclass(slots=True)
class ConformanceReport:
    passed: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # test → reason
    other_rule_hits: Counter = field(default_factory=Counter)  # rule id → events it fired on, outside its tests
    skipped: dict[str, str] = field(default_factory=dict)  # test → why it has no expectation

    @property
    def total(self) -> int:
        return len(self.passed) + len(self.failures)

    @property
    def pass_rate(self) -> float:
        return len(self.passed) / self.total if self.total else 0.0


def rule_paths(sigma_root: Path) -> list[Path]:
    """The whole rule set the suite expects: rules-windows plus the few regression-only rules."""
    return sorted(sigma_root.glob("rules-windows/**/*.yml")) + sorted(
        sigma_root.glob("rules-regression-extra/**/*.yml")
    )


def load_tests(regression_root: Path) -> tuple[list[RegressionTest], dict[str, str]]:
    """Every test with an expectation, and the folders skipped with the reason."""
    tests: list[RegressionTest] = []
    skipped: dict[str, str] = {}
    for info_path in sorted(regression_root.glob("**/info.yml")):
        folder = info_path.parent
        name = str(folder.relative_to(regression_root))
        info = yaml.safe_load(info_path.read_text(encoding="utf-8")) or {}
        rule_ids = [str(item.get("id")) for item in info.get("rule_metadata") or [] if item.get("id")]
        checks = [c for c in info.get("regression_tests_info") or [] if isinstance(c, dict)]
        if not rule_ids or not checks:
            skipped[name] = "no regression_tests_info (no expected result)"
            continue
        counts = [c.get("match_count") for c in checks if c.get("match_count") is not None]
        events: list[dict] = []
        for json_path in sorted(folder.glob("*.json")):
            for obj in iter_json_objects(json_path.read_text(encoding="utf-8-sig")):
                events.append(fields_from_evtx_json(obj))
        if not events:
            skipped[name] = "no JSON events"
            continue
        tests.append(RegressionTest(name, rule_ids, int(counts[0]) if counts else None, events))
    return tests, skipped


def run(ruleset: RuleSet, tests: list[RegressionTest]) -> ConformanceReport:
    report = ConformanceReport()
    unsupported = dict(ruleset.unsupported)
    known = {rule.id for rule in ruleset.rules}
    for test in tests:
        fired: Counter = Counter()
        for fields in test.events:
            for rule in ruleset.match(fields):
                fired[rule.id] += 1
        reasons = []
        for rule_id in test.rule_ids:
            if rule_id in unsupported:
                reasons.append(f"{rule_id} unsupported: {unsupported[rule_id]}")
            elif rule_id not in known:
                reasons.append(f"{rule_id} not in the rule set")
            elif fired[rule_id] == 0:
                reasons.append(f"{rule_id} did not fire on {len(test.events)} event(s)")
            elif test.match_count is not None and fired[rule_id] != test.match_count:
                reasons.append(f"{rule_id} fired {fired[rule_id]} times, expected {test.match_count}")
        for rule_id, count in fired.items():
            if rule_id not in test.rule_ids:
                report.other_rule_hits[rule_id] += count
        if reasons:
            report.failures[test.name] = "; ".join(reasons)
        else:
            report.passed.append(test.name)
    return report
