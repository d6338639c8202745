"""Addresses and names to registry systems at line rate: an in-memory longest-prefix index of the registry's IP
ranges and server addresses, and a suffix index of its domains, rebuilt from registry services on a timer.
Pure Python (no Django) so workers and benchmarks share it; `services.enrichment_index()` loads it."""

from __future__ import annotations

import ipaddress
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from attt.monitoring.pipeline import NormalisedEvent


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """What enrichment adds to an event about the system it concerns."""

    system_id: uuid.UUID
    organization_id: uuid.UUID
    name: str = ""
    sector: str = ""
    level: int | None = None


class EnrichmentIndex:
    """Longest-prefix match over IPv4/IPv6 networks (one dict per prefix length present, longest first) and
    parent-domain match over names."""

    def __init__(self) -> None:
        self._v4: dict[int, dict[int, SystemInfo]] = {}
        self._v6: dict[int, dict[int, SystemInfo]] = {}
        self._domains: dict[str, SystemInfo] = {}
        self._v4_lengths: list[int] = []
        self._v6_lengths: list[int] = []

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
        return index

    def __len__(self) -> int:
        return sum(map(len, self._v4.values())) + sum(map(len, self._v6.values())) + len(self._domains)

    def address(self, text: str) -> SystemInfo | None:
        try:
            key, bits, tables, lengths = (
                int.from_bytes(socket.inet_pton(socket.AF_INET, text)),
                32,
                self._v4,
                self._v4_lengths,
            )
        except OSError:
            try:
                key = int.from_bytes(socket.inet_pton(socket.AF_INET6, text))
            except OSError:
                return None
            bits, tables, lengths = 128, self._v6, self._v6_lengths
        for length in lengths:
            found = tables[length].get(key >> (bits - length) << (bits - length))
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
        (addresses before names)."""
        if not (self._v4 or self._v6 or self._domains):
            return
        for event in events:
            info = None
            for kind, value in event.observables:
                if kind in ("ipv4", "ipv6"):
                    info = self.address(value)
                elif kind == "domain" and self._domains:
                    info = self.domain(value)
                if info is not None:
                    break
            if info is None:
                host = event.ecs.get("host")
                name = host.get("name") or host.get("hostname") if isinstance(host, dict) else None
                info = self.domain(name) if isinstance(name, str) and self._domains else None
            if info is not None:
                event.system_id = info.system_id
                event.ecs["attt"] = {
                    "system": {
                        "id": str(info.system_id),
                        "name": info.name,
                        "organization_id": str(info.organization_id),
                        "priority_sector": info.sector,
                        "level": info.level,
                    }
                }
