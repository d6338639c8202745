"""The matcher: components (CPE, purl, or mapped text) against the criteria of the corpus.

Criteria are indexed in memory by (vendor, product), with their version bounds already turned into
sort keys and sorted by range bounds, so one component version finds its candidate criteria by bisection
instead of by scanning the product; components are matched once per distinct (key, version, attributes)
however many systems run them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
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


# Larger than any version key (their first token's tag is at most 4): an open upper bound.
_TOP = ((9,),)


class _ProductIndex:
    """The criteria of one (vendor, product), split by what a component version can select them by:

    - `always`: version `*` and no range (any version, known or not);
    - `na`: version `-` (only components without a version);
    - `patterns`: versions with wildcards (rare; scanned);
    - `exact`: version key → criteria of that exact version;
    - ranges sorted by lower bound and, separately, by upper bound: a version v can only lie in ranges
      whose lower bound ≤ v and whose upper bound ≥ v, so two bisections give both candidate sets and
      only the smaller one is checked.
    Every candidate is still confirmed by `Indexed.matches`, so the index only narrows, never decides.
    """

    __slots__ = ("always", "by_high", "by_low", "exact", "highs", "lows", "na", "patterns")

    def __init__(self, rows: list[Indexed]) -> None:
        self.always: list[Indexed] = []
        self.na: list[Indexed] = []
        self.patterns: list[Indexed] = []
        self.exact: dict[tuple, list[Indexed]] = defaultdict(list)
        ranged: list[tuple[tuple, tuple, Indexed]] = []
        for row in rows:
            version = row.criterion.version
            if version == NA:
                self.na.append(row)
            elif row.version_key is not None:
                self.exact[row.version_key].append(row)
            elif version != ANY:
                self.patterns.append(row)
            elif not row.has_range:
                self.always.append(row)
            else:
                si, se, ei, ee = row.bounds
                low = si if si is not None else (se if se is not None else ())
                high = ei if ei is not None else (ee if ee is not None else _TOP)
                ranged.append((low, high, row))
        by_low = sorted(ranged, key=lambda item: item[0])
        by_high = sorted(ranged, key=lambda item: item[1])
        self.lows = [item[0] for item in by_low]
        self.by_low = [item[2] for item in by_low]
        self.highs = [item[1] for item in by_high]
        self.by_high = [item[2] for item in by_high]

    def candidates(self, version: str) -> list[Indexed]:
        out = list(self.always)
        out.extend(self.patterns)
        if version == NA or version == "":
            out.extend(self.na)
            return out
        if version in UNKNOWN_VERSIONS:
            return out
        vkey = version_key(version)
        out.extend(self.exact.get(vkey, ()))
        if self.lows:
            below = bisect_right(self.lows, vkey)  # by_low[:below] start at or before v
            above = bisect_left(self.highs, vkey)  # by_high[above:] end at or after v
            if below <= len(self.highs) - above:
                out.extend(self.by_low[:below])
            else:
                out.extend(self.by_high[above:])
        return out


class CriteriaIndex:
    def __init__(self) -> None:
        self.by_product: dict[tuple[str, str], list[Indexed]] = defaultdict(list)
        self.size = 0
        self._sorted: dict[tuple[str, str], _ProductIndex] = {}
        self._products_of: dict[object, set[tuple[str, str]]] = defaultdict(set)

    def add(self, vuln_id, criterion: Criterion) -> None:
        product = (criterion.vendor, criterion.product)
        self.by_product[product].append(Indexed.of(vuln_id, criterion))
        self._products_of[vuln_id].add(product)
        self._sorted.pop(product, None)
        self.size += 1

    def discard(self, vuln_ids: set) -> None:
        """Drop the criteria of these vulnerabilities; only the products they named are touched."""
        products = set().union(*(self._products_of.pop(v, ()) for v in vuln_ids)) if vuln_ids else set()
        for key in products:
            rows = self.by_product.get(key, [])
            kept = [r for r in rows if r.vuln_id not in vuln_ids]
            if len(kept) != len(rows):
                self.size -= len(rows) - len(kept)
                self.by_product[key] = kept
                self._sorted.pop(key, None)

    def _product(self, product: tuple[str, str]) -> _ProductIndex | None:
        found = self._sorted.get(product)
        if found is None:
            rows = self.by_product.get(product)
            if not rows:
                return None
            found = self._sorted[product] = _ProductIndex(rows)
        return found

    def may_match_cpe(self, cpe23: str) -> bool:
        """False only when `cpe23` certainly parses (so `key_of` would key the component by it) and
        names a product without criteria: such a component is skipped without building its key."""
        if not cpe23.startswith("cpe:2.3:") or "\\" in cpe23:
            return True
        parts = cpe23.strip().lower().split(":")
        if len(parts) != 13 or parts[2] not in ("a", "o", "h", ANY) or not parts[3] or not parts[4]:
            return True
        return bool(self.by_product.get((parts[3], parts[4])))

    def lookup(self, key: ComponentKey) -> list[Indexed]:
        """Criteria (vulnerable and platform) that the component matches: the product's criteria are
        narrowed by bisecting on the version, then each candidate is checked."""
        index = self._product((key.vendor, key.product))
        if index is None:
            return []
        return [row for row in index.candidates(key.version) if row.matches(key)]

    def scan(self, key: ComponentKey) -> list[Indexed]:
        """The same answer by checking every criterion of the product (reference and benchmark baseline)."""
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
