"""Observable values: recognising their kind and writing them in one canonical form, so the same
indicator imported from a list, a STIX bundle and a MISP event is stored (and matched) once. Incidents
ask for the same form (through `services.normalise_observable`), so an incident's observable, the
indicator it becomes when shared and a detection match are one value.

Every function raises ValueError with a sentence a user can act on (translated: the public incident
form shows it); nothing else escapes. A canonical form is at most MAX_VALUE characters, the columns'
size: checked after normalising, as a URL can grow (an internationalised host, the "/" path added).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from django.utils.translation import gettext as _

from attt.intel.sharing import OBSERVABLE_KINDS

MAX_VALUE = 2048

_HEX = {"md5": 32, "sha1": 40, "sha256": 64}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_URL_SCHEMES = ("http", "https", "ftp", "ftps", "sftp", "ws", "wss")


def _shown(value: str) -> str:
    """A value quoted in a message: a 2,000-character URL would bury the sentence."""
    return value if len(value) <= 100 else value[:100] + "…"


def refang(text: str) -> str:
    """Undo the usual defanging of shared indicators: hxxp://, example[.]com, user[@]host."""
    text = text.strip()
    text = re.sub(r"^hxxp(s?)(://)", r"http\1\2", text, flags=re.IGNORECASE)
    text = re.sub(r"^fxp(://)", r"ftp\1", text, flags=re.IGNORECASE)
    for fanged, plain in (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("[@]", "@"), ("[at]", "@")):
        text = text.replace(fanged, plain)
    return text.replace("[://]", "://").replace("[:]", ":")


def _ip(value: str, version: int) -> str:
    try:
        if "/" in value:
            net = ipaddress.ip_network(value, strict=False)
            if net.version != version:
                raise ValueError
            return str(net.network_address) if net.num_addresses == 1 else str(net)
        address = ipaddress.ip_address(value)
        if address.version != version:
            raise ValueError
        return str(address)
    except ValueError:
        message = _("“%(value)s” is not an IPv%(version)s address or network.")
        raise ValueError(message % {"value": _shown(value), "version": version}) from None


def _domain(value: str) -> str:
    name = value.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(_("“%(value)s” is not a valid domain name.") % {"value": _shown(value)}) from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(_("“%(value)s” is not a valid domain name.") % {"value": _shown(value)})
    if not _TLD.match(labels[-1]):
        message = _("“%(value)s” is not a valid domain name (its last label is not a top-level domain).")
        raise ValueError(message % {"value": _shown(value)})
    return name


def _url(value: str) -> str:
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValueError(_("“%(value)s” is not a valid URL.") % {"value": _shown(value)}) from None
    if parts.scheme.lower() not in _URL_SCHEMES or not host or any(c.isspace() for c in value.strip()):
        message = _("“%(value)s” is not a valid URL (it needs a scheme such as http:// and a host).")
        raise ValueError(message % {"value": _shown(value)})
    try:
        host = _ip(host, 6) if ":" in host else _ip(host, 4) if re.fullmatch(r"[\d.]+", host) else _domain(host)
    except ValueError:
        message = _("“%(value)s” is not a valid URL (its host is not a domain or an IP address).")
        raise ValueError(message % {"value": _shown(value)}) from None
    netloc = f"[{host}]" if ":" in host else host
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment))


def _email(value: str) -> str:
    local, sep, domain = value.strip().rpartition("@")
    message = _("“%(value)s” is not a valid e-mail address.") % {"value": _shown(value)}
    if not sep or not _LOCAL.match(local) or local.startswith(".") or local.endswith("."):
        raise ValueError(message)
    try:
        return f"{local}@{_domain(domain)}"
    except ValueError:
        raise ValueError(message) from None


def _phone(value: str) -> str:
    digits = re.sub(r"[\s().-]", "", value.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+84" + digits[1:]  # Vietnamese national form: 0 + 9 digits
    if not re.fullmatch(r"\+?\d{8,15}", digits):
        message = _("“%(value)s” is not a telephone number (8 to 15 digits, optionally with a leading +).")
        raise ValueError(message % {"value": _shown(value)})
    return digits if digits.startswith("+") else "+" + digits


def _bank_account(value: str) -> str:
    number = re.sub(r"[\s.-]", "", value.strip()).upper()
    if not re.fullmatch(r"[0-9A-Z]{6,34}", number) or not any(c.isdigit() for c in number):
        message = _("“%(value)s” is not a bank account number (6 to 34 letters and digits).")
        raise ValueError(message % {"value": _shown(value)})
    return number


def _hash(kind: str, value: str) -> str:
    text = value.strip().lower()
    if not re.fullmatch(rf"[0-9a-f]{{{_HEX[kind]}}}", text):
        message = _("“%(value)s” is not an %(kind)s hash (%(digits)s hexadecimal digits).")
        raise ValueError(message % {"value": _shown(value), "kind": kind.upper(), "digits": _HEX[kind]})
    return text


def normalise(kind: str, value: str) -> str:
    """The canonical form of `value` as an observable of `kind`, at most MAX_VALUE characters."""
    if kind not in OBSERVABLE_KINDS:
        message = _("“%(kind)s” is not an observable kind; use one of %(kinds)s.")
        raise ValueError(message % {"kind": _shown(str(kind)), "kinds": ", ".join(OBSERVABLE_KINDS)})
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("The %(kind)s value is empty.") % {"kind": kind})
    if len(value) > MAX_VALUE:
        raise ValueError(_("The %(kind)s value is longer than %(n)s characters.") % {"kind": kind, "n": MAX_VALUE})
    if "\x00" in value:
        raise ValueError(_("The %(kind)s value contains a NUL character.") % {"kind": kind})
    value = refang(value)
    if kind in _HEX:
        return _hash(kind, value)
    canonical = {
        "ipv4": lambda v: _ip(v, 4),
        "ipv6": lambda v: _ip(v, 6),
        "domain": _domain,
        "url": _url,
        "email": _email,
        "phone": _phone,
        "bank_account": _bank_account,
    }[kind](value.strip())
    if len(canonical) > MAX_VALUE:
        message = _("The %(kind)s value is longer than %(n)s characters once written in its canonical form.")
        raise ValueError(message % {"kind": kind, "n": MAX_VALUE})
    return canonical


def detect(value: str) -> str:
    """The kind of a bare value from a plain list. Bank account numbers look like telephone numbers, so
    they are never guessed: give the kind explicitly for them."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("The value is empty."))
    text = refang(value)
    lowered = text.lower()
    for kind, length in _HEX.items():
        if len(lowered) == length and re.fullmatch(r"[0-9a-f]+", lowered):
            return kind
    if re.fullmatch(r"[\d.]+(/\d{1,2})?", text) and text.count(".") == 3:
        return "ipv4"
    if ":" in text and re.fullmatch(r"[0-9a-fA-F:.]+(/\d{1,3})?", text):
        return "ipv6"
    if "://" in text:
        return "url"
    if "@" in text:
        return "email"
    if re.fullmatch(r"\+?[\d\s().-]{8,20}", text):
        return "phone"
    if "." in text:
        return "domain"
    message = _("Cannot tell what kind of indicator “%(value)s” is; give the kind explicitly.")
    raise ValueError(message % {"value": _shown(value)})


def parse(value: str, kind: str | None = None) -> tuple[str, str]:
    """(kind, canonical value) of one value, detecting the kind when it is not given."""
    kind = kind or detect(value)
    return kind, normalise(kind, value)
