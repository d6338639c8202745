"""Indicator (IOC) matching at line rate: a million indicators, every lookup a dict probe or a bisect.

Each indicator value is normalised once at build time to the key its kind compares on (lower-case hashes and
domains, canonical URLs, digits-only phone numbers, integer IP addresses), and a candidate seen in traffic is
normalised the same way, so matching is one hash lookup per candidate. Two kinds match more than equality:

- IP ranges (CIDR): a candidate matches every indicator range that contains it. CIDR blocks are either nested
  or disjoint, so sorted by start each block's enclosing block is known at build time; a lookup bisects to the
  last block starting at or before the address and walks up its chain of enclosing blocks.
- domains: an indicator ``evil.example`` also matches ``sub.evil.example`` (each parent of the candidate is
  probed, a handful of lookups).
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import chain, compress
from operator import not_
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from attt.detection.engine.evaluator import ip_to_int

KINDS = ("ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256", "email", "phone", "bank_account")
_HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
MEMO_LIMIT = 262_144  # remembered answers per index (~40 MB at most)
_HEX = frozenset("0123456789abcdef")
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21"}


def normalise_domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if value.startswith("*."):
        value = value[2:]
    try:
        return value.encode("idna").decode("ascii") if not value.isascii() else value
    except UnicodeError:
        return value


def normalise_url(value: str) -> str:
    """Scheme and host lower-case, default port and fragment dropped, empty path as ``/``; path/query kept."""
    value = value.strip()
    if "://" not in value:
        value = "http://" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return value.lower()
    scheme = parts.scheme.lower()
    netloc = normalise_domain(host) if host else ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port is not None and str(port) != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def normalise_phone(value: str) -> str:
    """Digits only, Vietnamese national form (0…) and international form (+84…) made equal."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if value.strip().startswith("00"):
        digits = digits[2:]
    if digits.startswith("0") and len(digits) >= 9:
        digits = "84" + digits[1:]
    return digits


def normalise(kind: str, value: str) -> Any:
    """The comparison key of a value of one kind, or None when the value is not of that kind."""
    if not isinstance(value, str):
        return None
    if kind in _HASH_LENGTHS:
        key = value.strip().lower()
        return key if len(key) == _HASH_LENGTHS[kind] and set(key) <= _HEX else None
    if kind == "domain":
        key = normalise_domain(value)
        return key or None
    if kind == "url":
        return normalise_url(value) if value.strip() else None
    if kind == "email":
        key = value.strip().lower()
        return key if "@" in key else None
    if kind == "phone":
        return normalise_phone(value) or None
    if kind == "bank_account":
        key = "".join(ch for ch in value.upper() if ch.isalnum())
        return key or None
    return None


class _Ranges:
    """Disjoint-or-nested integer intervals (CIDR blocks) with their refs, for containment lookups."""

    __slots__ = ("ends", "parents", "refs", "starts")

    def __init__(self, blocks: dict[tuple[int, int], list[int]]):
        ordered = sorted(blocks, key=lambda block: (block[0], -block[1]))
        self.starts = [start for start, _end in ordered]
        self.ends = [end for _start, end in ordered]
        self.refs = [blocks[block] for block in ordered]
        self.parents: list[int] = []
        stack: list[int] = []
        for position, (start, _end) in enumerate(ordered):
            while stack and self.ends[stack[-1]] < start:
                stack.pop()
            self.parents.append(stack[-1] if stack else -1)
            stack.append(position)

    def containing(self, value: int) -> Iterable[list[int]]:
        position = bisect_right(self.starts, value) - 1
        while position >= 0:
            if self.ends[position] >= value:
                yield self.refs[position]
            position = self.parents[position]


