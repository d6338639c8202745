"""Lock-out after repeated failed log-ins, counted in the database so every server process agrees.

Failures are counted per browser that a person once logged in from (its device cookie, OWASP's "device cookies"
scheme) apart from those of every other client: anyone can send five wrong passwords for a known user name, and
a per-name count alone then kept the person locked out for as long as the attacker kept going. Clients without
the person's device cookie share the per-name count and the per-address count; a device cookie has its own."""

import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

from attt.core.models import LoginAttempt

DEVICE_SALT = "attt.core.auth.device"


def _window_start():
    return timezone.now() - timedelta(minutes=settings.ATTT_LOGIN_LOCKOUT_MINUTES)


def address_source(ip: str | None) -> str | None:
    """What the per-address limit counts: an IPv4 address, or the /64 of an IPv6 one (one subscriber's share:
    counted one by one, a single attacker would have 2^64 fresh addresses)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:  # none, or a server's own word for a socket
        return None
    if address.version == 4:
        return ip
    if address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)


def known_device(request, username: str) -> str:
    """The id of the request's device cookie when it was given to `username` at a log-in within
    `ATTT_DEVICE_COOKIE_DAYS`; '' for any other client (no cookie, a forged or expired one, another person's)."""
    value = request.COOKIES.get(settings.ATTT_DEVICE_COOKIE_NAME)
    if not value:
        return ""
    try:
        data = signing.loads(value, salt=DEVICE_SALT, max_age=timedelta(days=settings.ATTT_DEVICE_COOKIE_DAYS))
    except signing.BadSignature:
        return ""
    if not isinstance(data, dict) or data.get("user") != username.lower():
        return ""
    device = data.get("device")
    return device if isinstance(device, str) and len(device) == 32 else ""


def remember_device(response, username: str, device: str) -> None:
    """After a log-in: the browser keeps (or gets) the device cookie of this person, valid for another
    `ATTT_DEVICE_COOKIE_DAYS`. It opens nothing; it only takes the browser out of the count of unknown clients."""
    value = signing.dumps({"user": username.lower(), "device": device or secrets.token_hex(16)}, salt=DEVICE_SALT)
    response.set_cookie(
        settings.ATTT_DEVICE_COOKIE_NAME,
        value,
        max_age=settings.ATTT_DEVICE_COOKIE_DAYS * 24 * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def is_locked(username: str, ip: str | None, device: str = "") -> bool:
    """Whether a try for `username` is refused: from a device cookie, when that device failed too often; from any
    other client, when the unknown clients failed too often for this name or from this address."""
    recent = LoginAttempt.objects.filter(created_at__gte=_window_start(), device=device)
    if recent.filter(username=username.lower()).count() >= settings.ATTT_LOGIN_MAX_FAILURES:
        return True
    source = address_source(ip)
    return (
        not device
        and bool(source)
        and recent.filter(ip_address=source).count() >= settings.ATTT_LOGIN_MAX_FAILURES_PER_IP
    )


def register_failure(username: str, ip: str | None, device: str = "") -> None:
    LoginAttempt.objects.create(username=username.lower()[:150], ip_address=address_source(ip), device=device)


def clear_failures(username: str, device: str = "") -> None:
    """Forget the failed attempts of the client a person just got in from (their device, or the unknown clients
    when they used none): an attacker's count against the name is not wiped by the person's own log-in. The
    delete locks those rows, and the request goes on to audited writes (a last login, a TAXII push): the audit
    chain's lock comes first (docs/architecture.md)."""
    from attt.core import audit

    attempts = LoginAttempt.objects.filter(username=username.lower(), device=device)
    if attempts.exists():
        audit.lock_chain()
        attempts.delete()


def purge_old() -> int:
    return LoginAttempt.objects.filter(created_at__lt=_window_start() - timedelta(days=1)).delete()[0]
