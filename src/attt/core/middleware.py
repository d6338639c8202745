"""Request-wide context: who is acting (for the audit log), and one transaction per write request."""

import ipaddress

from django.conf import settings
from django.db import transaction

from attt.core.audit import audit_context

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def client_ip(request) -> str | None:
    """The address the nearest trusted proxy saw (the lock-outs, the public forms' limits and the audit log count
    by it): the entry that many places from the right of X-Forwarded-For, since a client can write any entries
    of its own to the left of what the proxies append. An entry that is no address (more proxies trusted than there
    are) is not taken: it would fail PostgreSQL's address columns and be a fresh 'address' at every request."""
    proxies = int(settings.ATTT_TRUST_X_FORWARDED_FOR)
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if proxies and forwarded and (address := _address(forwarded[-min(proxies, len(forwarded))])):
        return address
    return request.META.get("REMOTE_ADDR") or None


def _address(entry: str) -> str | None:
    """The IP address in a forwarded entry, which some proxies write with the port ("203.0.113.7:51234",
    "[2001:db8::1]:443"); None if there is none."""
    host, colon, port = entry.rpartition(":")
    for candidate in (entry, host.strip("[]") if colon and port.isdigit() else None):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(request=request, ip_address=client_ip(request)):
            return self.get_response(request)


class AtomicWritesMiddleware:
    """A write request changes everything or nothing: an error response rolls its changes back.

    Reads stay outside transactions so they never take SQLite's write lock.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS:
            return self.get_response(request)
        with transaction.atomic():
            response = self.get_response(request)
            if response.status_code >= 400 and not getattr(response, "keep_changes", False):
                transaction.set_rollback(True)
            return response


class LanguageMiddleware:
    """Vietnamese unless the person chose otherwise: the language cookie (the switch in the top bar),
    then the user's saved preference. The browser's Accept-Language is deliberately not consulted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import translation

        codes = {code for code, _ in settings.LANGUAGES}
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen not in codes:
            user = getattr(request, "user", None)
            chosen = getattr(user, "language", None) if user is not None and user.is_authenticated else None
        language = chosen if chosen in codes else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