class IndicatorIndex:
    """Indicators by kind and normalised value; ``match`` returns the refs of those a candidate hits."""

    def __init__(self) -> None:
        self._refs: list[object] = []
        self._exact: dict[str, dict[Any, int | list[int]]] = {kind: {} for kind in KINDS}
        self._ranges: dict[int, _Ranges] = {}
        self.rejected: list[tuple[str, str]] = []  # (kind, value) that are not valid for their kind
        self._memo: dict[tuple[str, str], tuple[int, ...]] = {}
        self._hitting: set[tuple[str, str]] = set()  # the remembered candidates that hit something

    def __len__(self) -> int:
        return len(self._refs)

    @classmethod
    def build(cls, items: Iterable[tuple[str, str, object]]) -> IndicatorIndex:
        index = cls()
        exact = index._exact
        refs = index._refs
        blocks: dict[int, dict[tuple[int, int], list[int]]] = {4: {}, 6: {}}
        for kind, value, ref in items:
            key: Any
            if kind in ("ipv4", "ipv6"):
                parsed = _ip_block(value)
                if parsed is None:
                    index.rejected.append((kind, value))
                    continue
                version, start, end = parsed
                refs.append(ref)
                if start == end:
                    _add(exact[f"ipv{version}"], start, len(refs) - 1)
                else:
                    blocks[version].setdefault((start, end), []).append(len(refs) - 1)
                continue
            if kind not in exact:
                index.rejected.append((kind, value))
                continue
            key = normalise(kind, value)
            if key is None:
                index.rejected.append((kind, value))
                continue
            refs.append(ref)
            _add(exact[kind], key, len(refs) - 1)
        index._ranges = {version: _Ranges(found) for version, found in blocks.items() if found}
        return index

    def match(self, candidates: Iterable[tuple[str, str]]) -> list[object]:
        """Refs of the indicators hit by any candidate, each once, in the order first hit. Each candidate's answer
        is remembered (up to `MEMO_LIMIT`, then forgotten all at once): traffic repeats the same addresses, names
        and hashes batch after batch, and a remembered answer is one probe instead of parsing the value again.
        The index never changes once built (a new index is built when indicators change), so answers stay true."""
        memo = self._memo
        hits: list[int] | None = None
        for candidate in candidates:
            found = memo.get(candidate)
            if found is None:
                if len(memo) >= MEMO_LIMIT:
                    self._forget()
                found = self._remember(candidate)
            if found:
                if hits is None:
                    hits = []
                hits.extend(found)
        return [] if hits is None else self._refs_of(hits)

    def match_each(self, candidate_lists: Sequence[Sequence[tuple[str, str]]]) -> list[tuple[int, list[object]]]:
        """`match` over a batch: (position, refs) of each list that hits something, in order. The batch's distinct
        candidates are looked up once, and the lists that hold none of the hitting ones (nearly all) are passed
        over with one set probe each: a third of `match` per list, which matters at line rate."""
        unique = set(chain.from_iterable(candidate_lists))
        if len(unique) > MEMO_LIMIT:  # more than may be remembered at once: list by list, as `match` bounds it
            return [(n, refs) for n, candidates in enumerate(candidate_lists) if (refs := self.match(candidates))]
        new = unique.difference(self._memo)
        if len(self._memo) + len(new) > MEMO_LIMIT:
            self._forget()
            new = unique
        for candidate in new:
            self._remember(candidate)
        hitting = unique & self._hitting
        if not hitting:
            return []
        holding = map(not_, map(hitting.isdisjoint, candidate_lists))
        return [(n, self.match(candidate_lists[n])) for n in compress(range(len(candidate_lists)), holding)]

    def _remember(self, candidate: tuple[str, str]) -> tuple[int, ...]:
        found = self._memo[candidate] = self._positions(*candidate)
        if found:
            self._hitting.add(candidate)
        return found

    def _forget(self) -> None:
        self._memo.clear()
        self._hitting.clear()

    def _refs_of(self, hits: list[int]) -> list[object]:
        refs = self._refs
        return [refs[position] for position in dict.fromkeys(hits)]

    def _positions(self, kind: str, value: str) -> tuple[int, ...]:
        """The positions of the indicators one candidate hits. Most candidates hit nothing, so the common path
        is a key and one probe."""
        if value.__class__ is not str:
            return ()
        if kind == "ipv4" or kind == "ipv6":
            parsed = ip_to_int(value)
            if parsed is None:
                return ()
            version, number = parsed
            found = self._exact["ipv4" if version == 4 else "ipv6"].get(number)
            ranges = self._ranges.get(version)
            if ranges is None:
                return () if found is None else _as_tuple(found)
            hits = [] if found is None else list(_as_tuple(found))
            for found in ranges.containing(number):
                hits.extend(found)
            return tuple(hits)
        table = self._exact.get(kind)
        if not table:
            return ()
        key = _canonical(kind, value)
        if key is None:
            key = normalise(kind, value)
            if key is None:
                return ()
        found = table.get(key)
        if kind != "domain":
            return () if found is None else _as_tuple(found)
        hits = [] if found is None else list(_as_tuple(found))
        dot = key.find(".")
        while dot != -1:
            found = table.get(key[dot + 1 :])
            if found is not None:
                hits.extend(_as_tuple(found))
            dot = key.find(".", dot + 1)
        return tuple(hits)


def _as_tuple(found: int | list[int]) -> tuple[int, ...]:
    return tuple(found) if found.__class__ is list else (found,)


_CANONICAL_HOST = re.compile(r"[a-z0-9._-]+").fullmatch


def _canonical(kind: str, value: str) -> str | None:
    """The comparison key of a value already in canonical form (what traffic mostly carries), found without
    parsing; None sends the value through `normalise`. `tests/test_engine.py` checks it agrees with it."""
    if not value.isascii() or value != value.strip():
        return None
    if kind == "domain":
        return value if value.islower() and not value.endswith(".") and not value.startswith("*.") else None
    if kind == "url":
        scheme, sep, rest = value.partition("://")
        if not sep or not scheme.isalpha() or not scheme.islower():
            return None
        slash = rest.find("/")
        if slash <= 0:
            return None
        host = rest[:slash]
        if not host.islower() or host.endswith(".") or _CANONICAL_HOST(host) is None:
            return None
        if "#" in value or "\t" in value or "\r" in value or "\n" in value:
            return None
        if value.endswith("?"):
            return None
        return value
    if kind in _HASH_LENGTHS:
        return value if len(value) == _HASH_LENGTHS[kind] and not value.strip("0123456789abcdef") else None
    return None


def _add(table: dict[Any, int | list[int]], key: Any, position: int) -> None:
    found = table.get(key)
    if found is None:
        table[key] = position
    elif isinstance(found, list):
        found.append(position)
    else:
        table[key] = [found, position]


def _ip_block(value: str) -> tuple[int, int, int] | None:
    """(version, first, last) of an address or CIDR block; host bits set in a block are ignored."""
    if not isinstance(value, str):
        return None
    if "/" not in value:
        parsed = ip_to_int(value)
        return None if parsed is None else (parsed[0], parsed[1], parsed[1])
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    first = int(network.network_address)
    return network.version, first, first + network.num_addresses - 1
