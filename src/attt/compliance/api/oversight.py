"""API of oversight: periodic reports (generate, submit, export), inspections, findings and their
workflow, and the dashboard figures of a node with its drill-down.

The same rules as the pages: every lookup through the scoping layer (404 outside it), a submitted report
is locked (409), finding steps belong to the inspected organisation (acknowledge, remediate) or to the
inspecting body (verify).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from attt.compliance import dashboards, inspections, reports
from attt.compliance.api.dossiers import system_field
from attt.compliance.models import Finding, Inspection, StatusReport
from attt.compliance.views import oversight as ui
from attt.core import scoping
from attt.core.api.base import (
    OrganizationField,
    ScopedModelViewSet,
    ScopedRelatedField,
    StrictModelSerializer,
    StrictSerializerMixin,
    scope_action,
)
from attt.core.models import User


class Locked(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This report was submitted and is locked; it can no longer be changed."
    default_code = "locked"


@contextlib.contextmanager
def locked_as_conflict() -> Iterator[None]:
    try:
        yield
    except reports.ReportLocked as exc:
        raise Locked(" ".join(exc.messages)) from exc


# --- Status reports ---------------------------------------------------------------------------------------


class StatusReportSerializer(StrictModelSerializer):
    organization = serializers.SerializerMethodField()
    late = serializers.SerializerMethodField()

    class Meta:
        model = StatusReport
        fields = [
            "id",
            "organization",
            "kind",
            "regime",
            "period_start",
            "period_end",
            "due_date",
            "state",
            "late",
            "notes",
            "submitted_at",
            "submitted_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "kind",
            "regime",
            "period_start",
            "period_end",
            "due_date",
            "state",
            "submitted_at",
            "submitted_by",
            "created_at",
            "updated_at",
        ]

    def get_organization(self, obj) -> str:
        return str(obj.organization_id)

    def get_late(self, obj) -> bool:
        return reports.is_late(obj)


class StatusReportDetailSerializer(StatusReportSerializer):
    data = serializers.JSONField(read_only=True, help_text="The figures, as generated from the data.")

    class Meta(StatusReportSerializer.Meta):
        fields = [*StatusReportSerializer.Meta.fields, "data"]
        read_only_fields = [*StatusReportSerializer.Meta.read_only_fields, "data"]


class GenerateSerializer(StrictSerializerMixin, serializers.Serializer):
    organization = OrganizationField()
    kind = serializers.ChoiceField(choices=StatusReport.Kind.choices)
    year = serializers.IntegerField(min_value=2016, max_value=2100)
    month = serializers.IntegerField(min_value=1, max_value=12, required=False, allow_null=True, default=None)


class StatusReportViewSet(ScopedModelViewSet):
    """Reports are made by `generate` (figures from the data) and changed only in their `notes` until
    `submit` locks them."""

    queryset = StatusReport.objects.select_related("organization")
    serializer_class = StatusReportSerializer
    filterset_class = ui.StatusReportFilterSet
    ordering_fields = ["period_end", "due_date", "submitted_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_serializer_class(self):
        return StatusReportDetailSerializer if self.action == "retrieve" else StatusReportSerializer

    @extend_schema(exclude=True)  # not offered: the OpenAPI document lists generate/ instead
    def create(self, request, *args, **kwargs):
        raise exceptions.MethodNotAllowed("POST", detail=_("Reports are made from the data: use generate/."))

    def perform_update(self, serializer):
        with locked_as_conflict():
            serializer.instance = reports.update_notes(serializer.instance, serializer.validated_data.get("notes", ""))

    def perform_destroy(self, instance):
        with locked_as_conflict():
            reports.ensure_editable(instance)
        super().perform_destroy(instance)

    @extend_schema(request=GenerateSerializer, responses=StatusReportDetailSerializer)
    @action(detail=False, methods=["post"])
    @scope_action("add")
    def generate(self, request):
        """Create the organisation's report for the period from the data, or refresh its draft."""
        body = GenerateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        self._check_target(data["organization"])
        with locked_as_conflict(), transaction.atomic():
            report = reports.generate(
                data["organization"], data["kind"], year=data["year"], month=data.get("month"), by=request.user
            )
        return Response(
            StatusReportDetailSerializer(report, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=StatusReportSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("submit")
    def submit(self, request, pk=None):
        """Submit the report to the parent organisation; it is locked from then on."""
        with locked_as_conflict():
            report = reports.submit(self.get_object(), by=request.user)
        return Response(StatusReportSerializer(report, context=self.get_serializer_context()).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "as",
                str,
                enum=list(reports.EXPORTS),
                default="docx",
                description="Document format (DRF reserves `format`).",
            )
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], url_path="document", url_name="document")
    @scope_action("export")
    def document(self, request, pk=None):
        """The report as an official document: DOCX, XLSX or PDF."""
        report = self.get_object()
        fmt = request.query_params.get("as", "docx")
        if fmt not in reports.EXPORTS:
            raise exceptions.ValidationError({"as": [_("Choose one of: %(f)s.") % {"f": ", ".join(reports.EXPORTS)}]})
        content, content_type, name = reports.export(report, fmt)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# --- Inspections --------------------------------------------------------------------------------------------


