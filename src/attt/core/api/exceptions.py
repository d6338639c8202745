"""Every API error as application/problem+json (RFC 9457), with a translated message."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM = "application/problem+json"


def _title(exc) -> str:
    titles = {
        exceptions.ValidationError: _("Invalid input"),
        exceptions.ParseError: _("Malformed request"),
        exceptions.NotAuthenticated: _("Authentication required"),
        exceptions.AuthenticationFailed: _("Authentication failed"),
        exceptions.PermissionDenied: _("Forbidden"),
        exceptions.NotFound: _("Not found"),
        exceptions.MethodNotAllowed: _("Method not allowed"),
        exceptions.UnsupportedMediaType: _("Unsupported media type"),
        exceptions.Throttled: _("Too many requests"),
    }
    for cls, title in titles.items():
        if isinstance(exc, cls):
            return title
    return _("Request failed")


def problem(status_code: int, title: str, detail: str, **extra) -> dict:
    return {"type": "about:blank", "title": title, "status": status_code, "detail": detail, **extra}


def _unique_violation(exc: Exception) -> bool:
    """A unique constraint refused the row (SQLite's message; PostgreSQL's SQLSTATE 23505), as opposed to other
    integrity errors, which are defects and stay 500s."""
    if not isinstance(exc, IntegrityError):
        return False
    return getattr(exc.__cause__, "sqlstate", None) == "23505" or str(exc).startswith("UNIQUE constraint failed")


def problem_exception_handler(exc, context):
    if _unique_violation(exc):  # a check a serializer could not make (a field it does not take is in the key)
        body = problem(
            status.HTTP_409_CONFLICT,
            _("Conflict"),
            _("This change clashes with a record that already exists: a value here must be unique."),
        )
        return Response(body, status=409, content_type=PROBLEM)
    if isinstance(exc, ProtectedError | RestrictedError):
        body = problem(
            status.HTTP_409_CONFLICT,
            _("Conflict"),
            _("This object is still referenced by other records and cannot be deleted."),
        )
        return Response(body, status=409, content_type=PROBLEM)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = problem(response.status_code, _title(exc), _("One or more fields are invalid."), errors=response.data)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
        body = problem(response.status_code, _title(exc), str(detail))
    response.data = body
    response.content_type = PROBLEM
    return response


def json_not_found(request, exception=None):
    """Django's 404 for /api/ paths that match no route, in the same problem shape."""
    body = problem(404, _("Not found"), _("No API endpoint at this address."))
    return JsonResponse(body, status=404, content_type=PROBLEM)
