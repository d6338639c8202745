"""Addresses and names to registry systems at line rate: an in-memory longest-prefix index of the registry's IP
ranges and server addresses, and a suffix index of its domains, rebuilt from registry services on a timer.
Pure Python (no Django) so workers and benchmarks share it; `services.enrichment_index()` loads it."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from socket import AF_INET, AF_INET6, inet_pton

from attt.monitoring.pipeline import NormalisedEvent


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """What enrichment adds to an event about the system it concerns."""

    system_id: uuid.UUID
    organization_id: uuid.UUID
    name: str = ""
    sector: str = ""
    level: int | None = None

    def block(self) -> dict:
        """The ECS `attt.system` block: a new dict each time (consumers may change their event's copy)."""
        return dict(_block(self))


@lru_cache(maxsize=65_536)  # bounded: a worker runs for months and the registry's systems change meanwhile
def _block(info: SystemInfo) -> dict:
    return {
        "id": str(info.system_id),
        "name": info.name,
        "organization_id": str(info.organization_id),
        "priority_sector": info.sector,
        "level": info.level,
    }


MEMO_LIMIT = 262_144  # remembered addresses and names per index


class EnrichmentIndex:
    """Longest-prefix match over IPv4/IPv6 networks (one dict per prefix length present, longest first) and
    parent-domain match over names."""

    def __init__(self) -> None:
        self._v4: dict[int, dict[int, SystemInfo]] = {}
        self._v6: dict[int, dict[int, SystemInfo]] = {}
        self._domains: dict[str, SystemInfo] = {}
        self._v4_lengths: list[int] = []
        self._v6_lengths: list[int] = []
        self._v4_tables: list[tuple[int, dict[int, SystemInfo]]] = []  # (prefix length, table), longest first
        self._addresses: dict[str, SystemInfo | None] = {}  # remembered answers (see `enrich`)
        self._names: dict[str, SystemInfo | None] = {}

    @classmethod
    def build(
        cls, networks: Iterable[tuple[str, SystemInfo]], domains: Iterable[tuple[str, SystemInfo]] = ()
    ) -> EnrichmentIndex:
        index = cls()
        for cidr, info in networks:
            network = ipaddress.ip_network(cidr, strict=False)
            table = index._v4 if network.version == 4 else index._v6
            table.setdefault(network.prefixlen, {}).setdefault(int(network.network_address), info)
        for name, info in domains:
            index._domains.setdefault(name.lower().rstrip("."), info)
        index._v4_lengths = sorted(index._v4, reverse=True)
        index._v6_lengths = sorted(index._v6, reverse=True)
        index._v4_tables = [(length, index._v4[length]) for length in index._v4_lengths]
        return index

    def __len__(self) -> int:
        return sum(map(len, self._v4.values())) + sum(map(len, self._v6.values())) + len(self._domains)

    def address(self, text: str) -> SystemInfo | None:
        """The system of an address; None for text that is not one (inet_pton refuses a NUL with ValueError)."""
        try:
            return self._address_v4(inet_pton(AF_INET, text))
        except (OSError, ValueError):
            pass
        try:
            key = int.from_bytes(inet_pton(AF_INET6, text))
        except (OSError, ValueError):
            return None
        for length in self._v6_lengths:
            found = self._v6[length].get(key >> (128 - length) << (128 - length))
            if found is not None:
                return found
        return None

    def _address_v4(self, packed: bytes) -> SystemInfo | None:
        key = int.from_bytes(packed)
        for length, table in self._v4_tables:
            found = table.get(key >> (32 - length) << (32 - length))
            if found is not None:
                return found
        return None

    def domain(self, name: str) -> SystemInfo | None:
        name = name.lower().rstrip(".")
        while name:
            found = self._domains.get(name)
            if found is not None:
                return found
            name = name.partition(".")[2]
        return None

    def enrich(self, events: list[NormalisedEvent]) -> None:
        """Set `system_id` and the ECS `attt.system` block from the first observable that maps to a system
        (addresses before names). Logs repeat the same addresses and hosts batch after batch, so each value's
        answer is remembered (up to `MEMO_LIMIT` values, then forgotten at once; an index never changes once
        built, a new one is built from the registry every five minutes)."""
        if not (self._v4 or self._v6 or self._domains):
            return
        addresses, names = self._addresses, self._names
        if len(addresses) + len(names) >= MEMO_LIMIT:
            addresses.clear()
            names.clear()
        has_domains = bool(self._domains)
        for event in events:
            info = None
            for kind, value in event.observables:
                if kind == "ipv4" or kind == "ipv6":
                    info = addresses.get(value, _UNSEEN)
                    if info is _UNSEEN:
                        info = addresses[value] = self.address(value)
                elif kind == "domain" and has_domains:
                    info = names.get(value, _UNSEEN)
                    if info is _UNSEEN:
                        info = names[value] = self.domain(value)
                if info is not None:
                    break
            if info is None and has_domains:
                name = event.host
                if name is not None:
                    info = names.get(name, _UNSEEN)
                    if info is _UNSEEN:
                        info = names[name] = self.domain(name)
            if info is not None:
                event.set_system(info)


_UNSEEN = object()
