"""Validators for the identifiers the registry stores: CPE 2.3 names, package URLs, host names, CIDR blocks.

Vulnerability matching (vulns) and event enrichment (monitoring) read these values as keys, so a
malformed one is refused when it is entered rather than silently never matching later.
"""

import ipaddress
import re
from urllib.parse import unquote

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# --- CPE 2.3 formatted string (NISTIR 7695 §6.2; the pattern of the official cpe-naming_2.3.xsd) ------------

CPE_ATTRIBUTES = (
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
# Printable non-alphanumeric characters other than '-', '.', '_' must be quoted with a backslash.
_CPE_QUOTED = r"\\[\\*?!\"#$%&'()+,/:;<=>@\[\]^`{|}~]"
_CPE_VALUE = re.compile(rf"(?:\?*|\*?)(?:[a-zA-Z0-9\-._]|{_CPE_QUOTED})+(?:\?*|\*?)|[*\-]")
_CPE_LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?|[*\-]")


def cpe_quote(text: str) -> str:
    """A value as a CPE 2.3 formatted string writes it: signs other than '-', '.', '_' quoted with '\\'."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-._") else "\\" + ch for ch in text)


def split_cpe23(value: str) -> list[str]:
    """Split a formatted string on its unquoted colons (a quoted colon '\\:' belongs to a value)."""
    parts, start = [], 0
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\":
            i += 2
            continue
        if char == ":":
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return parts


def validate_cpe23(value: str) -> None:
    """A CPE 2.3 formatted string: 'cpe:2.3:' then the 11 attributes, 13 colon-separated parts in all."""
    if not value:
        return
    if not value.startswith("cpe:2.3:"):
        raise ValidationError(_("A CPE 2.3 name starts with 'cpe:2.3:'."), code="cpe_prefix")
    if any(ch.isspace() for ch in value):
        raise ValidationError(_("A CPE 2.3 name contains no spaces."), code="cpe_space")
    parts = split_cpe23(value)
    if len(parts) != 13:
        raise ValidationError(
            _("A CPE 2.3 name has 13 colon-separated parts (found %(count)s); quote a colon inside a value as '\\:'."),
            params={"count": len(parts)},
            code="cpe_parts",
        )
    values = dict(zip(CPE_ATTRIBUTES, parts[2:], strict=True))
    if values["part"] not in {"a", "o", "h", "*", "-"}:
        raise ValidationError(
            _("The part of a CPE name is 'a' (application), 'o' (operating system) or 'h' (hardware)."),
            code="cpe_part",
        )
    for attribute, text in values.items():
        if attribute == "part":
            continue
        pattern = _CPE_LANGUAGE if attribute == "language" else _CPE_VALUE
        if not pattern.fullmatch(text):
            raise ValidationError(
                _(
                    "The %(attribute)s of the CPE name, '%(value)s', is not valid: use letters, digits, '-', '.', "
                    "'_', a backslash before any other sign, '*' for any value and '-' for not applicable."
                ),
                params={"attribute": attribute, "value": text[:60]},
                code="cpe_value",
            )


# --- Package URL (github.com/package-url/purl-spec) --------------------------------------------------------

_PURL_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9.+\-]*")
_PURL_KEY = re.compile(r"[A-Za-z][A-Za-z0-9.\-_]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def validate_purl(value: str) -> None:
    """A package URL 'pkg:type/namespace/name@version?qualifiers#subpath' (name required)."""
    if not value:
        return

    def fail(message, **params):
        raise ValidationError(message, params=params or None, code="purl")

    if not value.startswith("pkg:"):
        fail(_("A package URL starts with 'pkg:'."))
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        fail(_("A package URL contains no spaces or control characters (encode them as %20 and so on)."))
    if _BAD_PERCENT.search(value):
        fail(_("A '%' in a package URL must be followed by two hexadecimal digits."))
    rest, _hash, subpath = value[4:].partition("#")
    rest, _question, qualifiers = rest.partition("?")
    kind, slash, remainder = rest.lstrip("/").partition("/")
    if not _PURL_TYPE.fullmatch(kind):
        fail(_("The type of a package URL (after 'pkg:') is letters, digits, '.', '+' or '-', starting with a letter."))
    if not slash or not remainder.strip("/"):
        fail(_("A package URL names the package: 'pkg:%(type)s/name'."), type=kind)
    path, at, version = remainder.rpartition("@") if "@" in remainder.split("/")[-1] else (remainder, "", "")
    if at and not version:
        fail(_("The version after '@' is empty."))
    if any(not unquote(s) for s in path.strip("/").split("/")):
        fail(_("A package URL has an empty namespace or name segment."))
    if qualifiers:
        keys = set()
        for pair in qualifiers.split("&"):
            key, equals, qualifier_value = pair.partition("=")
            if not equals or not _PURL_KEY.fullmatch(key) or not qualifier_value:
                fail(_("A qualifier of a package URL is 'key=value' with a key of letters, digits, '.', '-', '_'."))
            if key.lower() in keys:
                fail(_("The qualifier '%(key)s' appears twice."), key=key)
            keys.add(key.lower())
    if subpath and any(s in {"", ".", ".."} for s in subpath.strip("/").split("/")):
        fail(_("The subpath of a package URL has no empty, '.' or '..' segment."))


# --- Host and domain names (IDN allowed) -------------------------------------------------------------------

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")


def to_ascii_hostname(value: str) -> str:
    """The ASCII (punycode) form of a host name, lower case, without a trailing dot."""
    try:
        return value.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValidationError(
            _("'%(value)s' is not a valid host name."), params={"value": value[:100]}, code="hostname"
        ) from exc


def validate_hostname(value: str, *, require_dot: bool = False) -> None:
    """A DNS host name; labels of 1–63 letters, digits or hyphens; Vietnamese (IDN) names allowed."""
    if not value:
        return
    invalid = ValidationError(
        _("'%(value)s' is not a valid host name."), params={"value": value[:100]}, code="hostname"
    )
    if any(ch.isspace() for ch in value) or value.startswith("."):
        raise invalid
    ascii_name = to_ascii_hostname(value)
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise invalid
    if require_dot:
        if len(labels) < 2:
            raise ValidationError(
                _("A domain name has at least two labels, e.g. 'dichvucong.example.gov.vn'."), code="domain"
            )
        if labels[-1].isdigit():
            raise ValidationError(_("A domain name does not end in a number (is it an IP address?)."), code="domain")


def validate_domain(value: str) -> None:
    validate_hostname(value, require_dot=True)


def normalise_domain(value: str) -> str:
    """A domain name as stored: lower case, without a trailing dot (so 'A.gov.vn.' and 'a.gov.vn' are one)."""
    return value.strip().rstrip(".").lower()


# --- Networks ----------------------------------------------------------------------------------------------


def parse_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An IPv4 or IPv6 network in CIDR notation (a single address is a /32 or /128)."""
    text = value.strip()
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValidationError(
                _("'%(value)s' is not an IPv4 or IPv6 network in CIDR notation (e.g. 192.0.2.0/24, 2001:db8::/32)."),
                params={"value": value[:60]},
                code="cidr",
            ) from exc
        raise ValidationError(
            _("'%(value)s' has host bits set: did you mean %(network)s?"),
            params={"value": value[:60], "network": str(loose)},
            code="cidr_host_bits",
        ) from exc


def validate_cidr(value: str) -> None:
    if value:
        parse_network(value)


def normalise_cidr(value: str) -> str:
    """A network as stored: the `ipaddress` notation ('2001:DB8:0::/32' is '2001:db8::/32')."""
    return str(parse_network(value))


_PHONE = re.compile(r"\+?[0-9(][0-9 ().\-]{4,30}")


def validate_phone(value: str) -> None:
    if value and not _PHONE.fullmatch(value.strip()):
        raise ValidationError(
            _("A phone number is digits, spaces, '+', '(', ')', '.', '-' (e.g. +84 24 3123 4567)."), code="phone"
        )


@deconstructible
class ChoiceListValidator:
    """A JSON list whose items must be distinct codes from `allowed` (deconstructible for migrations)."""

    def __init__(self, allowed: list[str] | tuple[str, ...]):
        self.allowed = tuple(allowed)

    def __call__(self, value) -> None:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError(_("Expected a list of codes."), code="list")
        unknown = [item for item in value if item not in self.allowed]
        if unknown:
            raise ValidationError(
                _("Unknown value(s): %(values)s. Allowed: %(allowed)s."),
                params={"values": ", ".join(unknown[:5]), "allowed": ", ".join(self.allowed)},
                code="choice",
            )
        if len(set(value)) != len(value):
            raise ValidationError(_("A value is listed twice."), code="duplicate")

    def __eq__(self, other) -> bool:
        return isinstance(other, ChoiceListValidator) and other.allowed == self.allowed

    def __hash__(self) -> int:
        return hash(self.allowed)
