"""API of detection: alerts through the scoping layer with their three steps as POST actions, and the Sigma
rules (national reference data) read-only with enable/disable for national administrators."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from attt.core import scoping
from attt.core.api.base import ScopedModelViewSet, StrictModelSerializer, StrictSerializerMixin, scope_action
from attt.detection import services
from attt.detection.filtersets import AlertFilterSet, SigmaRuleFilterSet
from attt.detection.models import Alert, Severity, SigmaRule


@extend_schema_field(OpenApiTypes.STR)
class PlainChoiceField(serializers.ChoiceField):
    """A choice documented as a plain string, so its enum does not collide with other modules' enums of the
    same name (status, kind, level) in the OpenAPI schema."""


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This step is not possible from the alert's current status.")
    default_code = "conflict"


class AlertSerializer(StrictModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(read_only=True)
    system = serializers.PrimaryKeyRelatedField(read_only=True)
    system_name = serializers.CharField(source="system.name", read_only=True, default="")
    kind = PlainChoiceField(choices=Alert.Kind.choices, read_only=True)
    severity = PlainChoiceField(choices=Severity.choices, read_only=True)
    status = PlainChoiceField(choices=Alert.Status.choices, read_only=True)
    attribution = serializers.CharField(read_only=True)
    incident_url = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "organization",
            "kind",
            "title",
            "severity",
            "status",
            "source_id",
            "system",
            "system_name",
            "rule_id",
            "rule_author",
            "attribution",
            "techniques",
            "indicator_id",
            "indicator_kind",
            "indicator_value",
            "window_start",
            "first_seen",
            "last_seen",
            "count",
            "sample_event_ids",
            "reason",
            "incident_id",
            "incident_url",
            "handled_at",
        ]
        read_only_fields = fields

    def get_incident_url(self, obj) -> str:
        return services.incident_url(obj)


class CloseSerializer(StrictSerializerMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


def _run(step):
    try:
        return step()
    except services.WrongState as exc:
        raise Conflict(" ".join(m for ms in exc.message_dict.values() for m in ms)) from None
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    except DjangoPermissionDenied:
        raise PermissionDenied from None


class AlertViewSet(ScopedModelViewSet):
    """Alerts of the user's organisations. Alerts are raised by detection only; people move them with
    `acknowledge/`, `close/` (with a reason) and `escalate/` (opens an incident). A step impossible from the
    current status answers 409."""

    queryset = Alert.objects.select_related("system", "organization")
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    ordering_fields = ["last_seen", "first_seen"]  # indexed: any other order would sort every alert in scope
    http_method_names = ["get", "post", "head", "options"]

    def create(self, request, *args, **kwargs):
        raise PermissionDenied

    def _respond(self, alert):
        return Response(AlertSerializer(alert, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("change")
    def acknowledge(self, request, pk=None):
        alert = self.get_object()
        return self._respond(_run(lambda: services.acknowledge(alert, by=request.user)))

    @extend_schema(request=CloseSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("change")
    def close(self, request, pk=None):
        alert = self.get_object()
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(_run(lambda: services.close(alert, by=request.user, reason=body.validated_data["reason"])))

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("escalate")
    def escalate(self, request, pk=None):
        alert = self.get_object()
        return self._respond(_run(lambda: services.escalate(alert, by=request.user)))


class SigmaRuleSerializer(serializers.ModelSerializer):
    level = PlainChoiceField(choices=Severity.choices, read_only=True)
    attribution = serializers.CharField(read_only=True)

    class Meta:
        model = SigmaRule
        fields = [
            "id",
            "rule_id",
            "title",
            "description",
            "level",
            "status",
            "author",
            "attribution",
            "tags",
            "techniques",
            "product",
            "category",
            "service",
            "enabled",
            "supported",
            "unsupported_reason",
            "text",
            "updated_at",
        ]
        read_only_fields = fields


class RulePermission(BasePermission):
    """Rules are national reference data: readable by holders of detection.sigmarule.view anywhere."""

    def has_permission(self, request, view) -> bool:
        return scoping.get_scope(request.user).has_anywhere("detection.sigmarule.view")


class SigmaRuleViewSet(viewsets.ReadOnlyModelViewSet):
    """Sigma rules; `enable/` and `disable/` need detection.sigmarule.change on the national root."""

    queryset = SigmaRule.objects.all()
    serializer_class = SigmaRuleSerializer
    permission_classes = [IsAuthenticated, RulePermission]
    filterset_class = SigmaRuleFilterSet
    ordering_fields = ["title", "level", "rule_id"]  # a few thousand rules

    def _toggle(self, request, enabled: bool):
        rule = self.get_object()
        _run(lambda: services.set_rules_enabled(SigmaRule.objects.filter(pk=rule.pk), enabled, by=request.user))
        rule.refresh_from_db()
        return Response(SigmaRuleSerializer(rule, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=SigmaRuleSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        return self._toggle(request, True)

    @extend_schema(request=None, responses=SigmaRuleSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        return self._toggle(request, False)
