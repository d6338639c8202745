"""API of central monitoring: sources (scoped CRUD, token rotation, health) and the bulk NDJSON ingest endpoint,
which authenticates with the source's own token instead of a user."""

import re
import zlib

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.decorators import action
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    ParseError,
    PermissionDenied,
    UnsupportedMediaType,
    ValidationError,
)
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from attt.core.api.base import (
    OrganizationField,
    ScopedModelViewSet,
    ScopedRelatedField,
    StrictModelSerializer,
    scope_action,
)
from attt.monitoring import conf, services
from attt.monitoring.filtersets import SourceFilterSet
from attt.monitoring.forms import EventSearchForm
from attt.monitoring.models import EDITABLE_FIELDS, LogFormat, Source
from attt.monitoring.views import EventSearchThrottle
from attt.registry import services as registry


@extend_schema_field(OpenApiTypes.STR)
class LogFormatField(serializers.ChoiceField):
    """The expected format, documented as a plain string (no shared enum name in the schema)."""


class SourceSerializer(StrictModelSerializer):
    organization = OrganizationField()
    log_format = LogFormatField(choices=LogFormat.choices, required=False)
    systems = ScopedRelatedField(queryset=registry.visible_systems(registry.system_actor()), many=True, required=False)
    token = serializers.SerializerMethodField(help_text="Only in the answer to a creation: shown once.")

    class Meta:
        model = Source
        fields = ["id", *EDITABLE_FIELDS, "token_hint", "last_seen_at", "token", "created_at"]
        read_only_fields = ["id", "token_hint", "last_seen_at", "created_at"]

    def get_token(self, obj) -> str | None:
        return getattr(obj, "_new_token", None)


class SourceViewSet(ScopedModelViewSet):
    """Event sources of the user's organisations. Creating one returns its token once; `rotate_token/` replaces
    it; `health/` gives last seen, events/s, error rate and lag."""

    queryset = Source.objects.select_related("organization").prefetch_related("systems")
    serializer_class = SourceSerializer
    filterset_class = SourceFilterSet

    def perform_create(self, serializer):
        self._check_target(serializer.validated_data.get("organization"))
        source = Source(**{k: v for k, v in serializer.validated_data.items() if k != "systems"})
        source._new_token = source.new_token()
        source.save()
        source.systems.set(serializer.validated_data.get("systems", []))
        serializer.instance = source

    @extend_schema(request=None, responses=inline_serializer("SourceToken", {"token": serializers.CharField()}))
    @action(detail=True, methods=["post"])
    @scope_action("change")
    def rotate_token(self, request, pk=None):
        return Response({"token": services.rotate_token(self.get_object())})

    @extend_schema(
        responses=inline_serializer(
            "SourceHealth",
            {
                "last_seen": serializers.DateTimeField(allow_null=True),
                "events_per_s": serializers.FloatField(),
                "events_1h": serializers.IntegerField(),
                "rejected_1h": serializers.IntegerField(),
                "error_rate": serializers.FloatField(),
                "lag_s": serializers.FloatField(allow_null=True),
                "silent": serializers.BooleanField(),
            },
        )
    )
    @action(detail=True, methods=["get"])
    def health(self, request, pk=None):
        source = self.get_object()
        return Response(services.health([source])[source.pk])


# --- Ingest -----------------------------------------------------------------------------------------------------


def _search_parameters() -> list[OpenApiParameter]:
    """The query parameters, from the form that reads them."""
    kinds = {
        forms.DateTimeField: OpenApiTypes.DATETIME,
        forms.ModelChoiceField: OpenApiTypes.UUID,
        forms.UUIDField: OpenApiTypes.UUID,
        forms.IntegerField: OpenApiTypes.INT,
    }
    return [
        OpenApiParameter(name, kinds.get(type(field), OpenApiTypes.STR), description=str(field.label))
        for name, field in EventSearchForm.base_fields.items()
    ]


class EventViewSet(viewsets.ViewSet):
    """Stored events within the requester's scope, newest first, searched by time, source, system, dataset, host
    and text (the page `/monitoring/events/` reads the same parameters)."""

    throttle_classes = [EventSearchThrottle]

    @extend_schema(
        parameters=_search_parameters(),
        responses=inline_serializer(
            "EventSearch",
            {
                "complete": serializers.BooleanField(
                    help_text="False when the store stopped at its time budget: newer matches may be missing."
                ),
                "count": serializers.IntegerField(),
                "results": inline_serializer(
                    "EventHit",
                    {
                        "source": serializers.UUIDField(),
                        "organization": serializers.UUIDField(),
                        "event": serializers.DictField(help_text="The event's ECS document."),
                    },
                    many=True,
                ),
            },
        ),
    )
    def list(self, request):
        if not services.sees_sources(request.user):
            raise PermissionDenied
        form = EventSearchForm(request.user, request.query_params)
        if not form.is_valid():
            raise DjangoValidationError(form.errors.as_data())  # problem+json naming each field
        found = services.search_events(
            request.user, form.query(), form.cleaned_data["organization"], form.cleaned_data["limit"] or 50
        )
        results = [{"source": h.source_id, "organization": h.organization_id, "event": h.document} for h in found.hits]
        return Response({"complete": found.complete, "count": len(results), "results": results})


class SourceTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer attt_src_…`: the request acts as the source, not as a user."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        source = services.authenticate(parts[1].decode("latin-1"))
        if source is None:
            raise AuthenticationFailed(_("Unknown or inactive source token."))
        return (None, source)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="attt-ingest"'


class SourceTokenScheme(OpenApiAuthenticationExtension):
    target_class = SourceTokenAuthentication
    name = "sourceToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The event source's own token (attt_src_…)."}


class IsSource(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Source)


class SourceThrottle(SimpleRateThrottle):
    """Batches per minute per source (a runaway sender cannot starve the others)."""

    rate = "600/minute"

    def get_cache_key(self, request, view):
        return f"ingest-{request.auth.pk}" if isinstance(request.auth, Source) else None


class RawBodyParser(BaseParser):
    """The body as bytes, read no further than one byte past the batch limit: a sender declaring gigabytes
    cannot make the gateway hold them (`read_body` refuses what is over)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read(conf.max_batch_bytes() + 1) if stream is not None else b""


class LengthRequired(APIException):
    status_code = 411
    default_detail = gettext_lazy("Send the batch with a Content-Length (this server cannot read a chunked body).")
    default_code = "length_required"


def read_body(request) -> bytes:
    """The request body, un-gzipped when sent with Content-Encoding: gzip, within the size limit. A chunked body
    (no Content-Length) is read when the server hands over the whole of it (gunicorn says so), else refused: it
    would otherwise read as empty and be acknowledged as a batch of no lines."""
    limit = conf.max_batch_bytes()
    if "CONTENT_LENGTH" not in request.META and request.headers.get("Transfer-Encoding"):
        if not request.META.get("wsgi.input_terminated"):
            raise LengthRequired
        body = request.META["wsgi.input"].read(limit + 1)
    else:
        body = request.data if isinstance(request.data, bytes) else b""
    if len(body) > limit:
        raise ValidationError({"body": [_("Batch larger than %(n)s bytes.") % {"n": limit}]})
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "gzip" or body[:2] == b"\x1f\x8b":
        body = _gunzip(body, limit)
    elif encoding not in ("identity", ""):  # read as NDJSON, every line would be refused as garbage
        raise UnsupportedMediaType(
            encoding, _("Content-Encoding %(e)s is not taken: send gzip or none.") % {"e": encoding}
        )
    lines = body.count(b"\n") + (not body.endswith(b"\n"))  # the last line may have no LF
    if lines > (most := conf.max_batch_lines()):  # before anything is read or kept
        raise ValidationError({"body": [_("Batch of more than %(n)s lines: send smaller batches.") % {"n": most}]})
    return body


MAX_GZIP_MEMBERS = 10_000  # `cat` of many files, or bgzip's 64 KB blocks (512 in the largest batch)
_GZIP_STEP = 1 << 16
_NOT_ZERO = re.compile(rb"[^\0]")


def _gunzip(data: bytes, limit: int) -> bytes:
    """Every gzip member of the body (`cat a.gz b.gz` is valid gzip) and zero padding after the last, refusing a
    truncated stream: a cut body would otherwise be taken as its readable part and the rest lost without a word
    to the sender. The input is fed in steps, so a body of many tiny members costs time in proportion to its
    size (handing each member the whole rest would copy it once per member)."""
    view, offset, parts, size, members = memoryview(data), 0, [], 0, 0
    while offset < len(data):
        members += 1
        if members > MAX_GZIP_MEMBERS:
            raise ParseError(_("The gzip body has more than %(n)s members.") % {"n": MAX_GZIP_MEMBERS})
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not decompressor.eof:
            if offset >= len(data):
                raise ParseError(_("The gzip body is truncated."))
            step = view[offset : offset + _GZIP_STEP]
            offset += len(step)
            try:
                part = decompressor.decompress(step, limit + 1 - size)
            except zlib.error:
                raise ParseError(_("The body is not valid gzip.")) from None
            size += len(part)
            if size > limit:
                raise ValidationError({"body": [_("Batch larger than %(n)s bytes once decompressed.") % {"n": limit}]})
            parts.append(part)
        offset -= len(decompressor.unused_data)  # the next member's start
        following = _NOT_ZERO.search(data, offset)  # zero padding after the last member, as gzip allows
        offset = following.start() if following else len(data)
    return b"".join(parts)


class IngestView(APIView):
    """Bulk NDJSON (or, for syslog/CEF sources, one message a line), gzip accepted. The answer comes after the
    accepted events are durable: counts of accepted and rejected lines, with a reason per rejected line."""

    authentication_classes = [SourceTokenAuthentication]
    permission_classes = [IsSource]
    throttle_classes = [SourceThrottle]
    parser_classes = [RawBodyParser]

    @extend_schema(
        request={"application/x-ndjson": OpenApiTypes.BINARY},
        responses={
            202: inline_serializer(
                "IngestAck",
                {
                    "accepted": serializers.IntegerField(),
                    "rejected": serializers.IntegerField(),
                    "errors": inline_serializer(
                        "IngestLineError",
                        {"line": serializers.IntegerField(), "reason": serializers.CharField()},
                        many=True,
                    ),
                },
            ),
            400: OpenApiResponse(description="Body unreadable (bad gzip) or too large."),
            401: OpenApiResponse(description="Unknown or inactive source token."),
        },
    )
    def post(self, request):
        body = read_body(request)
        ack = services.accept(request.auth, body)
        return Response(ack, status=status.HTTP_202_ACCEPTED)
