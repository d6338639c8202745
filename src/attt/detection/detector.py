"""The per-process detector: the engine's compiled rule set (enabled, supported rules) and indicator index,
kept in memory and rebuilt when the version stamp moves (a rule enabled, rules loaded, indicators changed)
or after `ATTT_DETECTION_REFRESH_MINUTES`. `consume` is the batch consumer monitoring's pipeline calls."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from attt.detection import conf, engine, services
from attt.detection.models import Alert, SigmaRule
from attt.intel import services as intel


@dataclass(frozen=True)
class IndicatorRef:
    """What the index hands back for an indicator hit."""

    id: uuid.UUID
    kind: str
    value: str


def indicator_items() -> list[tuple[str, str, IndicatorRef]]:
    """(kind, value, ref) for the engine's index, from intel's active indicators (kind, value, id)."""
    return [(kind, value, IndicatorRef(ident, kind, value)) for kind, value, ident in intel.active_indicators()]


class Detector:
    """Rules and indicators compiled once; `detect` runs them over a batch of normalised events."""

    def __init__(self, ruleset, index, stamp: int):
        self.ruleset, self.index, self.stamp = ruleset, index, stamp
        self.built_at = time.monotonic()

    @classmethod
    def build(cls) -> Detector:
        stamp = services.current_stamp()
        rules = SigmaRule.objects.filter(enabled=True, supported=True).values_list("path", "text", "rule_id")
        ruleset = engine.RuleSet.from_texts(
            ((path or rule_id, text) for path, text, rule_id in rules), cache_dir=conf.rule_cache_dir()
        )
        return cls(ruleset, engine.IndicatorIndex.build(indicator_items()), stamp)

    def detect(self, events: Sequence) -> list[services.Hit]:
        hits: list[services.Hit] = []
        for event in events:
            for rule in self.ruleset.match(event.fields):
                rule_id = str(rule.id)
                hits.append(
                    services.Hit(
                        **_common(event),
                        kind=Alert.Kind.SIGMA,
                        signature=rule_id,
                        title=str(rule.title),
                        severity=services.severity_for_level(rule.level),
                        rule_id=rule_id,
                        rule_author=rule.author,
                        techniques=services.techniques_of(rule.tags or ()),
                    )
                )
        for position, refs in self.index.match_each([event.observables for event in events]):
            common = _common(events[position])
            for ref in refs:
                hits.append(
                    services.Hit(
                        **common,
                        kind=Alert.Kind.IOC,
                        signature=f"ioc:{ref.id}",
                        title=f"IOC {ref.kind}: {ref.value}"[:255],
                        severity=services.IOC_SEVERITY,
                        indicator_id=ref.id,
                        indicator_kind=ref.kind,
                        indicator_value=ref.value,
                    )
                )
        return hits


def _common(event) -> dict:
    """What every hit says of its event."""
    return {
        "event_id": str(event.id),
        "source_id": event.source_id,
        "organization_id": event.organization_id,
        "timestamp": event.timestamp,
        "system_id": event.system_id,
    }


_lock = threading.Lock()
_detector: Detector | None = None


def get_detector() -> Detector:
    """This process's detector, rebuilt when the stamp moved or it is older than the refresh interval."""
    global _detector
    with _lock:
        current = _detector
        if (
            current is None
            or current.stamp != services.current_stamp()
            or time.monotonic() - current.built_at > conf.refresh_seconds()
        ):
            _detector = current = Detector.build()
        return current


def forget() -> None:
    global _detector
    with _lock:
        _detector = None


def consume(events: list) -> None:
    """monitoring's pipeline hands every stored batch here: detect, then aggregate into alerts."""
    hits = get_detector().detect(events)
    if hits:
        services.record_hits(hits)
