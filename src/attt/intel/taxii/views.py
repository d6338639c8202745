"""TAXII 2.1 server (OASIS TAXII Version 2.1, sections 4 and 5) over the intel collections.

One API root, `/taxii2/national/`, holds every collection a user may read or write. Authentication is HTTP
Basic (our users and passwords, with the log-in lock-out) or `Authorization: Bearer <API token>`. Objects
are served only up to the TLP level the reader may receive (collections.rights)."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import uuid
from functools import wraps

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Max, Min, OuterRef, Q, Subquery
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from attt.core.auth import lockout
from attt.core.middleware import client_ip
from attt.intel import collections, stix, store
from attt.intel.models import Collection, StixObject, TaxiiStatus

TAXII = "application/taxii+json;version=2.1"
STIX_MEDIA = "application/stix+json;version=2.1"
ROOT = "national"
MAX_CONTENT_LENGTH = 10 * 1024 * 1024
PAGE_MAX = 1000


class TaxiiError(Exception):
    def __init__(self, status: int, title: str, description: str = ""):
        super().__init__(title)
        self.status, self.title, self.description = status, title, description


def _response(data: dict | None, status: int = 200, headers: dict | None = None) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False) if data is not None else ""
    response = HttpResponse(body, status=status, content_type=TAXII)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error(exc: TaxiiError) -> HttpResponse:
    response = _response(
        {"title": exc.title, "description": exc.description, "http_status": str(exc.status)}, exc.status
    )
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="taxii", Bearer realm="taxii"'
        response.keep_changes = True  # the failed attempt counts toward the lock-out
    return response


def _media_ok(value: str) -> bool:
    """True when an Accept or Content-Type entry names TAXII 2.1 (or leaves the version open)."""
    parts = [p.strip().lower() for p in value.split(";")]
    params = {p.split("=", 1)[0].strip(): p.split("=", 1)[-1].strip() for p in parts[1:] if "=" in p}
    return parts[0] == "application/taxii+json" and params.get("version", "2.1") == "2.1"


def _acceptable(header: str) -> bool:
    if not header.strip():
        return True
    return any(
        entry.split(";")[0].strip() in ("*/*", "application/*") or _media_ok(entry) for entry in header.split(",")
    )


def _user(request):
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, credentials = auth.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            username, _sep, password = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise TaxiiError(401, "Malformed Basic credentials.") from None
        ip = client_ip(request)
        if lockout.is_locked(username, ip):
            raise TaxiiError(401, "Too many failed log-ins.", "Try again later.")
        user = authenticate(request, username=username, password=password)
        if user is None:
            lockout.register_failure(username, ip)
            raise TaxiiError(401, "Wrong user name or password.")
        lockout.clear_failures(username)
        if user.has_totp:  # a password alone must not open what the log-in page guards with a second step
            raise TaxiiError(401, "This account uses two-step verification.", "Use a Bearer API token.")
        return user
    if scheme == "bearer":
        from rest_framework.exceptions import AuthenticationFailed

        from attt.core.api.authentication import BearerTokenAuthentication

        try:
            found = BearerTokenAuthentication().authenticate(request)
        except AuthenticationFailed as exc:
            raise TaxiiError(401, str(exc.detail)) from None
        if found:
            return found[0]
    if request.user.is_authenticated and request.method == "GET":
        # A browser session may read (the UI links here); writes need credentials, as these views skip CSRF.
        return request.user
    raise TaxiiError(401, "Authentication required.", "Use HTTP Basic or a Bearer API token.")


def endpoint(methods: tuple[str, ...]):
    """Method, media type and authentication checks, and TAXII error messages, around a view."""

    def wrap(view):
        @csrf_exempt
        @wraps(view)
        def inner(request, *args, **kwargs):
            try:
                if request.method not in methods:
                    raise TaxiiError(405, "Method not allowed.")
                if not _acceptable(request.META.get("HTTP_ACCEPT", "")):
                    raise TaxiiError(406, "Not acceptable.", f"This server answers {TAXII}.")
                request.user = _user(request)
                return view(request, *args, **kwargs)
            except TaxiiError as exc:
                return _error(exc)

        return inner

    return wrap


def _root_url(request) -> str:
    return request.build_absolute_uri(f"/taxii2/{ROOT}/")


def _check_root(root: str) -> None:
    if root != ROOT:
        raise TaxiiError(404, "No such API root.")


@endpoint(("GET",))
def discovery(request):
    return _response(
        {
            "title": "attt TAXII 2.1",
            "description": "Threat intelligence shared on the national information-security platform.",
            "contact": settings.ATTT_TAXII_CONTACT,
            "default": _root_url(request),
            "api_roots": [_root_url(request)],
        }
    )


@endpoint(("GET",))
def api_root(request, root):
    _check_root(root)
    return _response(
        {
            "title": "National threat intelligence",
            "description": "Collections of the organisations of the platform.",
            "versions": [TAXII],
            "max_content_length": MAX_CONTENT_LENGTH,
        }
    )


def _collection_info(user, collection: Collection) -> dict:
    read, write, _ceiling = collections.rights(user, collection)
    info = {
        "id": str(collection.pk),
        "title": collection.title,
        "can_read": read,
        "can_write": write,
        "media_types": [STIX_MEDIA],
    }
    if collection.description:
        info["description"] = collection.description
    if collection.alias:
        info["alias"] = collection.alias
    return info


@endpoint(("GET",))
def collection_list(request, root):
    _check_root(root)
    found = collections.with_rights(request.user, collections.accessible(request.user).order_by("title", "pk"))
    infos = [_collection_info(request.user, c) for c in found]
    return _response({"collections": infos} if infos else {})


def _collection(request, root, pk, *, write: bool = False) -> tuple[Collection, str | None]:
    _check_root(root)
    try:
        collection = collections.accessible(request.user).get(pk=uuid.UUID(str(pk)))
    except (ValueError, Collection.DoesNotExist):
        raise TaxiiError(404, "No such collection.") from None
    read, can_write, ceiling = collections.rights(request.user, collection)
    if write and not can_write:
        raise TaxiiError(403, "You may not write to this collection.")
    if not write and not read:
        raise TaxiiError(403, "You may not read this collection.")
    return collection, ceiling


@endpoint(("GET",))
def collection_detail(request, root, pk):
    collection, _ceiling = _collection(request, root, pk)
    return _response(_collection_info(request.user, collection))


# --- filtering and paging -------------------------------------------------------------------------


def _timestamp(text: str, what: str) -> datetime.datetime:
    try:
        return stix.parse_timestamp(text, what)
    except ValueError as exc:
        raise TaxiiError(400, "Bad filter.", str(exc)) from None


def _filtered(request, objects, *, versions_default: str = "last"):
    params = request.GET
    if params.get("added_after"):
        objects = objects.filter(date_added__gt=_timestamp(params["added_after"], "added_after"))
    if params.get("match[id]"):
        objects = objects.filter(stix_id__in=params["match[id]"].split(","))
    if params.get("match[type]"):
        objects = objects.filter(type__in=params["match[type]"].split(","))
    if params.get("match[spec_version]"):
        objects = objects.filter(spec_version__in=params["match[spec_version]"].split(","))
    wanted = [v.strip() for v in params.get("match[version]", versions_default).split(",") if v.strip()]
    if "all" in wanted:
        return objects
    condition = Q()
    same_id = objects.filter(stix_id=OuterRef("stix_id")).values("stix_id")
    if "last" in wanted:
        newest = Subquery(same_id.annotate(v=Max("version")).values("v")[:1])
        condition |= Q(version=newest)
    if "first" in wanted:
        oldest = Subquery(same_id.annotate(v=Min("version")).values("v")[:1])
        condition |= Q(version=oldest)
    stamps = [_timestamp(v, "match[version]") for v in wanted if v not in ("last", "first")]
    if stamps:
        condition |= Q(version__in=stamps)
    return objects.filter(condition)


def _limit(request) -> int:
    try:
        limit = int(request.GET.get("limit", PAGE_MAX))
    except ValueError:
        raise TaxiiError(400, "Bad limit.", "limit must be a positive whole number.") from None
    if limit < 1:
        raise TaxiiError(400, "Bad limit.", "limit must be a positive whole number.")
    return min(limit, PAGE_MAX)


def _encode_cursor(row: StixObject, field: str) -> str:
    return base64.urlsafe_b64encode(f"{getattr(row, field).isoformat()}|{row.pk}".encode()).decode().rstrip("=")


def _page(request, objects, field: str = "date_added") -> tuple[list[StixObject], bool, str]:
    """One page in `field` order (date_added; version for the versions list); `next` is a cursor after the
    page's last row, so objects added meanwhile neither repeat nor go missing."""
    objects = objects.order_by(field, "pk")
    token = request.GET.get("next")
    if token:
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            added, _sep, pk = text.partition("|")
            after, after_pk = datetime.datetime.fromisoformat(added).astimezone(datetime.UTC), uuid.UUID(pk)
        except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
            raise TaxiiError(400, "Bad next.", "The next token is not one this server issued.") from None
        objects = objects.filter(Q(**{f"{field}__gt": after}) | Q(**{field: after, "pk__gt": after_pk}))
    limit = _limit(request)
    rows = list(objects[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, more, _encode_cursor(rows[-1], field) if more else ""


def _added(value: datetime.datetime) -> str:
    """date_added to the microsecond, so that a client's next added_after skips exactly what it has seen."""
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _date_headers(rows: list[StixObject]) -> dict:
    if not rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": _added(rows[0].date_added),
        "X-TAXII-Date-Added-Last": _added(rows[-1].date_added),
    }


def _envelope(rows: list[StixObject], more: bool, next_token: str, key: str = "objects", item=None) -> dict:
    if not rows:
        return {}
    data: dict = {"more": more, key: [item(r) if item else r.data for r in rows]}
    if more:
        data["next"] = next_token
    return data


def _readable(collection: Collection, ceiling: str | None):
    return collections.tlp_allowed(StixObject.objects.filter(collection=collection), ceiling)


@endpoint(("GET", "POST"))
def objects(request, root, pk):
    if request.method == "POST":
        return _add_objects(request, root, pk)
    collection, ceiling = _collection(request, root, pk)
    rows, more, token = _page(request, _filtered(request, _readable(collection, ceiling)))
    return _response(_envelope(rows, more, token), headers=_date_headers(rows))


def _add_objects(request, root, pk):
    collection, _ceiling = _collection(request, root, pk, write=True)
    if not _media_ok(request.META.get("CONTENT_TYPE", "")):
        raise TaxiiError(415, "Unsupported media type.", f"Send {TAXII}.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise TaxiiError(400, "Bad request.", "Content-Length is not a number.") from None
    if length > MAX_CONTENT_LENGTH:
        raise TaxiiError(413, "Too large.", f"The API root accepts at most {MAX_CONTENT_LENGTH} bytes.")
    try:
        envelope = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deeper than Python reads
        raise TaxiiError(400, "Bad envelope.", "The body is not JSON.") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise TaxiiError(400, "Bad envelope.", "The body must be an envelope with an “objects” list.")
    with transaction.atomic():  # the stored objects and the indicators they give, together or not at all
        pushed = collections.add_objects(collection, envelope["objects"])
        added = {entry["id"] for entry in pushed.status.successes}
        stored = [o for o in envelope["objects"] if isinstance(o, dict) and isinstance(o.get("id"), str)]
        stored = [o for o in stored if o["id"] in added]
        store.import_objects(collection.organization, stored + pushed.raised, markings=pushed.markings)
    return _response(_status_info(pushed.status), status=202)


def _status_info(status: TaxiiStatus) -> dict:
    return {
        "id": str(status.pk),
        "status": "complete",
        "request_timestamp": stix.timestamp(status.request_timestamp),
        "total_count": len(status.successes) + len(status.failures),
        "success_count": len(status.successes),
        "successes": status.successes,
        "failure_count": len(status.failures),
        "failures": status.failures,
        "pending_count": 0,
        "pendings": [],
    }


@endpoint(("GET", "DELETE"))
def object_detail(request, root, pk, object_id):
    collection, ceiling = _collection(request, root, pk, write=request.method == "DELETE")
    found = _readable(collection, ceiling).filter(stix_id=object_id)
    if request.method == "DELETE":
        targets = _filtered(request, found, versions_default="all")
        if not targets.exists():
            raise TaxiiError(404, "No such object.")
        for row in targets:
            row.delete()
        return _response(None)
    if not found.exists():
        raise TaxiiError(404, "No such object.")
    rows, more, token = _page(request, _filtered(request, found))
    return _response(_envelope(rows, more, token), headers=_date_headers(rows))


@endpoint(("GET",))
def object_versions(request, root, pk, object_id):
    collection, ceiling = _collection(request, root, pk)
    found = _readable(collection, ceiling).filter(stix_id=object_id)
    if not found.exists():
        raise TaxiiError(404, "No such object.")
    if request.GET.get("match[spec_version]"):
        found = found.filter(spec_version__in=request.GET["match[spec_version]"].split(","))
    if request.GET.get("added_after"):
        found = found.filter(date_added__gt=_timestamp(request.GET["added_after"], "added_after"))
    rows, more, token = _page(request, found, "version")
    data = _envelope(rows, more, token, "versions", lambda r: stix.timestamp(r.version, exact=True))
    return _response(data, headers=_date_headers(rows))


@endpoint(("GET",))
def manifest(request, root, pk):
    collection, ceiling = _collection(request, root, pk)
    readable = _readable(collection, ceiling).defer("data")  # a manifest lists objects without their content
    rows, more, token = _page(request, _filtered(request, readable))

    def entry(row: StixObject) -> dict:
        return {
            "id": row.stix_id,
            "date_added": _added(row.date_added),
            "version": stix.timestamp(row.version, exact=True),
            "media_type": STIX_MEDIA,
        }

    return _response(_envelope(rows, more, token, "objects", entry), headers=_date_headers(rows))


@endpoint(("GET",))
def status(request, root, status_id):
    _check_root(root)
    try:
        found = TaxiiStatus.objects.select_related("collection").get(pk=uuid.UUID(str(status_id)))
    except (ValueError, TaxiiStatus.DoesNotExist):
        raise TaxiiError(404, "No such status.") from None
    _read, write, _ceiling = collections.rights(request.user, found.collection)
    if not write:
        raise TaxiiError(404, "No such status.")
    return _response(_status_info(found))
