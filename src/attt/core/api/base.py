"""Base classes every module's API builds on: strict serializers, scoped relations, scoped viewsets."""

from operator import itemgetter

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as drf_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import filters, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied

from attt.core import exports, scoping
from attt.core.api.permissions import view_action
from attt.core.filtersets import ScopedChoices
from attt.core.locks import lock_current, version_of
from attt.core.models import Organization
from attt.core.permissions import model_permission


def scope_action(name: str):
    """Mark a viewset action with the permission action it needs (default: from the HTTP method)."""

    def mark(func):
        func.scope_action = name
        return func

    return mark


class StrictSerializerMixin:
    """Reject fields the endpoint does not know, instead of silently ignoring them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown or read-only field.")] for name in unknown})
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.UUID)
class ScopedRelatedField(serializers.SlugRelatedField):
    """A reference to a scoped object, resolvable only inside the requester's view scope, so an
    object of another organisation is 'not found' rather than revealed."""

    def __init__(self, *, slug_field: str = "pk", **kwargs):
        super().__init__(slug_field=slug_field, **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        queryset = super().get_queryset()
        if request is None:
            return queryset.none()
        return scoping.visible(request.user, queryset)

    def to_representation(self, obj):
        return str(getattr(obj, self.slug_field))

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except (TypeError, ValueError, serializers.ValidationError):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:100])


class KeptRelatedField(ScopedRelatedField):
    """A reference inside the requester's scope, or the one the record holds now (which may have left that scope
    since: a system handed to another owner): a record read and sent back keeps it."""

    def get_queryset(self):
        current = getattr(getattr(self.parent, "instance", None), f"{self.source}_id", None)
        return scoping.or_current(super().get_queryset(), current)


def OrganizationField(**kwargs) -> ScopedRelatedField:
    return ScopedRelatedField(queryset=Organization.objects.all(), **kwargs)


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    pass


class PreconditionFailed(APIException):
    status_code = 412
    default_detail = gettext_lazy(
        "The record was saved by someone else after the version you sent (If-Match): read it again, then send your "
        "change."
    )
    default_code = "precondition_failed"


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the record as read: the change is refused (412) if the record was saved since.",
)


class ScopedFilterSet(ScopedChoices, drf_filters.FilterSet):
    """What `filterset_fields` are built on: a ForeignKey filter chooses only among records the requester sees."""


class ScopedFilterBackend(drf_filters.DjangoFilterBackend):
    filterset_base = ScopedFilterSet


@extend_schema_view(update=extend_schema(parameters=[IF_MATCH]), partial_update=extend_schema(parameters=[IF_MATCH]))
class ScopedModelViewSet(viewsets.ModelViewSet):
    """CRUD through the scoping layer: lists and lookups see only the user's subtrees (others are
    404), writes check the permission on the target organisation, `export/` streams CSV. A record read or
    changed carries its version as an ETag; a change sent with `If-Match` is refused (412) when the record was
    saved since (optimistic locking, as the edit pages do)."""

    export_fields: list[str] | None = None
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    # `?ordering=` only on the fields a viewset names, which it backs with an index: left open, DRF would let any
    # request sort every row in the caller's scope by any column (the default order still applies).
    ordering_fields: list[str] = []
    filter_backends = [ScopedFilterBackend, filters.OrderingFilter]

    def get_queryset(self):
        """The rows in the user's view scope; for an action marked `@scope_action("export")` (the CSV `export/`, a
        STIX bundle, ...), those in the export scope, the permission `ScopedPermission` asks for it too."""
        act = "export" if view_action(self.request, self) == "export" else "view"
        return scoping.visible(self.request.user, super().get_queryset(), act)

    def get_object(self):
        """For a change, the row is locked and re-read as stored now before anything else (a write request is one
        transaction, `AtomicWritesMiddleware`), so the change is validated and written over the current row, a
        step or a job that changed other fields meanwhile keeps them, and `If-Match` is checked against it:
        whatever a viewset's `perform_update` does next. A workflow step (a POST on a record: classify, submit,
        close, ...) sent with `If-Match` is checked the same way, so a client acting on what it last read is refused
        (412) when someone changed the record since."""
        self._object = super().get_object()
        step_with_version = self.request.method == "POST" and self.detail and self.request.headers.get("If-Match")
        if self.action in ("update", "partial_update") or step_with_version:
            lock_current(self._object)
            self._check_version(self._object)
        return self._object

    def get_serializer(self, *args, **kwargs):
        self._serializer = super().get_serializer(*args, **kwargs)
        return self._serializer

    def finalize_response(self, request, response, *args, **kwargs):
        action = getattr(self, "action", None)
        obj = getattr(self, "_object", None)
        if action in ("update", "partial_update") and hasattr(self, "_serializer"):
            obj = self._serializer.instance  # what the change wrote (a service may return a new object)
        version = version_of(obj) if obj is not None and response.status_code == 200 else ""
        if version and action in ("retrieve", "update", "partial_update"):
            response["ETag"] = f'"{version}"'
        return super().finalize_response(request, response, *args, **kwargs)

    def _check_version(self, obj) -> None:
        """Refuse a change sent with `If-Match` for a version other than the stored one (`*` matches any). A
        record without a version (no `updated_at`) has no ETag to match, so the header is not checked."""
        wanted = self.request.headers.get("If-Match", "").strip()
        stored = version_of(obj)
        if stored and wanted and wanted != "*" and wanted.removeprefix("W/").strip('"') != stored:
            raise PreconditionFailed

    def _check_target(self, organization) -> None:
        """The user must hold the model's `add` permission on the organisation a record is created in or moved
        to. No organisation (a user account without one) makes the record national: only someone holding the
        permission at the root may do that (`Scope.allows`)."""
        permission = model_permission(self.queryset.model, "add")
        if not scoping.can_in(self.request.user, permission, organization):
            raise PermissionDenied(_("You may not create or move records into this organisation."))

    def target_organization(self, data: dict, instance=None):
        """The organisation a record is created in or moved to: its own `organization` field, unless a
        viewset says where its records belong (a system's records belong to the system's owner)."""
        return data.get("organization", getattr(instance, "organization", None))

    def perform_create(self, serializer):
        self._check_target(self.target_organization(serializer.validated_data))
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer):
        instance = serializer.instance
        target = self.target_organization(serializer.validated_data, instance)
        if target != self.target_organization({}, instance):
            self._check_target(target)
        with transaction.atomic():  # the row is locked already (`get_object`)
            serializer.save()

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()

    @extend_schema(responses={(200, "text/csv"): str}, description="The filtered list as CSV.")
    @action(detail=False, methods=["get"])
    @scope_action("export")
    def export(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        fields = self.export_fields or [n for n, f in self.get_serializer().fields.items() if not f.write_only]
        serializer_cls, context = self.get_serializer_class(), self.get_serializer_context()

        def serialised(run: list) -> list:
            return serializer_cls(run, many=True, context=context).data

        columns = [(name, itemgetter(name)) for name in fields]
        return exports.csv_response(queryset, columns, self.queryset.model._meta.model_name, prepare=serialised)
