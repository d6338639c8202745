"""The matcher: components (CPE, purl, or mapped text) against the criteria of the corpus.

Criteria are indexed in memory by (vendor, product), with their version bounds already turned into
sort keys, and components are matched once per distinct (key, version, attributes) however many
systems run them, which is what makes a full national rematch take about a second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fnmatch import fnmatchcase

from attt.vulns.cpe import ANY, NA, CPEError, extras_match, normalise_text, parse_cpe, parse_purl
from attt.vulns.feeds import Criterion
from attt.vulns.versions import version_key

UNKNOWN_VERSIONS = {"", ANY}


@dataclass(frozen=True)
class ComponentKey:
    """A component reduced to what matching reads; `how` says where the key came from."""

    part: str
    vendor: str
    product: str
    version: str
    extras: tuple[str, ...]
    how: str  # "cpe", "purl", "mapping"


@dataclass(frozen=True)
class Indexed:
    vuln_id: object
    criterion: Criterion
    version_key: tuple | None
    bounds: tuple  # (start_incl, start_excl, end_incl, end_excl) as keys or None

    @classmethod
    def of(cls, vuln_id, c: Criterion) -> Indexed:
        exact = None
        if c.version not in (ANY, NA) and "*" not in c.version and "?" not in c.version:
            exact = version_key(c.version)
        bounds = tuple(
            version_key(b) if b else None
            for b in (c.start_including, c.start_excluding, c.end_including, c.end_excluding)
        )
        return cls(vuln_id, c, exact, bounds)

    @property
    def has_range(self) -> bool:
        return any(b is not None for b in self.bounds)

    def matches(self, key: ComponentKey) -> bool:
        c = self.criterion
        if c.part != ANY and key.part != ANY and c.part != key.part:
            return False
        if not extras_match(c.extras, key.extras):
            return False
        version = key.version
        if c.version == NA:
            return version in (NA, "")
        if c.version != ANY:
            if version in UNKNOWN_VERSIONS or version == NA:
                return False
            if self.version_key is None:
                return fnmatchcase(version, c.version)
            if version_key(version) != self.version_key:
                return False
        if not self.has_range:
            return True
        if version in UNKNOWN_VERSIONS or version == NA:
            return False
        vkey = version_key(version)
        si, se, ei, ee = self.bounds
        return not (
            (si is not None and vkey < si)
            or (se is not None and vkey <= se)
            or (ei is not None and vkey > ei)
            or (ee is not None and vkey >= ee)
        )


class CriteriaIndex:
    def __init__(self) -> None:
        self.by_product: dict[tuple[str, str], list[Indexed]] = defaultdict(list)
        self.size = 0

    def add(self, vuln_id, criterion: Criterion) -> None:
        self.by_product[(criterion.vendor, criterion.product)].append(Indexed.of(vuln_id, criterion))
        self.size += 1

    def discard(self, vuln_ids: set) -> None:
        for key, rows in list(self.by_product.items()):
            kept = [r for r in rows if r.vuln_id not in vuln_ids]
            if len(kept) != len(rows):
                self.size -= len(rows) - len(kept)
                self.by_product[key] = kept

    def lookup(self, key: ComponentKey) -> list[Indexed]:
        """Criteria (vulnerable and platform) that the component matches."""
        return [row for row in self.by_product.get((key.vendor, key.product), ()) if row.matches(key)]


def key_of(
    *,
    cpe23: str = "",
    purl: str = "",
    vendor: str = "",
    product: str = "",
    version: str = "",
    mappings: dict[str, tuple[str, str, str]] | None = None,
) -> ComponentKey | None:
    """The matching key of a component: its CPE; else its purl (known or reviewed mapping); else its
    vendor/product text through a reviewed mapping. None when nothing reliable is known."""
    mappings = mappings or {}
    if cpe23:
        try:
            cpe = parse_cpe(cpe23)
        except CPEError:
            cpe = None
        if cpe is not None:
            cpe_version = cpe.version
            if cpe_version == ANY and version:
                cpe_version = version.lower()
            return ComponentKey(cpe.part, cpe.vendor, cpe.product, cpe_version, cpe.extras(), "cpe")
    if purl:
        from attt.vulns.cpe import KNOWN_PURLS

        try:
            package = parse_purl(purl)
        except CPEError:
            package = None
        if package is not None:
            mapped = mappings.get(f"purl:{package.package}")
            known = KNOWN_PURLS.get((package.type, package.namespace, package.name))
            if mapped or known:
                part, v, p = mapped or ("a", *known)
                return ComponentKey(part, v, p, (package.version or version).lower(), (ANY,) * 7, "purl")
    if product:
        mapped = mappings.get(text_key(vendor, product))
        if mapped:
            part, v, p = mapped
            return ComponentKey(part, v, p, version.lower(), (ANY,) * 7, "mapping")
    return None


def text_key(vendor: str, product: str) -> str:
    return f"text:{normalise_text(vendor)}|{normalise_text(product)}"
