"""The detection engine: Sigma rules and indicators compiled for throughput. Pure Python, no models, so the
monitoring pipeline, the detection workers and the benchmarks share it.

What the rest of the platform relies on:

- ``RuleSet.from_texts(items: Iterable[tuple[str, str]]) -> RuleSet``: (file name, Sigma YAML text) pairs;
  rules pySigma cannot parse or that the engine does not support land in ``ruleset.unsupported`` as
  ``(rule id or file name, reason)`` and never raise.
- ``ruleset.rules``: list of ``CompiledRule`` with at least ``id``, ``title``, ``level``, ``tags``, ``logsource``.
- ``ruleset.match(fields: Mapping[str, object]) -> list[CompiledRule]``: the rules that fire on one event,
  where ``fields`` is the flat vendor field map (Windows: EventID, Channel, Provider_Name, Computer and every
  EventData field: Image, CommandLine, …).
- ``fields_from_evtx_json(obj: Mapping) -> dict``: that flat map from the EVTX→JSON form
  (``Event.System`` / ``Event.EventData``) used by the regression data.
- ``IndicatorIndex.build(items: Iterable[tuple[str, str, object]]) -> IndicatorIndex`` from (kind, value, ref),
  kinds as in ``attt.intel.sharing.OBSERVABLE_KINDS``; ``index.match(candidates: Iterable[tuple[str, str]])
  -> list[object]`` returns the refs of indicators equal to (or, for IP ranges, containing) a candidate
  (candidates are hashable (kind, value) pairs: answers are remembered); ``index.match_each(lists)`` does the
  same for a batch of such lists and returns ``(position, refs)`` of those that hit.
"""

from attt.detection.engine.fields import fields_from_evtx_json, iter_json_objects
from attt.detection.engine.indicators import IndicatorIndex
from attt.detection.engine.ruleset import CompiledRule, RuleSet

__all__ = ["CompiledRule", "IndicatorIndex", "RuleSet", "fields_from_evtx_json", "iter_json_objects"]
