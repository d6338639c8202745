"""A set of compiled Sigma rules and the index that decides, per event, which few of them to run.

Two levels: the event's (Channel, EventID) picks a bucket (only rules of that log source), then inside the
bucket each rule is reached through its anchors — hash tables keyed by field value (``Image`` basename,
``OriginalFileName``, ``EventID``…) plus a short list of substring probes — so a typical event runs the full
predicate of a handful of rules instead of a thousand. ``match_naive`` runs every rule's predicate on every
event: the reference the index must agree with, and the benchmark's baseline.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from attt.detection.engine import logsource
from attt.detection.engine.evaluator import (
    KEYWORD,
    Anchor,
    Predicate,
    anchors,
    compile_predicate,
    lower_fields,
)

CACHE_VERSION = 4
_PYSIGMA = version("pySigma")


@dataclass(slots=True, eq=False)
class CompiledRule:
    """One Sigma rule ready to evaluate. ``author`` and ``id`` are kept for the DRL 1.1 attribution duty."""

    id: str
    title: str
    level: str
    tags: list[str]
    logsource: dict[str, str]
    author: str = ""
    status: str = ""
    description: str = ""
    references: list[str] = field(default_factory=list)
    falsepositives: list[str] = field(default_factory=list)
    source: str = ""  # the file name it came from
    tree: tuple = ("const", False)
    keys: tuple = ()
    logsource_note: str = ""  # set when the log source has no known channel and the rule is tried everywhere
    anchors: list[Anchor] | None = None
    predicate: Predicate | None = None

    def matches(self, fields: Mapping[str, Any]) -> bool:
        """Whether this rule alone fires on an event (log source included); for tests and one-off checks."""
        key = logsource.event_key(fields)
        if not _key_admits(self.keys, key):
            return False
        fields = logsource.with_sysmon_names(fields, key)
        return bool(self.predicate(fields, lower_fields(fields)))

    def __getstate__(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__ if name != "predicate"}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.predicate = compile_predicate(self.tree)


def _key_admits(keys: tuple, key: logsource.Key | None) -> bool:
    if key is None:
        return logsource.NOT_WINDOWS in keys
    return logsource.ANY_WINDOWS in keys or key in keys or (key[0], None) in keys


def _listify(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return [str(value)]


def compile_text(name: str, text: str) -> tuple[list[CompiledRule], list[tuple[str, str]]]:
    """The rules of one Sigma YAML file and the (rule id or file name, reason) of those not supported."""
    from sigma.rule import SigmaRule

    from attt.detection.engine.compiler import Unsupported, compile_condition

    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        return [], [(name, f"not valid YAML: {error}")]
    rules: list[CompiledRule] = []
    unsupported: list[tuple[str, str]] = []
    for document in documents:
        if not isinstance(document, dict):
            unsupported.append((name, "not a Sigma rule (a YAML document that is not a mapping)"))
            continue
        ident = str(document.get("id") or name)
        if "correlation" in document:
            unsupported.append((ident, "correlation rule: needs state across events, not evaluated"))
            continue
        if "filter" in document and "detection" not in document:
            unsupported.append((ident, "Sigma filter (meta-rule): not evaluated"))
            continue
        conditions = (document.get("detection") or {}).get("condition") if isinstance(document, dict) else None
        for condition in conditions if isinstance(conditions, list) else [conditions]:
            if isinstance(condition, str) and "|" in condition:
                unsupported.append((ident, "aggregation in the condition (| count() …): needs state across events"))
                break
        else:
            try:
                rule = SigmaRule.from_dict(document)
                tree = compile_condition(rule)
            except Unsupported as error:
                unsupported.append((ident, str(error)))
                continue
            except Exception as error:
                unsupported.append((ident, f"pySigma cannot parse it: {type(error).__name__}: {error}"))
                continue
            source = {k: v for k, v in (document.get("logsource") or {}).items() if isinstance(v, str)}
            keys, note = logsource.keys_for(source)
            rules.append(
                CompiledRule(
                    id=ident,
                    title=str(document.get("title") or ""),
                    level=str(document.get("level") or ""),
                    tags=_listify(document.get("tags")),
                    logsource=source,
                    author=str(document.get("author") or ""),
                    status=str(document.get("status") or ""),
                    description=str(document.get("description") or ""),
                    references=_listify(document.get("references")),
                    falsepositives=_listify(document.get("falsepositives")),
                    source=name,
                    tree=tree,
                    keys=keys,
                    logsource_note=note,
                    anchors=anchors(tree),
                    predicate=compile_predicate(tree),
                )
            )
    return rules, unsupported


class _Bucket:
    """The rules of one log-source key, reachable through their anchors."""

    __slots__ = ("always", "base", "eq", "subs")

    def __init__(self, positions: Iterable[int], rules: list[CompiledRule]):
        self.always: list[int] = []
        self.eq: dict[str, dict[str, list[int]]] = {}
        self.base: dict[str, dict[str, list[int]]] = {}
        subs: dict[str, dict[str, list[int]]] = {}
        for position in positions:
            found = rules[position].anchors
            if found is None:
                self.always.append(position)
                continue
            for kind, name, value in found:
                table = self.eq if kind == "eq" else self.base if kind == "base" else subs
                table.setdefault(name, {}).setdefault(value, []).append(position)
        self.subs = {name: _SubstringProbe(needles) for name, needles in subs.items()}

    def candidates(self, low: Mapping[str, str]) -> set[int]:
        found = set(self.always)
        for name, table in self.eq.items():
            value = low.get(name)
            if value is not None:
                hit = table.get(value)
                if hit:
                    found.update(hit)
        for name, table in self.base.items():
            value = low.get(name)
            if value is not None:
                hit = table.get(value[value.rfind("\\") + 1 :])
                if hit:
                    found.update(hit)
        for name, probe in self.subs.items():
            if name == KEYWORD:  # a keyword matches when one of the values contains it (inlined: hot loop)
                memo, shortest = probe.memo, probe.shortest
                for value in low.values():
                    if len(value) < shortest:
                        continue
                    hits = memo.get(value)
                    if hits is None:
                        hits = probe.remember(value)
                    for hit in hits:
                        found.update(hit)
                continue
            value = low.get(name)
            if value is not None:
                probe.collect(value, found)
        return found


GRAM = 4
FEW_NEEDLES = 16
MEMO_SIZE = 50_000  # distinct values remembered per probed field (then forgotten at once: no LRU bookkeeping)
_SLICES = [slice(i, i + GRAM) for i in range(4096)]


class _SubstringProbe:
    """Which of many needles occur in a value, without testing each: every needle is filed under one of its
    4-character grams; the value's set of grams, intersected with the filed ones (a C-level set operation),
    names the few needles worth an ``in`` test. Needles shorter than a gram are filed the same way under
    one of their characters."""

    __slots__ = ("by_char", "by_gram", "chars", "few", "grams", "memo", "shortest")

    def __init__(self, needles: dict[str, list[int]]):
        # few needles: a plain loop of ``in`` tests is cheaper than building the value's gram set
        self.few = list(needles.items()) if len(needles) <= FEW_NEEDLES else None
        self.memo: dict[str, tuple[list[int], ...]] = {}
        self.shortest = min(map(len, needles))
        short = [needle for needle in needles if len(needle) < GRAM]
        char_popularity: dict[str, int] = {}
        for needle in short:
            for char in set(needle):
                char_popularity[char] = char_popularity.get(char, 0) + 1
        self.by_char: dict[str, list[tuple[str, list[int]]]] = {}
        for needle in short:
            rarest = min(needle, key=lambda char: (char_popularity[char], needle.index(char)))
            self.by_char.setdefault(rarest, []).append((needle, needles[needle]))
        long_needles = [needle for needle in needles if len(needle) >= GRAM]
        popularity: dict[str, int] = {}
        for needle in long_needles:
            for gram in {needle[i : i + GRAM] for i in range(len(needle) - GRAM + 1)}:
                popularity[gram] = popularity.get(gram, 0) + 1
        self.by_gram: dict[str, list[tuple[str, list[int]]]] = {}
        for needle in long_needles:
            grams = [needle[i : i + GRAM] for i in range(len(needle) - GRAM + 1)]
            rarest = min(grams, key=lambda gram: (popularity[gram], grams.index(gram)))
            self.by_gram.setdefault(rarest, []).append((needle, needles[needle]))
        self.chars = frozenset(self.by_char)  # set ∩ frozenset iterates the smaller side; set ∩ dict would not
        self.grams = frozenset(self.by_gram)

    def collect(self, value: str, found: set[int]) -> None:
        """Add to ``found`` the rules of every needle in ``value``; results are memoised per value, because
        log values repeat (the same programs, command lines and paths run again and again)."""
        hits = self.memo.get(value)
        if hits is None:
            hits = self.remember(value)
        for hit in hits:
            found.update(hit)

    def remember(self, value: str) -> tuple[list[int], ...]:
        hits = self._scan(value)
        if len(self.memo) >= MEMO_SIZE:
            self.memo.clear()
        self.memo[value] = hits
        return hits

    def _scan(self, value: str) -> tuple[list[int], ...]:
        if self.few is not None:
            return tuple(hit for needle, hit in self.few if needle in value)
        hits = []
        if self.by_char:
            for char in self.chars.intersection(value):
                hits.extend(hit for needle, hit in self.by_char[char] if needle in value)
        if len(value) >= GRAM:
            count = len(value) - GRAM + 1
            slices = _SLICES if count <= len(_SLICES) else [slice(i, i + GRAM) for i in range(count)]
            grams = set(map(value.__getitem__, slices[:count]))
            for gram in grams & self.grams:
                hits.extend(hit for needle, hit in self.by_gram[gram] if needle in value)
        return tuple(hits)


class RuleSet:
    """Compiled rules, indexed by log source and by each rule's anchors."""

    def __init__(self, rules: list[CompiledRule], unsupported: list[tuple[str, str]]):
        self.rules = rules
        self.unsupported = unsupported
        self._by_key: dict[Any, list[int]] = {}
        for position, rule in enumerate(rules):
            for key in rule.keys:
                self._by_key.setdefault(key, []).append(position)
        self._buckets: dict[Any, _Bucket] = {}

    @classmethod
    def from_texts(cls, items: Iterable[tuple[str, str]], cache_dir: Path | None = None) -> RuleSet:
        """Rules from (file name, YAML text) pairs; with ``cache_dir``, compiled files are reused by content hash."""
        rules: list[CompiledRule] = []
        unsupported: list[tuple[str, str]] = []
        for name, text in items:
            compiled = _cached(cache_dir, name, text) if cache_dir is not None else compile_text(name, text)
            rules.extend(compiled[0])
            unsupported.extend(compiled[1])
        return cls(rules, unsupported)

    @classmethod
    def from_paths(cls, paths: Iterable[Path], cache_dir: Path | None = None) -> RuleSet:
        return cls.from_texts(((str(path), path.read_text(encoding="utf-8")) for path in paths), cache_dir)

    def _bucket(self, key: Any) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if key is None:
                positions = self._by_key.get(logsource.NOT_WINDOWS, [])
            else:
                positions = sorted(
                    {
                        *self._by_key.get(key, ()),
                        *self._by_key.get((key[0], None), ()),
                        *self._by_key.get(logsource.ANY_WINDOWS, ()),
                    }
                )
            bucket = self._buckets[key] = _Bucket(positions, self.rules)
        return bucket

    def match(self, fields: Mapping[str, Any]) -> list[CompiledRule]:
        """The rules that fire on one event, in rule-set order."""
        key = logsource.event_key(fields)
        fields = logsource.with_sysmon_names(fields, key)
        low = lower_fields(fields)
        bucket = self._bucket(key)
        rules = self.rules
        hits = [position for position in bucket.candidates(low) if rules[position].predicate(fields, low)]
        hits.sort()
        return [rules[position] for position in hits]

    def match_naive(self, fields: Mapping[str, Any]) -> list[CompiledRule]:
        """Every rule's log source and predicate on the event, no index: the reference and the baseline."""
        key = logsource.event_key(fields)
        fields = logsource.with_sysmon_names(fields, key)
        low = lower_fields(fields)
        return [rule for rule in self.rules if _key_admits(rule.keys, key) and rule.predicate(fields, low)]


def _private_dir(directory: Path) -> bool:
    """Create the cache directory private to this user; refuse one that someone else could write to, since
    unpickling a file planted there would run its code."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _cached(cache_dir: Path, name: str, text: str) -> tuple[list[CompiledRule], list[tuple[str, str]]]:
    """compile_text through a pickle cache keyed by content, engine and pySigma versions (our own directory)."""
    if not _private_dir(cache_dir):
        return compile_text(name, text)
    digest = hashlib.sha256(f"{CACHE_VERSION}\0{_PYSIGMA}\0{name}\0{text}".encode()).hexdigest()
    folder = cache_dir / digest[:2]
    path = folder / f"{digest}.pickle"
    if path.is_file() and _private_dir(folder) and path.stat().st_uid == os.getuid():
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)  # noqa: S301 - a private directory only this user writes
        except Exception:  # noqa: S110 - a broken cache entry is recompiled
            pass
    compiled = compile_text(name, text)
    if not _private_dir(folder):
        return compiled
    temporary = folder / f"{digest}.{os.getpid()}.tmp"
    with temporary.open("wb") as handle:
        pickle.dump(compiled, handle, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(path)
    return compiled
