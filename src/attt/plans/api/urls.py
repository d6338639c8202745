from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.routers import DefaultRouter

from attt.core.api.base import OrganizationField, ScopedModelViewSet, ScopedRelatedField, StrictModelSerializer
from attt.plans import services
from attt.plans.models import (
    Assignment,
    Indicator,
    IndicatorValue,
    LegalDocument,
    Plan,
    ProgressReport,
    Status,
    Task,
)


class PlanSerializer(StrictModelSerializer):
    """The parent resolves only among plans the requester may see. A new plan is saved with it (it cannot close
    a cycle); a change of parent goes through `services.set_parent`, which refuses one."""

    organization = OrganizationField()
    parent = ScopedRelatedField(queryset=Plan.objects.all(), required=False, allow_null=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "organization",
            "code",
            "title",
            "kind",
            "parent",
            "year_start",
            "year_end",
            "description",
            "source_file",
            "updated_at",
        ]
        read_only_fields = ["source_file", "updated_at"]

    def validate_parent(self, parent):
        if self.instance is not None:
            services.check_parent(self.instance, parent)  # DRF makes its refusal this field's error
        return parent

    def update(self, instance, validated_data):
        relink = "parent" in validated_data
        parent = validated_data.pop("parent", None)
        plan = super().update(instance, validated_data)
        return services.set_parent(plan, parent) if relink else plan


class TaskSerializer(StrictModelSerializer):
    organization = OrganizationField()
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "organization",
            "plan",
            "section",
            "number",
            "content",
            "details",
            "lead_text",
            "coordination_text",
            "expected_result",
            "indicator_refs",
            "deadline_text",
            "deadline_kind",
            "start_date",
            "due_date",
            "status",
            "progress",
            "unit_matched",
            "unmatched_units",
            "updated_at",
        ]
        read_only_fields = [
            "plan",
            "section",
            "number",
            "status",
            "progress",
            "unit_matched",
            "unmatched_units",
            "updated_at",
        ]


class AssignmentSerializer(StrictModelSerializer):
    organization = OrganizationField()
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    task = ScopedRelatedField(queryset=Task.objects.all())

    class Meta:
        model = Assignment
        fields = ["id", "organization", "task", "parent", "status", "progress", "due_date", "comment", "updated_at"]
        read_only_fields = ["parent", "updated_at"]


class ProgressReportSerializer(StrictModelSerializer):
    assignment = ScopedRelatedField(queryset=Assignment.objects.all())
    status = serializers.ChoiceField(choices=Status.choices, required=False)

    class Meta:
        model = ProgressReport
        fields = [
            "id",
            "organization",
            "assignment",
            "period",
            "period_end",
            "status",
            "progress",
            "comment",
            "difficulties",
            "proposals",
            "links",
            "submitted_at",
        ]
        read_only_fields = ["organization", "period_end", "submitted_at"]
        validators: list = []  # one report per assignment and period: `validate` words the refusal

    def validate_progress(self, value):
        if not 0 <= value <= 100:
            raise serializers.ValidationError("0–100")
        return value

    def validate_period(self, value):
        return services.check_period(value)

    def validate_assignment(self, assignment):
        if self.instance is not None and assignment != self.instance.assignment:
            raise serializers.ValidationError(_("A report stays with the assignment it was made for."))
        return assignment

    def validate(self, attrs):
        assignment = attrs.get("assignment") or self.instance.assignment
        period = attrs.get("period", getattr(self.instance, "period", None))
        if assignment.reports.filter(period=period).exclude(pk=getattr(self.instance, "pk", None)).exists():
            message = _("This assignment already has a report for %(period)s.") % {"period": period}
            raise serializers.ValidationError({"period": message})
        return attrs


class IndicatorSerializer(StrictModelSerializer):
    organization = OrganizationField()

    class Meta:
        model = Indicator
        fields = ["id", "organization", "plan", "number", "name", "baseline", "planned", "target", "updated_at"]
        read_only_fields = ["plan", "updated_at"]


