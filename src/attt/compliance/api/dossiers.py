"""API of level assessments, level dossiers (with their workflow steps), checklists, 4 layers and checks."""

from django.apps import apps
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from attt.compliance import services
from attt.compliance.models import (
    Attachment,
    ChecklistItem,
    LevelAssessment,
    LevelDossier,
    PeriodicCheck,
    ProtectionLayers,
)
from attt.compliance.workflow import TRANSITIONS
from attt.core import scoping, uploads
from attt.core.api.base import (
    OrganizationField,
    ScopedModelViewSet,
    ScopedRelatedField,
    StrictModelSerializer,
    StrictSerializerMixin,
    scope_action,
)
from attt.regulation import services as regulation
from attt.regulation.errors import RegulationLookupError


def system_field(**kwargs) -> ScopedRelatedField:
    return ScopedRelatedField(queryset=apps.get_model("registry", "InformationSystem").objects.all(), **kwargs)


def _as_drf(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class AssessmentSerializer(StrictModelSerializer):
    system = system_field()
    facts = serializers.JSONField(required=False, help_text="Facts to assess instead of the registry's.")
    regime = serializers.CharField(required=False, max_length=32)

    class Meta:
        model = LevelAssessment
        fields = ["id", "system", "regime", "facts", "level", "deciding_criterion", "result", "created_at"]
        read_only_fields = ["level", "deciding_criterion", "result", "created_at"]

    def validate_regime(self, value: str) -> str:
        try:
            return regulation.get_regime(value).code
        except RegulationLookupError as exc:
            raise ValidationError(_("Unknown legal regime.")) from exc


class AssessmentViewSet(ScopedModelViewSet):
    queryset = LevelAssessment.objects.select_related("system")
    serializer_class = AssessmentSerializer
    filterset_fields = ["system", "regime", "level"]
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer):
        system = serializer.validated_data["system"]
        if not scoping.can(self.request.user, "change", system) and not scoping.can_in(
            self.request.user, "compliance.levelassessment.add", system.organization
        ):
            raise PermissionDenied
        try:
            serializer.instance = services.assess_system(
                system,
                by=self.request.user,
                regime=serializer.validated_data.get("regime"),
                facts=serializer.validated_data.get("facts"),
            )
        except ValueError as exc:
            raise ValidationError({"facts": [str(exc)]}) from exc


class DossierSerializer(StrictModelSerializer):
    system = system_field()
    organization = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()

    class Meta:
        model = LevelDossier
        fields = [
            "id",
            "organization",
            "system",
            "regime",
            "kind",
            "proposed_level",
            "assessment",
            "state",
            "title",
            "summary",
            "justification",
            "protection_plan",
            "appraiser",
            "approver",
            "appraisal_opinion",
            "decision_number",
            "decision_date",
            "approved_by_name",
            "approved_level",
            "step_started",
            "step_due",
            "submitted_at",
            "created_at",
            "updated_at",
            "steps",
        ]
        read_only_fields = [
            "regime",
            "proposed_level",
            "assessment",
            "state",
            "appraiser",
            "approver",
            "appraisal_opinion",
            "decision_number",
            "decision_date",
            "approved_by_name",
            "approved_level",
            "step_started",
            "step_due",
            "submitted_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"title": {"required": False}}

    def get_organization(self, obj) -> str:
        return str(obj.organization_id)

    def get_steps(self, obj) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        roots = self.context.setdefault("roots", {})  # shared by the list's rows: the authority is read once
        return [t.name for t in services.allowed_transitions(request.user, obj, roots)]


class StepSerializer(StrictSerializerMixin, serializers.Serializer):
    step = serializers.ChoiceField(choices=sorted(TRANSITIONS))
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10000, default="")
    decision_number = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    decision_date = serializers.DateField(required=False, allow_null=True, default=None)
    approved_by_name = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    approved_level = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5, default=None)


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "kind", "filename", "content_type", "size", "sha256", "created_at"]


class UploadSerializer(StrictSerializerMixin, serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=Attachment.Kind.choices, default=Attachment.Kind.OTHER)