class InspectionSerializer(StrictModelSerializer):
    organization = OrganizationField()
    team = ScopedRelatedField(queryset=User.objects.filter(is_active=True), many=True, required=False)
    targets = OrganizationField(many=True, required=False)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "organization",
            "title",
            "year",
            "regime",
            "state",
            "starts",
            "ends",
            "team",
            "targets",
            "scope",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_regime(self, value: str) -> str:
        if value not in dict(ui.regime_choices()):
            raise serializers.ValidationError(_("Unknown legal regime."))
        return value

    def validate(self, attrs):
        instance = self.instance or Inspection()
        probe = Inspection(
            organization=attrs.get("organization", getattr(instance, "organization", None)),
            starts=attrs.get("starts", instance.starts),
            ends=attrs.get("ends", instance.ends),
        )
        if probe.organization_id is None:
            return attrs
        if "targets" in attrs:
            targets = attrs["targets"]
        else:
            targets = [] if instance._state.adding else list(instance.targets.all())
        inspections.validate_inspection(probe, targets)
        return attrs


class InspectionViewSet(ScopedModelViewSet):
    queryset = Inspection.objects.select_related("organization").prefetch_related("team", "targets")
    serializer_class = InspectionSerializer
    filterset_class = ui.InspectionFilterSet
    ordering_fields = ["year", "starts", "title"]
    export_fields = ["id", "organization", "title", "year", "regime", "state", "starts", "ends"]


# --- Findings -----------------------------------------------------------------------------------------------


class FindingSerializer(StrictModelSerializer):
    inspection = ScopedRelatedField(queryset=Inspection.objects.all())
    organization = OrganizationField()
    system = system_field(required=False, allow_null=True)
    actions = serializers.SerializerMethodField(help_text="Workflow steps the requester may take now.")

    class Meta:
        model = Finding
        fields = [
            "id",
            "inspection",
            "organization",
            "system",
            "requirement",
            "severity",
            "description",
            "remediation",
            "due_date",
            "state",
            "acknowledged_at",
            "evidence",
            "actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["state", "acknowledged_at", "evidence", "created_at", "updated_at"]

    def get_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        return inspections.finding_actions(request.user, obj) if request else []

    def validate(self, attrs):
        if self.instance is not None and self.instance.state == Finding.State.VERIFIED:
            raise serializers.ValidationError(_("A verified finding is closed."))
        probe = Finding(
            **{
                name: attrs.get(name, getattr(self.instance, name, None))
                for name in ("inspection", "organization", "system")
            }
        )
        if probe.inspection is not None and probe.organization is not None:
            inspections.validate_finding(probe)
        return attrs


class RemediateSerializer(StrictSerializerMixin, serializers.Serializer):
    evidence = serializers.CharField(max_length=10000)


class VerifySerializer(StrictSerializerMixin, serializers.Serializer):
    accept = serializers.BooleanField(default=True)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10000, default="")


