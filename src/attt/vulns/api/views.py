"""API of early warning: warnings and leak notices through the scoping layer, the corpus read-only."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from attt.core import scoping
from attt.core.api.base import (
    KeptRelatedField,
    OrganizationField,
    ScopedModelViewSet,
    StrictModelSerializer,
    StrictSerializerMixin,
    scope_action,
)
from attt.vulns import exports, services
from attt.vulns.filtersets import LeakNoticeFilterSet, VulnerabilityFilterSet, VulnWarningFilterSet
from attt.vulns.models import LeakNotice, Vulnerability, VulnWarning, WarningStatus


@extend_schema_field(OpenApiTypes.STR)
class StatusField(serializers.ChoiceField):
    """A status choice documented as a plain string, so its enum does not collide with other modules'
    `status` enums in the OpenAPI schema."""


class VulnerabilitySerializer(serializers.ModelSerializer):
    in_kev = serializers.BooleanField(read_only=True)

    class Meta:
        model = Vulnerability
        fields = [
            "id",
            "cve_id",
            "summary",
            "published",
            "modified",
            "cvss_score",
            "cvss_vector",
            "in_kev",
            "kev_added",
            "kev_due",
            "kev_ransomware",
            "epss",
            "epss_percentile",
            "references",
        ]
        read_only_fields = fields


class CorpusPermission(BasePermission):
    """The corpus is national reference data: readable by whoever holds vulns.vulnerability.view anywhere."""

    def has_permission(self, request, view) -> bool:
        return scoping.get_scope(request.user).has_anywhere("vulns.vulnerability.view")


class VulnerabilityViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Vulnerability.objects.all()
    serializer_class = VulnerabilitySerializer
    permission_classes = [IsAuthenticated, CorpusPermission]
    filterset_class = VulnerabilityFilterSet
    ordering_fields = ["cve_id", "kev_added"]  # indexed: the corpus holds every CVE
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"


class VulnWarningSerializer(StrictModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(read_only=True)
    cve = serializers.CharField(source="vulnerability.cve_id", read_only=True)
    system_name = serializers.CharField(source="system.name", read_only=True)
    status = StatusField(choices=WarningStatus.choices, read_only=True)
    priority = serializers.IntegerField(read_only=True)

    class Meta:
        model = VulnWarning
        fields = [
            "id",
            "organization",
            "system",
            "system_name",
            "vulnerability",
            "cve",
            "matches",
            "priority",
            "score",
            "status",
            "reason",
            "note",
            "due_date",
            "active",
            "handled_at",
            "created_at",
        ]
        read_only_fields = [f for f in fields if f != "note"]


class TransitionSerializer(StrictSerializerMixin, serializers.Serializer):
    status = StatusField(choices=WarningStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class VulnWarningViewSet(ScopedModelViewSet):
    """Warnings of the user's organisations; only the note is edited directly, the status moves with
    `transition/` (new → acknowledged → mitigated / patched / not affected → verified)."""

    queryset = VulnWarning.objects.select_related("vulnerability", "system")
    serializer_class = VulnWarningSerializer
    filterset_class = VulnWarningFilterSet
    http_method_names = ["get", "patch", "post", "head", "options"]

    def create(self, request, *args, **kwargs):
        raise PermissionDenied

    @extend_schema(request=TransitionSerializer, responses=VulnWarningSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("change")
    def transition(self, request, pk=None):
        warning = self.get_object()
        body = TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.transition(
                warning, body.validated_data["status"], by=request.user, reason=body.validated_data["reason"]
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        except DjangoPermissionDenied:
            raise PermissionDenied from None
        return Response(VulnWarningSerializer(warning, context=self.get_serializer_context()).data)

    @extend_schema(responses={(200, "application/json"): dict}, description="The filtered list as a STIX 2.1 bundle.")
    @action(detail=False, methods=["get"])
    @scope_action("export")
    def stix(self, request):
        queryset = self.filter_queryset(self.get_queryset())[:5000]
        return Response(exports.stix_bundle(queryset))


class LeakNoticeSerializer(StrictModelSerializer):
    organization = OrganizationField()
    system = KeptRelatedField(  # a notice read and sent back keeps a system handed to another owner since
        queryset=services.registry.visible_systems(services.registry.system_actor()), required=False, allow_null=True
    )
    domains = serializers.ListField(child=serializers.CharField(max_length=253), required=False, max_length=500)

    class Meta:
        model = LeakNotice
        fields = [
            "id",
            "organization",
            "title",
            "source",
            "published",
            "domains",
            "system",
            "record_count",
            "account_count",
            "password_count",
            "advice",
            "status",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate_domains(self, value: list[str]) -> list[str]:
        return services.leak_domains(value)

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        organization = attrs.get("organization", getattr(self.instance, "organization", None))
        system = attrs.get("system", getattr(self.instance, "system", None))
        if self.instance is not None and (organization, system) == (self.instance.organization, self.instance.system):
            return attrs  # as stored: a system handed to another owner since does not lock the notice
        try:
            services.check_leak_system(organization, system)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return attrs


class LeakNoticeViewSet(ScopedModelViewSet):
    queryset = LeakNotice.objects.all()
    serializer_class = LeakNoticeSerializer
    filterset_class = LeakNoticeFilterSet
