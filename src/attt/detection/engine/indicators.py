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
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from attt.detection.engine.evaluator import ip_to_int

KINDS = ("ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256", "email", "phone", "bank_account")
_HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
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
        """Refs of the indicators hit by any candidate, each once, in the order first hit."""
        hits: list[int] = []
        seen: set[int] = set()

        def take(found: int | list[int] | None) -> None:
            if found is None:
                return
            for position in found if isinstance(found, list) else (found,):
                if position not in seen:
                    seen.add(position)
                    hits.append(position)

        exact = self._exact
        for kind, value in candidates:
            if kind in ("ipv4", "ipv6"):
                parsed = ip_to_int(value) if isinstance(value, str) else None
                if parsed is None:
                    continue
                version, number = parsed
                take(exact[f"ipv{version}"].get(number))
                ranges = self._ranges.get(version)
                if ranges is not None:
                    for found in ranges.containing(number):
                        take(found)
                continue
            table = exact.get(kind)
            if not table:
                continue
            key = normalise(kind, value)
            if key is None:
                continue
            take(table.get(key))
            if kind == "domain":
                dot = key.find(".")
                while dot != -1:
                    take(table.get(key[dot + 1 :]))
                    dot = key.find(".", dot + 1)
        return [self._refs[position] for position in hits]


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
