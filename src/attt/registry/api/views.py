"""The registry API: CRUD of systems and their records through the scoping layer, CSV export (inherited),
and the import of a CSV/XLSX file of systems."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from attt.core.api.base import ScopedModelViewSet, scope_action
from attt.core.api.exceptions import PROBLEM, problem
from attt.registry import filtersets as f
from attt.registry import services
from attt.registry.api import serializers as s
from attt.registry.models import Component, Contact, Domain, InformationSystem, IPRange, Server
from attt.registry.transfer import detect_format


class InformationSystemViewSet(ScopedModelViewSet):
    queryset = InformationSystem.objects.select_related("organization", "operator", "parent_system")
    serializer_class = s.InformationSystemSerializer
    filterset_class = f.SystemFilterSet
    ordering_fields = ["name", "created_at"]  # indexed

    def get_serializer_class(self):
        if self.action in {"retrieve", "create", "update", "partial_update"}:
            return s.InformationSystemDetailSerializer
        return super().get_serializer_class()

    @extend_schema(
        request={"multipart/form-data": s.ImportRequestSerializer},
        responses={
            200: s.ImportReportSerializer,
            400: OpenApiResponse(description="problem+json; `report` lists every bad row"),
        },
        description="Create or update systems from a CSV or XLSX file (one row per system, see docs/registry.md). "
        "All or nothing; `dry_run` checks without writing.",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    @scope_action("import")
    def import_file(self, request):
        body = s.ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        fmt = body.validated_data.get("format") or detect_format(upload.name, upload.read(4))
        upload.seek(0)
        try:
            report = services.import_systems(upload, fmt, request.user, dry_run=body.validated_data["dry_run"])
        except services.ImportFileError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        if not report.ok:
            detail = _("%(count)s row(s) of the file are not valid; nothing was written.") % {
                "count": len(report.bad_rows)
            }
            body = problem(400, _("Invalid input"), detail, report=report.as_dict())
            return Response(body, status=status.HTTP_400_BAD_REQUEST, content_type=PROBLEM)
        return Response(report.as_dict())


class SystemPartViewSet(ScopedModelViewSet):
    """Records of a system: created where the requester may add them on the system's owner (the record
    type's own permission, such as 'registry.component.add')."""

    def target_organization(self, data: dict, instance=None):
        return (data.get("system") or instance.system).organization


class ComponentViewSet(SystemPartViewSet):
    queryset = Component.objects.select_related("system")
    serializer_class = s.ComponentSerializer
    filterset_class = f.ComponentFilterSet
    ordering_fields: list[str] = []  # kind, vendor, product, version (indexed)


class ServerViewSet(SystemPartViewSet):
    queryset = Server.objects.select_related("system")
    serializer_class = s.ServerSerializer
    filterset_class = f.ServerFilterSet
    ordering_fields = ["hostname"]  # indexed


class DomainViewSet(SystemPartViewSet):
    queryset = Domain.objects.select_related("system")
    serializer_class = s.DomainSerializer
    filterset_class = f.DomainFilterSet
    ordering_fields = ["name"]  # indexed


class IPRangeViewSet(SystemPartViewSet):
    queryset = IPRange.objects.select_related("system")
    serializer_class = s.IPRangeSerializer
    filterset_class = f.IPRangeFilterSet
    ordering_fields = ["cidr"]  # indexed


class ContactViewSet(SystemPartViewSet):
    queryset = Contact.objects.select_related("system")
    serializer_class = s.ContactSerializer
    filterset_class = f.ContactFilterSet
    ordering_fields = ["role"]  # indexed (role, name)
