"""Lock-out after repeated failed log-ins, counted in the database so every server process agrees."""

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from attt.core.models import LoginAttempt


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


def is_locked(username: str, ip: str | None) -> bool:
    since = _window_start()
    recent = LoginAttempt.objects.filter(created_at__gte=since)
    if recent.filter(username=username.lower()).count() >= settings.ATTT_LOGIN_MAX_FAILURES:
        return True
    source = address_source(ip)
    return bool(source) and recent.filter(ip_address=source).count() >= settings.ATTT_LOGIN_MAX_FAILURES_PER_IP


def register_failure(username: str, ip: str | None) -> None:
    LoginAttempt.objects.create(username=username.lower()[:150], ip_address=address_source(ip))


def clear_failures(username: str) -> None:
    """Forget a person's failed attempts once they got in. The delete locks those rows, and the request goes on
    to audited writes (a last login, a TAXII push): the audit chain's lock comes first (docs/architecture.md)."""
    from attt.core import audit

    attempts = LoginAttempt.objects.filter(username=username.lower())
    if attempts.exists():
        audit.lock_chain()
        attempts.delete()


def purge_old() -> int:
    return LoginAttempt.objects.filter(created_at__lt=_window_start() - timedelta(days=1)).delete()[0]
