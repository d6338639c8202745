"""CPE 2.3 names and package URLs as the matcher sees them.

Components reach the matcher as a key (part, vendor, product), a version, and the remaining CPE
attributes; criteria of the feeds are parsed into the same shape, so matching is a dictionary lookup
on (vendor, product) followed by version-range and attribute checks.

CPE semantics (NISTIR 7696 name matching, as NVD applies it): in a criterion, `*` (ANY) matches every
value and `-` (NA) only a component that has no value for the attribute; a component attribute left
as `*` is unknown and is not held against the match, except for the version, where an unknown
version matches only criteria that affect every version.
"""

from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import unquote

ATTRIBUTES = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)
ANY, NA = "*", "-"


class CPEError(ValueError):
    """Raised for a string that is not a CPE 2.3 formatted name."""


def _split(value: str) -> list[str]:
    parts, start, i = [], 0, 0
    while i < len(value):
        if value[i] == "\\":
            i += 2
            continue
        if value[i] == ":":
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return parts


def _unquote(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def quote(value: str) -> str:
    """A value as a formatted string writes it: a backslash before every sign but '-', '.' and '_' (NVD's form)."""
    return "".join(ch if ch.isalnum() or ch in "-._" else "\\" + ch for ch in value)


@dataclass(frozen=True)
class CPE:
    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    @property
    def key(self) -> tuple[str, str]:
        return self.vendor, self.product

    def extras(self) -> tuple[str, ...]:
        """The attributes after the version, compared attribute by attribute."""
        return (self.update, self.edition, self.language, self.sw_edition, self.target_sw, self.target_hw, self.other)

    def uri(self) -> str:
        return "cpe:2.3:" + ":".join(getattr(self, a) for a in ATTRIBUTES)


def parse_cpe(value: str) -> CPE:
    """Parse a CPE 2.3 formatted string; values are lower-cased and unquoted (wildcards kept)."""
    if not isinstance(value, str) or not value.startswith("cpe:2.3:"):
        raise CPEError(f"not a CPE 2.3 name: {str(value)[:80]!r}")
    if "\\" not in value:  # nothing quoted (nearly every name): a plain split, nothing to unquote
        parts = value.strip().lower().split(":")
        if len(parts) != 13:
            raise CPEError(f"a CPE 2.3 name has 13 parts: {value[:80]!r}")
        values = parts[2:]
    else:
        parts = _split(value.strip())
        if len(parts) != 13:
            raise CPEError(f"a CPE 2.3 name has 13 parts: {value[:80]!r}")
        values = []
        for raw in parts[2:]:
            raw = raw.lower()
            values.append(raw if raw in (ANY, NA) else _unquote(raw))
    cpe = CPE(*values)
    if cpe.part not in ("a", "o", "h", ANY) or not cpe.vendor or not cpe.product:
        raise CPEError(f"incomplete CPE 2.3 name: {value[:80]!r}")
    return cpe


def attribute_matches(criterion: str, component: str) -> bool:
    """One attribute of a criterion against the component's (see module docstring)."""
    if criterion == ANY or component == ANY:
        return True
    if criterion == NA or component == NA:
        return criterion == component
    if "*" in criterion or "?" in criterion:
        return fnmatchcase(component, criterion)
    return criterion == component


def extras_match(criterion: tuple[str, ...], component: tuple[str, ...]) -> bool:
    return all(attribute_matches(c, v) for c, v in zip(criterion, component, strict=True))


# --- package URLs -----------------------------------------------------------------------------------

# purl (type, namespace, name) → CPE (vendor, product) for well-known packages; an operator adds more
# as reviewed ProductMapping rows (`purl:` keys).
KNOWN_PURLS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("maven", "org.apache.logging.log4j", "log4j-core"): ("apache", "log4j"),
    ("maven", "org.apache.struts", "struts2-core"): ("apache", "struts"),
    ("maven", "org.springframework", "spring-core"): ("vmware", "spring_framework"),
    ("maven", "org.springframework", "spring-beans"): ("vmware", "spring_framework"),
    ("maven", "com.fasterxml.jackson.core", "jackson-databind"): ("fasterxml", "jackson-databind"),
    ("npm", "", "lodash"): ("lodash", "lodash"),
    ("pypi", "", "django"): ("djangoproject", "django"),
    ("pypi", "", "pillow"): ("python", "pillow"),
    ("composer", "wordpress", "wordpress"): ("wordpress", "wordpress"),
}


@dataclass(frozen=True)
class PURL:
    type: str
    namespace: str
    name: str
    version: str

    @property
    def package(self) -> str:
        return f"{self.type}/{self.namespace}/{self.name}" if self.namespace else f"{self.type}/{self.name}"


def parse_purl(value: str) -> PURL:
    """pkg:type/namespace/name@version (qualifiers and subpath dropped)."""
    if not isinstance(value, str) or not value.startswith("pkg:"):
        raise CPEError(f"not a package URL: {str(value)[:80]!r}")
    body = value[4:].split("#", 1)[0].split("?", 1)[0]
    version = ""
    if "@" in body:
        body, version = body.rsplit("@", 1)
    segments = [unquote(s) for s in body.strip("/").split("/") if s]
    if len(segments) < 2:
        raise CPEError(f"a package URL needs a type and a name: {value[:80]!r}")
    ptype = segments[0].lower()
    name = segments[-1]
    namespace = "/".join(segments[1:-1])
    if ptype in ("pypi", "npm", "github", "composer"):
        name, namespace = name.lower(), namespace.lower()
    if ptype == "pypi":
        name = name.replace("_", "-")
    return PURL(ptype, namespace, name, unquote(version))


def normalise_text(text: str) -> str:
    """Free text as CPE writes it: lower case, spaces as underscores."""
    return "_".join(text.strip().lower().split())
