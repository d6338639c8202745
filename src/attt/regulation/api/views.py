"""Read-only API over the regulation data, and the level calculator.

Regulation is public law, not an organisation's record: any logged-in user may read it, so these views
take IsAuthenticated and nothing from the scoping layer. The lists are small, fixed and unpaginated.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from attt.core.api.base import StrictSerializerMixin
from attt.regulation import services

CODE_PARAM = OpenApiParameter("code", str, OpenApiParameter.PATH, description="Regime code, e.g. ND85_2016.")
LEVEL_PARAM = OpenApiParameter("level", int, description="Only this level (1–5).", enum=[1, 2, 3, 4, 5])


def _regime(code: str) -> services.Regime:
    try:
        return services.get_regime(code)
    except services.UnknownRegime:
        raise NotFound(_("No legal regime with this code.")) from None


def _level(request, required: bool = False) -> int | None:
    raw = request.query_params.get("level")
    if raw in (None, ""):
        if required:
            raise ValidationError({"level": [_("Give a level from 1 to 5.")]})
        return None
    if raw not in {"1", "2", "3", "4", "5"}:
        raise ValidationError({"level": [_("A level is a whole number from 1 to 5.")]})
    return int(raw)


class RegimeViewSet(viewsets.ViewSet):
    """The legal regimes and what each says: criteria, requirement catalogue, authorities, timers,
    checks and reports (see docs/regulation.md)."""

    permission_classes = [IsAuthenticated]
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9_]+"

    @extend_schema(
        operation_id="regulation_regimes_list", responses=OpenApiTypes.OBJECT, description="All regimes, oldest first."
    )
    def list(self, request):
        from django.utils import timezone

        today = timezone.localdate()
        return Response([{**r.to_dict(), "in_force": r.in_force(today)} for r in services.regimes()])

    @extend_schema(parameters=[CODE_PARAM], responses=OpenApiTypes.OBJECT)
    def retrieve(self, request, code=None):
        return Response(_regime(code).to_dict(full=True))

    @extend_schema(parameters=[CODE_PARAM, LEVEL_PARAM], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def criteria(self, request, code=None):
        """The level criteria with their conditions and examples."""
        regime = _regime(code)
        level = _level(request)
        return Response([c.to_dict(examples=True) for c in services.criteria(regime, level)])

    @extend_schema(parameters=[CODE_PARAM, LEVEL_PARAM], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def requirements(self, request, code=None):
        """The requirement catalogue; with ?level=N, the rows of that level read at that level."""
        regime = _regime(code)
        level = _level(request)
        rows = services.requirements(regime, level) if level else list(regime.requirements)
        return Response([r.to_dict() for r in rows])


class AssessRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    regime = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=32)
    on = serializers.DateField(required=False, allow_null=True)
    facts = serializers.JSONField()

    def validate_regime(self, value):
        if value:
            try:
                services.get_regime(value)
            except services.UnknownRegime:
                raise serializers.ValidationError(_("Unknown legal regime.")) from None
        return value or None


class AssessViewSet(viewsets.ViewSet):
    """The level calculator: facts in (docs/level-facts.md), level and grounds out."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=AssessRequestSerializer,
        responses=OpenApiTypes.OBJECT,
        description="Assess a system's level. Without `regime`, the regime in force on `on` (default today).",
        examples=[
            OpenApiExample(
                "Online service with 12,000 users",
                value={
                    "regime": "ND85_2016",
                    "facts": {"system_type": "citizen_service", "users_with_private_data": 12000},
                },
                request_only=True,
            )
        ],
    )
    def create(self, request):
        body = AssessRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            result = services.assess(data["facts"], regime=data.get("regime"), on=data.get("on"))
        except services.InvalidFacts as exc:
            raise ValidationError({"facts": [str(exc)]}) from None
        except services.NoRegimeInForce as exc:
            raise ValidationError({"on": [str(exc)]}) from None
        return Response(result.to_dict())