class FindingViewSet(ScopedModelViewSet):
    queryset = Finding.objects.select_related("inspection__organization", "organization", "system")
    serializer_class = FindingSerializer
    filterset_class = ui.FindingFilterSet
    ordering_fields = ["due_date", "created_at", "severity"]
    export_fields = [
        "id",
        "inspection",
        "organization",
        "system",
        "requirement",
        "severity",
        "description",
        "remediation",
        "due_date",
        "state",
        "acknowledged_at",
    ]

    def _check_inspecting_body(self, finding: Finding, action: str) -> None:
        if not inspections.may_edit_finding(self.request.user, finding, action):
            raise exceptions.PermissionDenied(_("Only the inspecting body records and changes its findings."))

    def perform_create(self, serializer):
        self._check_inspecting_body(Finding(inspection=serializer.validated_data["inspection"]), "add")
        super().perform_create(serializer)
        inspections.notify_new_finding(serializer.instance)

    def perform_update(self, serializer):
        self._check_inspecting_body(serializer.instance, "change")
        if "inspection" in serializer.validated_data:  # moved to another inspection: that body's finding too
            self._check_inspecting_body(Finding(inspection=serializer.validated_data["inspection"]), "change")
        super().perform_update(serializer)

    def perform_destroy(self, instance):
        self._check_inspecting_body(instance, "delete")
        super().perform_destroy(instance)

    def _respond(self, finding: Finding) -> Response:
        return Response(FindingSerializer(finding, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("acknowledge")
    def acknowledge(self, request, pk=None):
        """The inspected organisation acknowledges the finding."""
        return self._respond(inspections.acknowledge_finding(self.get_object(), by=request.user))

    @extend_schema(request=RemediateSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("acknowledge")
    def remediate(self, request, pk=None):
        """The inspected organisation reports the remediation, with its evidence."""
        finding = self.get_object()
        body = RemediateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            inspections.remediate_finding(finding, by=request.user, evidence=body.validated_data["evidence"])
        )

    @extend_schema(request=VerifySerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("view")
    def verify(self, request, pk=None):
        """The inspecting body verifies the remediation (accept) or sends it back (accept false, comment)."""
        finding = self.get_object()
        body = VerifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(inspections.verify_finding(finding, by=request.user, **body.validated_data))


# --- Dashboard ----------------------------------------------------------------------------------------------


class DashboardViewSet(viewsets.ViewSet):
    """Read-only figures of a node (default: the requester's widest visible root) and of its units."""

    @extend_schema(
        parameters=[OpenApiParameter("organization", OpenApiTypes.UUID, description="The node to show.")],
        responses=dict,
    )
    def list(self, request):
        if not scoping.get_scope(request.user).has_anywhere(dashboards.VIEW_PERMISSION):
            raise exceptions.PermissionDenied
        result = dashboards.overview(request.user, request.query_params.get("organization") or None)
        node = result.node
        return Response(
            {
                "organization": dashboards.org_dict(node.organization) if node.organization else None,
                "as_of": result.generated.isoformat(),
                **result.figures,
                "children": [
                    {
                        "organization": dashboards.org_dict(row.organization),
                        "own": row.own,
                        "has_children": row.has_children,
                        **row.figures,
                    }
                    for row in result.rows
                ],
                "trend": result.trend,
            }
        )


def register(router) -> None:
    """Add this module's viewsets to the compliance router."""
    router.register("status-reports", StatusReportViewSet, basename="statusreport")
    router.register("inspections", InspectionViewSet, basename="inspection")
    router.register("findings", FindingViewSet, basename="finding")
    router.register("dashboard", DashboardViewSet, basename="compliance-dashboard")
