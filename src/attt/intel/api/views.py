"""API of threat intelligence: indicators and collections through the scoping layer, ATT&CK read-only."""

from django.db.models import Count, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from attt.core import scoping
from attt.core.api.base import (
    OrganizationField,
    ScopedModelViewSet,
    StrictModelSerializer,
    StrictSerializerMixin,
    scope_action,
)
from attt.core.models import Organization
from attt.intel import collections, store
from attt.intel.filtersets import CollectionFilterSet, IndicatorFilterSet, TechniqueFilterSet
from attt.intel.models import INDICATOR_FIELDS, Collection, CollectionGrant, Indicator, Kind, Source, Technique, Tlp
from attt.intel.sharing import TLP_LEVELS


@extend_schema_field(OpenApiTypes.STR)
class PlainChoiceField(serializers.ChoiceField):
    """A choice documented as a plain string, so its enum never collides with other modules' enums."""


class ThreatIndicatorSerializer(StrictModelSerializer):
    organization = OrganizationField()
    kind = PlainChoiceField(choices=Kind.choices)
    tlp = PlainChoiceField(choices=Tlp.choices, required=False)
    source = PlainChoiceField(choices=Source.choices, read_only=True)

    class Meta:
        model = Indicator
        fields = ["id", *INDICATOR_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["source", "source_reference", "first_seen", "last_seen", "created_at", "updated_at"]
        validators: list = []  # uniqueness is checked in validate() on the canonical value

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        value = attrs.get("value", getattr(self.instance, "value", None))
        organization = attrs.get("organization", getattr(self.instance, "organization", None))
        value, errors = store.check_indicator(
            organization, kind, value, attrs.get("confidence"), pk=getattr(self.instance, "pk", None)
        )
        if errors:
            raise ValidationError({name: [message] for name, message in errors.items()})
        attrs["value"] = value
        return attrs


class IndicatorImportSerializer(StrictSerializerMixin, serializers.Serializer):
    organization = OrganizationField()
    file = serializers.FileField()
    format = PlainChoiceField(choices=[(f, f) for f in store.FORMATS], required=False)
    tlp = PlainChoiceField(choices=Tlp.choices, required=False)
    kind = PlainChoiceField(choices=Kind.choices, required=False)


class IndicatorViewSet(ScopedModelViewSet):
    """The indicator store of the user's organisations. `import/` takes a plain list, a STIX bundle or a MISP
    event (multipart upload), all or nothing: a refused file lists every bad row."""

    queryset = Indicator.objects.select_related("organization")  # each row names its organisation (and export)
    serializer_class = ThreatIndicatorSerializer
    filterset_class = IndicatorFilterSet

    def perform_create(self, serializer):
        serializer.validated_data.setdefault("first_seen", serializer.validated_data.get("valid_from"))
        super().perform_create(serializer)

    @extend_schema(
        request={"multipart/form-data": IndicatorImportSerializer}, responses={(200, "application/json"): dict}
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    @scope_action("add")
    def import_file(self, request):
        body = IndicatorImportSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        organization = body.validated_data["organization"]
        self._check_target(organization)
        upload = body.validated_data["file"]
        try:
            store.check_size(upload.size)
            result = store.import_data(
                organization,
                upload.read(),
                fmt=body.validated_data.get("format"),
                name=(upload.name or "")[:200],
                tlp=body.validated_data.get("tlp"),
                kind=body.validated_data.get("kind"),
            )
        except store.RefusedImport as exc:
            raise ValidationError({"file": [f"{row}: {message}" for row, message in exc.errors]}) from None
        except ValueError as exc:
            raise ValidationError({"file": [str(exc)]}) from None
        return Response(result.as_dict())


class CollectionRevokeSerializer(StrictSerializerMixin, serializers.Serializer):
    grantee = serializers.UUIDField()


class CollectionGrantSerializer(StrictModelSerializer):
    # Any active organisation may be granted: sharing goes across the tree, not only down one's own subtree.
    grantee = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.filter(is_active=True))
    max_tlp = PlainChoiceField(choices=Tlp.choices, required=False)

    class Meta:
        model = CollectionGrant
        fields = ["id", "grantee", "include_subtree", "can_read", "can_write", "max_tlp"]


# Objects of a collection counted per marking (unmarked first), so each requester's count needs no query of its own.
COUNTED_MARKINGS = ("", *TLP_LEVELS)
OBJECTS_PER_MARKING = {
    f"objects_{i}": Count("stix_objects", filter=Q(stix_objects__tlp=level)) for i, level in enumerate(COUNTED_MARKINGS)
}


class TaxiiCollectionSerializer(StrictModelSerializer):
    organization = OrganizationField()
    grants = CollectionGrantSerializer(many=True, read_only=True)
    object_count = serializers.SerializerMethodField()

    class Meta:
        model = Collection
        fields = ["id", "organization", "title", "description", "alias", "is_default", "grants", "object_count"]

    def get_object_count(self, collection: Collection) -> int:
        """The objects the requester may receive from the collection: up to its TLP ceiling there (how many
        TLP:RED objects a collection holds is its owner's to know)."""
        served = collections.served_markings(collections.rights(self.context["request"].user, collection)[2])
        # a collection just created through the API is not annotated: it holds nothing yet
        return sum(
            getattr(collection, f"objects_{i}", 0) for i, level in enumerate(COUNTED_MARKINGS) if level in served
        )


class CollectionViewSet(ScopedModelViewSet):
    """TAXII collections of the user's organisations; `grant/` opens one to another organisation (and its
    subtree) up to a TLP level, `revoke/` closes it again."""

    queryset = Collection.objects.prefetch_related("grants").annotate(**OBJECTS_PER_MARKING)
    serializer_class = TaxiiCollectionSerializer
    filterset_class = CollectionFilterSet

    def get_queryset(self):
        return collections.with_rights(self.request.user, super().get_queryset())  # `object_count` reads the rights

    @extend_schema(request=CollectionGrantSerializer, responses=TaxiiCollectionSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("change")
    def grant(self, request, pk=None):
        collection = self.get_object()
        body = CollectionGrantSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        collections.grant(collection, **body.validated_data)
        return Response(TaxiiCollectionSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(request=CollectionRevokeSerializer, responses=TaxiiCollectionSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("change")
    def revoke(self, request, pk=None):
        collection = self.get_object()
        body = CollectionRevokeSerializer(data=request.data)  # a JSON object with a grantee id, else a 400
        body.is_valid(raise_exception=True)
        found = collection.grants.filter(grantee__pk=body.validated_data["grantee"]).first()
        if found is None:
            raise ValidationError({"grantee": ["This organisation has no grant on the collection."]})
        found.delete()
        return Response(TaxiiCollectionSerializer(self.get_object(), context=self.get_serializer_context()).data)


class AttackTechniqueSerializer(serializers.ModelSerializer):
    tactics = serializers.SlugRelatedField(slug_field="external_id", many=True, read_only=True)

    class Meta:
        model = Technique
        fields = ["external_id", "name", "description", "domain", "tactic_names", "tactics", "url", "deprecated"]
        read_only_fields = fields


class ReferencePermission(BasePermission):
    """ATT&CK is reference data: readable by whoever holds intel.technique.view anywhere."""

    def has_permission(self, request, view) -> bool:
        if not scoping.get_scope(request.user).has_anywhere("intel.technique.view"):
            raise PermissionDenied
        return True


class TechniqueViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Technique.objects.prefetch_related("tactics")
    serializer_class = AttackTechniqueSerializer
    permission_classes = [IsAuthenticated, ReferencePermission]
    filterset_class = TechniqueFilterSet
    ordering_fields = ["external_id", "name"]  # ATT&CK's few hundred techniques
    lookup_field = "external_id"
    lookup_value_regex = r"T\d{4}(?:\.\d{3})?"
