"""API of incident response: incidents (intake, classification, steps, tasks, observables, STIX/MISP, sharing,
STIX import), tasks as their assignee sees them, observables, network members. All through the scoping layer."""

import functools
import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from attt.core import scoping
from attt.core.api.base import (
    OrganizationField,
    ScopedModelViewSet,
    ScopedRelatedField,
    StrictModelSerializer,
    StrictSerializerMixin,
    scope_action,
)
from attt.core.models import Organization
from attt.incidents import services
from attt.incidents.filtersets import (
    IncidentFilterSet,
    IncidentTaskFilterSet,
    NetworkMemberFilterSet,
    ObservableFilterSet,
)
from attt.incidents.models import MEMBER_FIELDS, Incident, IncidentTask, NetworkMember, Observable, Severity, Source
from attt.intel.sharing import OBSERVABLE_KINDS, TLP_LEVELS
from attt.registry import services as registry
from attt.registry.services import PrioritySector


@extend_schema_field(OpenApiTypes.STR)
class PlainChoiceField(serializers.ChoiceField):
    """A choice documented as a plain string, so its enum does not collide with other modules' enums."""


def _django_errors(func):
    """Turn the services' Django errors into DRF ones (problem+json)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from None
        except DjangoPermissionDenied:
            raise PermissionDenied from None

    return wrapper


class ObservableInline(serializers.Serializer):
    kind = PlainChoiceField(choices=OBSERVABLE_KINDS)
    value = serializers.CharField(max_length=2048)


class IncidentSerializer(StrictModelSerializer):
    organization = OrganizationField()
    systems = ScopedRelatedField(queryset=registry.visible_systems(registry.system_actor()), many=True, required=False)
    source = PlainChoiceField(choices=[c for c in Source.values if c not in ("public", "stix")])
    state = serializers.CharField(read_only=True)
    severity = serializers.CharField(read_only=True)
    severity_computed = serializers.CharField(read_only=True)
    tlp = serializers.CharField(read_only=True)
    category = serializers.CharField(required=False, allow_blank=True, default="")
    observables = ObservableInline(many=True, required=False, write_only=True, max_length=services.MAX_OBSERVABLES)

    class Meta:
        model = Incident
        fields = [
            "id", "number", "organization", "title", "description", "source", "state", "regime", "category",
            "severity", "severity_computed", "tlp", "impacts", "beyond_capacity", "national_security", "systems",
            "techniques", "discovered_at", "received_at", "responded_at", "closed_at", "observables", "reporter",
            "reporter_name", "reporter_contact",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "regime", "impacts", "beyond_capacity", "national_security", "techniques",
            "received_at", "responded_at", "closed_at", "reporter", "reporter_name", "reporter_contact",
        ]  # fmt: skip
        extra_kwargs = {"discovered_at": {"required": False}}

    def create(self, validated):
        return services.report_incident(
            organization=validated["organization"],
            title=validated["title"],
            description=validated.get("description", ""),
            source=validated["source"],
            reporter=self.context["request"].user,
            systems=[s.pk for s in validated.get("systems", [])],
            observables=[(o["kind"], o["value"]) for o in validated.get("observables", [])],
            occurred_at=validated.get("discovered_at"),
            category=validated.get("category") or None,
        )

    def update(self, instance, validated):
        for name in ("title", "description"):
            if name in validated:
                setattr(instance, name, validated[name])
        instance.save()  # over the row as stored now (ScopedModelViewSet.perform_update locked and re-read it)
        return instance

    def to_internal_value(self, data):
        if self.instance is not None and isinstance(data, dict):
            editable = {"title", "description"}
            if unknown := sorted(set(data) - editable):
                raise serializers.ValidationError(
                    {n: [_("Only the title and description change here.")] for n in unknown}
                )
        return super().to_internal_value(data)


class IncidentClassifySerializer(StrictSerializerMixin, serializers.Serializer):
    category = serializers.CharField()
    tlp = PlainChoiceField(choices=TLP_LEVELS)
    impacts = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    beyond_capacity = serializers.BooleanField(required=False, default=False)
    national_security = serializers.BooleanField(required=False, default=False)
    severity = PlainChoiceField(choices=Severity.values, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class IncidentStepSerializer(StrictSerializerMixin, serializers.Serializer):
    step = PlainChoiceField(choices=[s for s in services.STEPS if s != "classify"])
    note = serializers.CharField(required=False, allow_blank=True, default="")


class IncidentTaskCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.filter(is_active=True))
    kind = PlainChoiceField(choices=IncidentTask.Kind.values, default="task")
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    due_date = serializers.DateField()


class IncidentObservableCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    kind = PlainChoiceField(choices=OBSERVABLE_KINDS)
    value = serializers.CharField(max_length=2048)
    shareable = serializers.BooleanField(required=False, default=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class IncidentViewSet(ScopedModelViewSet):
    """Incidents of the user's organisations. POST reports one (state "received"); PATCH edits title and
    description; the lifecycle moves with `classify/` and `step/`, coordination with `tasks/`."""

    queryset = Incident.objects.select_related("organization").prefetch_related("systems")
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    @_django_errors
    def perform_create(self, serializer):
        self._check_target(serializer.validated_data.get("organization"))
        serializer.save()

    def _body(self, serializer_class):
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _done(self, incident):
        incident.refresh_from_db()
        return Response(IncidentSerializer(incident, context=self.get_serializer_context()).data)

    @extend_schema(request=IncidentClassifySerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("view")
    @_django_errors
    def classify(self, request, pk=None):
        incident = self.get_object()
        data = self._body(IncidentClassifySerializer)
        services.classify(incident, by=request.user, **{**data, "severity": data["severity"] or None})
        return self._done(incident)

    @extend_schema(request=IncidentStepSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("view")
    @_django_errors
    def step(self, request, pk=None):
        incident = self.get_object()
        data = self._body(IncidentStepSerializer)
        services.take_step(incident, data["step"], by=request.user, note=data["note"])
        return self._done(incident)

    @extend_schema(request=IncidentTaskCreateSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    @scope_action("view")
    @_django_errors
    def tasks(self, request, pk=None):
        incident = self.get_object()
        data = self._body(IncidentTaskCreateSerializer)
        task = services.add_task(incident, by=request.user, **data)
        return Response({"id": str(task.pk)}, status=201)

    @extend_schema(request=IncidentObservableCreateSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    @scope_action("change")
    @_django_errors
    def observables(self, request, pk=None):
        incident = self.get_object()
        data = self._body(IncidentObservableCreateSerializer)
        found = services.add_observable(
            incident, data["kind"], data["value"], by=request.user, shareable=data["shareable"], comment=data["comment"]
        )
        return Response({"id": str(found.pk), "value": found.value}, status=201)

    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT}, description="Shareable part as STIX 2.1."
    )
    @action(detail=True, methods=["get"])
    @scope_action("export")
    @_django_errors
    def stix(self, request, pk=None):
        return Response(services.export(self.get_object(), "stix"))

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT}, description="Shareable part as MISP.")
    @action(detail=True, methods=["get"])
    @scope_action("export")
    @_django_errors
    def misp(self, request, pk=None):
        return Response(services.export(self.get_object(), "misp"))

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    @scope_action("view")
    @_django_errors
    def share(self, request, pk=None):
        return Response({"shared": services.share(self.get_object(), by=request.user)})

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT},
        description="Import a STIX 2.1 bundle (body) into `?organization=<id>`: one incident per report.",
    )
    @action(detail=False, methods=["post"], url_path="import-stix")
    @scope_action("add")
    @_django_errors
    def import_stix(self, request):
        key = request.query_params.get("organization", "")
        allowed = scoping.organizations_where(request.user, "incidents.incident.add")
        target = allowed.filter(pk=key).first() if _uuid(key) else None
        if target is None:
            raise ValidationError(
                {"organization": [_("Give ?organization=<id> of an organisation you may report for.")]}
            )
        if not isinstance(request.data, dict):
            raise ValidationError({"bundle": [_("The body must be a STIX 2.1 bundle (a JSON object).")]})
        created = services.import_stix(dict(request.data), organization=target, by=request.user)
        return Response({"created": [str(i.pk) for i in created]}, status=201)


def _uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class IncidentTaskSerializer(StrictModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(read_only=True)
    incident_number = serializers.CharField(source="incident.number", read_only=True)
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = IncidentTask
        fields = [
            "id",
            "organization",
            "incident",
            "incident_number",
            "kind",
            "title",
            "description",
            "due_date",
            "status",
            "acknowledged_at",
            "completed_at",
            "evidence",
            "created_at",
        ]
        read_only_fields = [f for f in fields if f != "evidence"]


class IncidentTaskStepSerializer(StrictSerializerMixin, serializers.Serializer):
    status = PlainChoiceField(choices=["acknowledged", "done", "declined"])
    evidence = serializers.CharField(required=False, allow_blank=True, default="")


class IncidentTaskViewSet(ScopedModelViewSet):
    """Tasks of the user's organisations as assignee; `step/` acknowledges, completes or declines."""

    queryset = IncidentTask.objects.select_related("incident", "organization")
    serializer_class = IncidentTaskSerializer
    filterset_class = IncidentTaskFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        raise PermissionDenied(_("Tasks are created on their incident (POST …/incidents/{id}/tasks/)."))

    @extend_schema(request=IncidentTaskStepSerializer, responses=IncidentTaskSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("change")
    @_django_errors
    def step(self, request, pk=None):
        task = self.get_object()
        body = IncidentTaskStepSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.task_step(
            task, body.validated_data["status"], by=request.user, evidence=body.validated_data["evidence"]
        )
        return Response(IncidentTaskSerializer(task, context=self.get_serializer_context()).data)


class ObservableSerializer(StrictModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(read_only=True)
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = Observable
        fields = ["id", "organization", "incident", "kind", "value", "shareable", "comment", "created_at"]
        read_only_fields = ["id", "organization", "incident", "kind", "value", "created_at"]


class ObservableViewSet(ScopedModelViewSet):
    """Observables of visible incidents; only `shareable` and `comment` change (add them on the incident)."""

    queryset = Observable.objects.all()
    serializer_class = ObservableSerializer
    filterset_class = ObservableFilterSet
    http_method_names = ["get", "patch", "delete", "head", "options"]


class NetworkMemberSerializer(StrictModelSerializer):
    organization = OrganizationField()
    kind = PlainChoiceField(choices=NetworkMember.Kind.values, default="mandatory")
    sector = PlainChoiceField(choices=["", *PrioritySector.values], required=False, allow_blank=True)

    class Meta:
        model = NetworkMember
        fields = ["id", "organization", "name", *MEMBER_FIELDS, "contact_updated_at", "active", "created_at"]
        read_only_fields = ["id", "contact_updated_at", "created_at"]

    def create(self, validated):
        member = NetworkMember(**validated)
        services.note_contact_change(member, [n for n, v in validated.items() if v])
        member.save()
        return member

    def update(self, instance, validated):
        services.note_contact_change(instance, [n for n, v in validated.items() if getattr(instance, n) != v])
        return super().update(instance, validated)


class NetworkMemberViewSet(ScopedModelViewSet):
    queryset = NetworkMember.objects.select_related("organization")
    serializer_class = NetworkMemberSerializer
    filterset_class = NetworkMemberFilterSet