class DossierViewSet(ScopedModelViewSet):
    queryset = LevelDossier.objects.select_related("system", "organization", "assessment")
    serializer_class = DossierSerializer
    filterset_fields = ["system", "state", "regime", "proposed_level"]
    ordering_fields = ["updated_at", "step_due"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def perform_create(self, serializer):
        system = serializer.validated_data["system"]
        self._check_target(system.organization)
        try:
            dossier = services.new_dossier(system, by=self.request.user)
        except ValueError as exc:
            raise ValidationError({"system": [str(exc)]}) from exc
        for name in ("title", "summary", "justification", "protection_plan", "kind"):
            if name in serializer.validated_data:
                setattr(dossier, name, serializer.validated_data[name])
        dossier.save()
        serializer.instance = dossier

    @transaction.atomic
    def perform_update(self, serializer):
        dossier, data = serializer.instance, serializer.validated_data  # locked and current (`get_object`)
        if not services.is_editable(dossier):
            raise ValidationError({"state": ["Only a draft or returned dossier can be edited."]})
        if data.get("system", dossier.system) != dossier.system:
            raise ValidationError({"system": ["The system of a dossier cannot change."]})
        for name, value in data.items():
            setattr(dossier, name, value)
        dossier.save(update_fields=[*data, "updated_at"])

    @extend_schema(request=StepSerializer, responses=DossierSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("view")
    def step(self, request, pk=None):
        """Take a workflow step; who may take it is decided by the level and the regime."""
        dossier = self.get_object()
        body = StepSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        name, comment = data.pop("step"), data.pop("comment")
        try:
            dossier = services.transition(
                dossier, name, by=request.user, comment=comment, decision=services.DecisionInput(**data)
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(self.get_serializer(dossier).data)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses=AttachmentSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    @scope_action("view")
    def attachments(self, request, pk=None):
        dossier = self.get_object()
        if request.method == "POST":
            if not scoping.can(request.user, "change", dossier):
                raise PermissionDenied
            body = UploadSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            try:
                with transaction.atomic():
                    services.attach(
                        body.validated_data["file"], by=request.user, kind=body.validated_data["kind"], dossier=dossier
                    )
            except DjangoValidationError as exc:
                raise ValidationError({"file": exc.messages}) from exc
        return Response(AttachmentSerializer(dossier.attachments.all(), many=True).data)


class ChecklistItemSerializer(StrictModelSerializer):
    system = serializers.SerializerMethodField()
    requirement_text = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "system",
            "regime",
            "requirement",
            "requirement_text",
            "status",
            "reason",
            "responsible",
            "due_date",
            "remediation",
            "updated_at",
        ]
        read_only_fields = ["regime", "requirement", "updated_at"]

    def get_system(self, obj) -> str:
        return str(obj.system_id)

    def get_requirement_text(self, obj) -> str:
        return services.requirement_text(obj.regime, obj.requirement)

    def update(self, instance, validated_data):
        changes = {name: value for name, value in validated_data.items() if name in services.ITEM_FIELDS}
        try:  # only what the request gives: the rest keeps what is stored when the item is locked
            return services.update_item(instance, **changes)
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc


class ChecklistItemViewSet(ScopedModelViewSet):
    queryset = ChecklistItem.objects.all()
    serializer_class = ChecklistItemSerializer
    filterset_fields = ["system", "regime", "status"]
    http_method_names = ["get", "patch", "head", "options"]


class LayersSerializer(StrictModelSerializer):
    system = serializers.SerializerMethodField()
    soc_provider = OrganizationField(required=False, allow_null=True)
    assessor = OrganizationField(required=False, allow_null=True)

    class Meta:
        model = ProtectionLayers
        fields = [
            "id",
            "system",
            "onsite_staff",
            "onsite_staff_names",
            "soc_provider",
            "soc_contract_until",
            "soc_covers_network",
            "soc_covers_application",
            "soc_covers_database",
            "soc_covers_endpoint",
            "assessor",
            "last_assessment",
            "national_monitoring_connected",
            "national_monitoring_source",
            "national_monitoring_seen",
            "updated_at",
        ]
        read_only_fields = ["national_monitoring_source", "national_monitoring_seen", "updated_at"]

    def get_system(self, obj) -> str:
        return str(obj.system_id)


class LayersViewSet(ScopedModelViewSet):
    queryset = ProtectionLayers.objects.all()
    serializer_class = LayersSerializer
    filterset_fields = ["system", "national_monitoring_connected"]
    http_method_names = ["get", "patch", "head", "options"]


class PeriodicCheckSerializer(StrictModelSerializer):
    system = system_field()

    class Meta:
        model = PeriodicCheck
        fields = ["id", "system", "regime", "kind", "due_date", "done_date", "performer", "result", "updated_at"]
        # Recorded only by the `complete` step, which also plans the next check.
        read_only_fields = ["regime", "done_date", "performer", "result", "updated_at"]

    def validate_system(self, system):
        """A check stays with its system: moving it would leave it owned by the old system's organisation."""
        if self.instance is not None and system != self.instance.system:
            raise ValidationError(_("The system of a periodic check cannot change."))
        return system


class CompleteCheckSerializer(StrictSerializerMixin, serializers.Serializer):
    done_date = serializers.DateField()
    performer = serializers.CharField(max_length=PeriodicCheck._meta.get_field("performer").max_length)
    result = serializers.CharField()


class PeriodicCheckViewSet(ScopedModelViewSet):
    queryset = PeriodicCheck.objects.select_related("system")
    serializer_class = PeriodicCheckSerializer
    filterset_fields = ["system", "kind", "done_date"]

    def perform_create(self, serializer):
        system = serializer.validated_data["system"]
        self._check_target(system.organization)
        serializer.save(organization_id=system.organization_id, regime=system.regime)

    @extend_schema(request=CompleteCheckSerializer, responses=PeriodicCheckSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("change")
    @transaction.atomic
    def complete(self, request, pk=None):
        """Record the check as done and plan the next one; a check recorded already is refused (403)."""
        body = CompleteCheckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        check = self.get_object()
        try:
            services.complete_check(
                check,
                done=body.validated_data["done_date"],
                performer=body.validated_data["performer"],
                result=body.validated_data["result"],
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(_("This check was recorded already.")) from exc
        return Response(self.get_serializer(check).data)


def register(router) -> None:
    router.register("assessments", AssessmentViewSet, basename="levelassessment")
    router.register("dossiers", DossierViewSet, basename="leveldossier")
    router.register("checklist-items", ChecklistItemViewSet, basename="checklistitem")
    router.register("protection-layers", LayersViewSet, basename="protectionlayers")
    router.register("periodic-checks", PeriodicCheckViewSet, basename="periodiccheck")


def attachment_response(attachment: Attachment):
    return uploads.download_response(attachment.file, attachment.filename, attachment.content_type)
