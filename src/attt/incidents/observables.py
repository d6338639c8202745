"""Validation and normalisation of observables (kinds from intel.sharing.OBSERVABLE_KINDS), so the same
indicator written two ways is one value and its sightings across incidents are found by equality."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from django.utils.translation import gettext as _

from attt.intel.sharing import OBSERVABLE_KINDS

HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
MAX_LENGTH = 2048


def _domain(value: str) -> str:
    name = value.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(_("Not a valid domain name.")) from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels) or labels[-1].isdigit():
        raise ValueError(_("Not a valid domain name."))
    return name


def _url(value: str) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValueError(_("Not a valid URL.")) from None
    if parts.scheme.lower() not in ("http", "https", "ftp") or not host:
        raise ValueError(_("A URL must start with http://, https:// or ftp:// and name a host."))
    try:
        host = str(ipaddress.ip_address(host))
        netloc_host = f"[{host}]" if ":" in host else host
    except ValueError:
        netloc_host = _domain(host)
    netloc = netloc_host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def _email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not _EMAIL_LOCAL.match(local) or local.startswith(".") or ".." in local:
        raise ValueError(_("Not a valid e-mail address."))
    return f"{local}@{_domain(domain)}"


def _phone(value: str) -> str:
    digits = re.sub(r"[\s().-]", "", value.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("0"):
        digits = "+84" + digits[1:]  # a Vietnamese national number
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", digits):
        raise ValueError(_("Not a valid phone number (E.164, or a Vietnamese number starting with 0)."))
    return digits


def _bank_account(value: str) -> str:
    text = re.sub(r"[\s-]", "", value.strip()).upper()
    if not re.fullmatch(r"(?:[A-Z]{2,11}:)?[0-9A-Z]{6,34}", text):
        raise ValueError(_("Not a valid bank account (6–34 letters or digits, optionally 'BANK:' before)."))
    return text


def normalise(kind: str, value: str) -> str:
    """The canonical form of `value` as an observable of `kind`; ValueError with a sentence otherwise."""
    if kind not in OBSERVABLE_KINDS:
        raise ValueError(_("Unknown observable kind %(kind)r.") % {"kind": kind})
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LENGTH:
        raise ValueError(_("An observable needs a value of at most %(n)s characters.") % {"n": MAX_LENGTH})
    if kind in ("ipv4", "ipv6"):
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            raise ValueError(_("Not a valid IP address.")) from None
        if address.version != int(kind[-1]):
            raise ValueError(_("This is not an %(kind)s address.") % {"kind": kind.upper()})
        return str(address)
    if kind in HEX_LENGTHS:
        text = value.strip().lower()
        if not re.fullmatch(rf"[0-9a-f]{{{HEX_LENGTHS[kind]}}}", text):
            raise ValueError(
                _("A %(kind)s hash is %(n)s hexadecimal digits.") % {"kind": kind.upper(), "n": HEX_LENGTHS[kind]}
            )
        return text
    return {"domain": _domain, "url": _url, "email": _email, "phone": _phone, "bank_account": _bank_account}[kind](
        value
    )