class IndicatorValueSerializer(StrictModelSerializer):
    organization = OrganizationField(required=False)  # the indicator's owner holds the value
    indicator = ScopedRelatedField(queryset=Indicator.objects.all())

    class Meta:
        model = IndicatorValue
        fields = ["id", "organization", "indicator", "period", "value", "numeric", "note"]
        read_only_fields = ["numeric"]  # computed from the value
        validators: list = []  # one value per indicator and period: the service records or corrects it

    def validate_period(self, value):
        return services.check_period(value)

    def validate(self, attrs):
        if self.instance is not None and any(
            name in attrs and attrs[name] != getattr(self.instance, name) for name in ("indicator", "period")
        ):
            raise serializers.ValidationError(_("A value stays with its indicator and period; record another."))
        indicator = attrs.get("indicator") or self.instance.indicator
        if attrs.get("organization", indicator.organization) != indicator.organization:
            raise serializers.ValidationError({"organization": _("A value is held by its indicator's owner.")})
        if self.instance is None and indicator.values.filter(period=attrs["period"]).exists():
            message = _("This indicator already has a value for %(period)s.") % {"period": attrs["period"]}
            raise serializers.ValidationError({"period": message})
        return attrs


class LegalDocumentSerializer(StrictModelSerializer):
    organization = OrganizationField()

    class Meta:
        model = LegalDocument
        fields = ["id", "organization", "category", "kind", "number", "date", "issuer", "title"]


class PlanViewSet(ScopedModelViewSet):
    queryset = Plan.objects.all()
    serializer_class = PlanSerializer
    filterset_fields = ["kind", "parent"]


class TaskViewSet(ScopedModelViewSet):
    queryset = Task.objects.select_related("plan", "section")
    serializer_class = TaskSerializer
    filterset_fields = ["plan", "status", "deadline_kind"]
    http_method_names = ["get", "patch", "head", "options"]


class AssignmentViewSet(ScopedModelViewSet):
    queryset = Assignment.objects.select_related("task")
    serializer_class = AssignmentSerializer
    filterset_fields = ["task", "status"]

    def perform_create(self, serializer):
        super().perform_create(serializer)
        services.roll_up(serializer.instance.task)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        services.roll_up(serializer.instance.task)


class ProgressReportViewSet(ScopedModelViewSet):
    queryset = ProgressReport.objects.select_related("assignment")
    serializer_class = ProgressReportSerializer
    filterset_fields = ["assignment", "period", "status"]

    def perform_create(self, serializer):
        assignment = serializer.validated_data["assignment"]
        self._check_target(assignment.organization)
        self._report(serializer)

    def perform_update(self, serializer):
        self._report(serializer)

    def _report(self, serializer) -> None:
        """Create or correct through `services.report_progress`, as the progress form does, so the
        period's end date and the assignment's and task's roll-up follow; unsent fields keep their
        current (or default) values."""
        data, current = serializer.validated_data, serializer.instance or ProgressReport()
        fields = ("period", "status", "progress", "comment", "difficulties", "proposals", "links")
        serializer.instance = services.report_progress(
            data.get("assignment") or current.assignment,
            **{name: data.get(name, getattr(current, name)) for name in fields},
            by=self.request.user,
            report=serializer.instance,
        )


class IndicatorViewSet(ScopedModelViewSet):
    queryset = Indicator.objects.all()
    serializer_class = IndicatorSerializer
    filterset_fields = ["plan"]
    http_method_names = ["get", "patch", "head", "options"]


class IndicatorValueViewSet(ScopedModelViewSet):
    queryset = IndicatorValue.objects.all()
    serializer_class = IndicatorValueSerializer
    filterset_fields = ["indicator", "period"]

    def perform_create(self, serializer):
        self._check_target(serializer.validated_data["indicator"].organization)
        self._record(serializer)

    def perform_update(self, serializer):
        self._record(serializer)

    def _record(self, serializer) -> None:
        """Through `services.record_indicator_value`, as the form does: the period checked, the numeric part
        computed, the value held by the indicator's owner."""
        data, current = serializer.validated_data, serializer.instance
        serializer.instance = services.record_indicator_value(
            data.get("indicator") or current.indicator,
            period=data.get("period") or current.period,
            value=data.get("value", current.value if current else ""),
            note=data.get("note", current.note if current else ""),
        )


class LegalDocumentViewSet(ScopedModelViewSet):
    queryset = LegalDocument.objects.all()
    serializer_class = LegalDocumentSerializer
    filterset_fields = ["kind"]


router = DefaultRouter()
router.register("plans", PlanViewSet, basename="plan")
router.register("tasks", TaskViewSet, basename="task")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("progress-reports", ProgressReportViewSet, basename="progressreport")
router.register("indicators", IndicatorViewSet, basename="indicator")
router.register("indicator-values", IndicatorValueViewSet, basename="indicatorvalue")
router.register("legal-documents", LegalDocumentViewSet, basename="legaldocument")
