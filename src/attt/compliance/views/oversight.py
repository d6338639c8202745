"""Pages of oversight: dashboards with drill-down, periodic reports, compliance inspections and findings.

Every query goes through the scoping layer (records outside the user's subtrees are 404). A submitted
report is locked: its edit, regenerate and delete pages refuse it. A finding moves open → acknowledged →
remediated → verified: the inspected organisation acknowledges and reports the remediation, the
inspecting body verifies it (or sends it back).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from attt.compliance import dashboards, reports
from attt.compliance.inspections import (
    OPEN_FINDING_STATES,
    acknowledge_finding,
    finding_actions,
    may_edit_finding,
    notify_new_finding,
    remediate_finding,
    validate_finding,
    validate_inspection,
    verify_finding,
)
from attt.compliance.models import Finding, Inspection, StatusReport
from attt.core import scoping
from attt.core.filtersets import SearchFilterSet, YearFilter, subtree_filter
from attt.core.forms import DateInput
from attt.core.locks import apply_to_current
from attt.core.models import Organization, User
from attt.core.views.generic import Column, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView
from attt.registry import services as registry
from attt.regulation import services as regulation
from attt.regulation.errors import RegulationLookupError


def regime_choices() -> list[tuple[str, str]]:
    try:
        return [(r.code, r.short_vi or r.code) for r in regulation.regimes()]
    except (AttributeError, RegulationLookupError):
        return [(code, code) for code in ("ND331_2026", "ND85_2016")]


# --- Dashboard --------------------------------------------------------------------------------------------

CHART_WIDTH, BAR_HEIGHT, LABEL_WIDTH = 720, 26, 250
TREND_HEIGHT, TREND_PAD = 220, 36


def _bars(items: list[tuple[str, int]], total: int) -> dict:
    """Geometry of a horizontal bar chart drawn as server-side SVG (no inline style: the CSP)."""
    span = CHART_WIDTH - LABEL_WIDTH - 110  # room for "1234 (56.7%)" after the longest bar
    biggest = max([n for _label, n in items] + [1])
    bars = []
    for index, (label, n) in enumerate(items):
        bars.append(
            {
                "label": label,
                "value": n,
                "pct": dashboards.pct(n, total),
                "bar_y": index * BAR_HEIGHT + 4,
                "width": round(span * n / biggest, 1),
                "text_y": index * BAR_HEIGHT + 17,
                "value_x": LABEL_WIDTH + round(span * n / biggest, 1) + 6,
            }
        )
    return {"bars": bars, "height": len(items) * BAR_HEIGHT, "width": CHART_WIDTH, "label_width": LABEL_WIDTH}


def _trend_chart(series: list[dict]) -> dict | None:
    """Two lines (approved %, fully implementing %) over the months, scaled to 0–100 %."""
    if not series:
        return None
    inner_w, inner_h = CHART_WIDTH - 2 * TREND_PAD, TREND_HEIGHT - 2 * TREND_PAD
    step = inner_w / max(1, len(series) - 1)

    def point(i, pct):
        return round(TREND_PAD + i * step, 1), round(TREND_PAD + inner_h * (1 - pct / 100), 1)

    lines = {}
    for key in ("approved_pct", "fully_pct"):
        points = [point(i, s[key]) for i, s in enumerate(series)]
        lines[key] = {
            "points": " ".join(f"{x},{y}" for x, y in points),
            "dots": [
                {"x": x, "y": y, "value": s[key], "period": s["period"]}
                for (x, y), s in zip(points, series, strict=True)
            ],
        }
    grid = [{"y": round(TREND_PAD + inner_h * (1 - pct / 100), 1), "label": f"{pct}%"} for pct in (0, 25, 50, 75, 100)]
    ticks = [
        {"x": round(TREND_PAD + i * step, 1), "label": s["period"][5:] + "/" + s["period"][2:4]}
        for i, s in enumerate(series)
    ]
    return {
        "width": CHART_WIDTH,
        "height": TREND_HEIGHT,
        "lines": lines,
        "grid": grid,
        "ticks": ticks,
        "left": TREND_PAD,
        "right": CHART_WIDTH - TREND_PAD,
        "bottom": TREND_HEIGHT - TREND_PAD + 18,
        "first": series[0],
        "last": series[-1],
    }


LAYER_LABELS = {
    "onsite": gettext_lazy("Layer 1 – on-site force"),
    "soc": gettext_lazy("Layer 2 – professional monitoring"),
    "assessment": gettext_lazy("Layer 3 – independent assessment"),
    "national": gettext_lazy("Layer 4 – national monitoring"),
    "all": gettext_lazy("All four layers"),
}


IMPLEMENTATION_LABELS = {
    "full": gettext_lazy("Fully implemented"),
    "partial": gettext_lazy("Partly implemented"),
    "none": gettext_lazy("Not implemented"),
    "n/a": gettext_lazy("No approved plan yet"),
}


class OversightMixin(LoginRequiredMixin):
    """Pages that need a permission somewhere in the user's scope (403 without it anywhere)."""

    permission = dashboards.VIEW_PERMISSION

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not scoping.get_scope(request.user).has_anywhere(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def node_context(self, node: dashboards.Node) -> dict:
        scope = scoping.get_scope(self.request.user)
        crumbs = []
        if node.organization is not None:
            crumbs = [a for a in node.organization.ancestors() if scope.allows(self.permission, a)]
        return {"node": node, "crumbs": crumbs}


class DashboardView(OversightMixin, TemplateView):
    template_name = "compliance/oversight/dashboard.html"

    def get_context_data(self, **kwargs):
        result = dashboards.overview(self.request.user, self.request.GET.get("organization") or None)
        figures = result.figures
        levels = [(_("Level %(n)s") % {"n": n}, figures["by_level"][str(n)]) for n in dashboards.LEVELS]
        levels.append((_("No approved level"), figures["by_level"]["none"]))
        layers = [(LAYER_LABELS[key], figures["layers"][key]) for key in (*dashboards.LAYERS, "all")]
        node = result.node
        return {
            **super().get_context_data(**kwargs),
            **self.node_context(node),
            "title": _("Level-based security") + (f" · {node.organization.name}" if node.organization else ""),
            "figures": figures,
            "rows": result.rows,
            "level_chart": _bars(levels, figures["systems"]),
            "layer_chart": _bars(layers, figures["systems"]),
            "trend": result.trend,
            "trend_chart": _trend_chart(result.trend),
            "today": result.generated,
        }


class SystemStatusFilter(forms.Form):
    LEVEL_CHOICES = [
        ("", gettext_lazy("Any level")),
        *[(str(n), str(n)) for n in dashboards.LEVELS],
        ("none", gettext_lazy("No approved level")),
    ]
    YES_NO = [("", gettext_lazy("Any")), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)
    level = forms.ChoiceField(label=gettext_lazy("Approved level"), choices=LEVEL_CHOICES, required=False)
    fully = forms.ChoiceField(label=gettext_lazy("Fully implementing"), choices=YES_NO, required=False)
    layers = forms.ChoiceField(label=gettext_lazy("All four layers"), choices=YES_NO, required=False)


class SystemStatusListView(OversightMixin, TemplateView):
    """The systems under a node with their approved level, plan implementation and layers: the last step
    of the drill-down. Two queries per page (count and page) whatever the number of systems."""

    template_name = "compliance/oversight/system_status_list.html"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        user = self.request.user
        node = dashboards.resolve_node(user, self.request.GET.get("organization") or None)
        queryset = dashboards.annotate_status(registry.visible_systems(user).filter(node.within("organization__path")))
        form = SystemStatusFilter(self.request.GET or None)
        if form.is_valid():
            data = form.cleaned_data
            if data["q"]:
                queryset = queryset.filter(Q(name__fold_contains=data["q"]) | Q(code__fold_contains=data["q"]))
            if data["level"] == "none":
                queryset = queryset.filter(approved_level__isnull=True)
            elif data["level"]:
                queryset = queryset.filter(approved_level=int(data["level"]))
            if data["fully"]:
                queryset = queryset.filter(fully=data["fully"] == "yes")
            if data["layers"] == "yes":
                queryset = queryset.filter(layers=dashboards.ALL_LAYERS)
            elif data["layers"] == "no":
                queryset = queryset.exclude(layers=dashboards.ALL_LAYERS)
        page = Paginator(queryset.order_by("organization__path", "name"), self.paginate_by).get_page(
            self.request.GET.get("page")
        )
        rows = [
            (
                system,
                [
                    bit + 1
                    for bit in range(len(dashboards.LAYERS))
                    if system.layers is not None and system.layers & (1 << bit)
                ],
            )
            for system in page
        ]
        query = self.request.GET.copy()
        query.pop("page", None)
        return {
            **super().get_context_data(**kwargs),
            **self.node_context(node),
            "title": _("Systems") + (f" · {node.organization.name}" if node.organization else ""),
            "form": form,
            "page": page,
            "rows": rows,
            "querystring": query.urlencode(),
        }


# --- Status reports --------------------------------------------------------------------------------------


class StatusReportFilterSet(SearchFilterSet):
    search_fields = ("organization__name", "notes")
    kind = django_filters.ChoiceFilter(choices=StatusReport.Kind.choices, label=gettext_lazy("Kind"))
    state = django_filters.ChoiceFilter(choices=StatusReport.State.choices, label=gettext_lazy("State"))
    organization = subtree_filter(gettext_lazy("Organisation (and its units)"))
    year = YearFilter(field_name="period_end__year", label=gettext_lazy("Year"))

    class Meta:
        model = StatusReport
        fields = ["q", "kind", "state", "organization", "year"]


class GenerateForm(forms.Form):
    organization = forms.ModelChoiceField(label=gettext_lazy("Organisation"), queryset=Organization.objects.none())
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=StatusReport.Kind.choices)
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2016, max_value=2100)
    month = forms.IntegerField(
        label=gettext_lazy("Month"),
        min_value=1,
        max_value=12,
        required=False,
        help_text=gettext_lazy(
            "For a monthly report. An annual report covers 15 December of the year before to 14 December."
        ),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = scoping.organizations_where(user, "compliance.statusreport.add")
        if not self.is_bound:
            year, month = reports.default_period(StatusReport.Kind.MONTHLY)
            self.initial.update(
                kind=StatusReport.Kind.MONTHLY, year=year, month=month, organization=user.organization_id
            )

    def clean(self):
        data = super().clean()
        if data.get("kind") == StatusReport.Kind.MONTHLY and not data.get("month"):
            self.add_error("month", _("Say which month the report covers."))
        return data


class NameColumn(Column):
    """The record's own name (a report is named by its kind, organisation and period)."""

    def value(self, obj):
        return str(obj)


class ReportMixin:
    model = StatusReport
    namespace = "compliance:statusreport"

    def refuse_if_locked(self, report: StatusReport) -> None:
        if report.state == StatusReport.State.SUBMITTED:
            raise PermissionDenied(_("This report was submitted and is locked; it can no longer be changed."))


class StatusReportListView(ReportMixin, ObjectListView):
    queryset = StatusReport.objects.select_related("organization")
    filterset_class = StatusReportFilterSet
    template_name = "compliance/oversight/statusreport_list.html"
    columns = [
        NameColumn(gettext_lazy("Report"), "", link=True),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("Period end"), "period_end"),
        Column(gettext_lazy("Due before"), "due_date"),
        Column(gettext_lazy("State"), "state"),
        Column(gettext_lazy("Submitted at"), "submitted_at"),
    ]


class StatusReportGenerateView(ReportMixin, OversightMixin, View):
    """Generate a report from the data (or refresh a draft's figures) for one organisation and period."""

    permission = "compliance.statusreport.add"

    def get(self, request):
        return self.render(GenerateForm(user=request.user, initial=self._initial(request)))

    def _initial(self, request) -> dict:
        keys = ("organization", "kind", "year", "month")
        return {k: request.GET[k] for k in keys if request.GET.get(k)}

    def post(self, request):
        form = GenerateForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = reports.generate(
                    data["organization"],
                    data["kind"],
                    year=data["year"],
                    month=data["month"] if data["kind"] == StatusReport.Kind.MONTHLY else None,
                    by=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The report was generated from the current data."))
                return redirect(report.get_absolute_url())
        return self.render(form)

    def render(self, form):
        return render(
            self.request,
            "compliance/oversight/form.html",
            {"form": form, "title": _("Generate a report"), "cancel_url": reverse("compliance:statusreport_list")},
        )


class StatusReportDetailView(ReportMixin, ObjectDetailView):
    template_name = "compliance/oversight/statusreport_detail.html"
    fields = [
        "organization",
        "kind",
        "regime",
        "period_start",
        "period_end",
        "due_date",
        "state",
        "submitted_at",
        "submitted_by",
    ]
    systems_shown = 100

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report, user = context["object"], self.request.user
        data = report.data or {}
        draft = report.state == StatusReport.State.DRAFT
        totals = data.get("totals", {})
        context.update(
            data=data,
            totals=totals,
            late=reports.is_late(report),
            draft=draft,
            can_change=draft and scoping.can(user, "change", report),
            can_delete=draft and scoping.can(user, "delete", report),
            can_submit=draft and scoping.can(user, "submit", report),
            can_regenerate=draft and scoping.can(user, "add", report),
            can_export=scoping.can(user, "export", report),
            formats=list(reports.EXPORTS),
            systems=[
                {**s, "implementation": IMPLEMENTATION_LABELS.get(s.get("implementation"), "")}
                for s in data.get("systems", [])[: self.systems_shown]
            ],
            systems_total=len(data.get("systems", [])),
            implementation=[
                (label, totals.get("implementation", {}).get(k, 0)) for k, label in IMPLEMENTATION_LABELS.items()
            ],
            levels=[
                (str(n), totals.get("proposed_by_level", {}).get(str(n), 0), totals.get("by_level", {}).get(str(n), 0))
                for n in dashboards.LEVELS
            ],
            layers=[
                (LAYER_LABELS[k], totals.get("layers", {}).get(k, 0), totals.get("layers_pct", {}).get(k, 0))
                for k in (*dashboards.LAYERS, "all")
            ],
        )
        return context


class NotesForm(forms.ModelForm):
    class Meta:
        model = StatusReport
        fields = ["notes"]


class StatusReportEditView(ReportMixin, ObjectEditView):
    """Only the 'difficulties and proposals' text is written by hand; the figures come from the data."""

    form_class = NotesForm

    def get_object(self):
        report = super().get_object()
        self.refuse_if_locked(report)
        return report

    def save(self, form):
        return reports.update_notes(form.instance, form.cleaned_data["notes"])


class StatusReportDeleteView(ReportMixin, ObjectDeleteView):
    def get_object(self):
        report = super().get_object()
        self.refuse_if_locked(report)
        return report


class StatusReportActionView(ReportMixin, OversightMixin, View):
    permission = "compliance.statusreport.view"

    def report(self, request, pk, action: str) -> StatusReport:
        report = get_object_or_404(
            scoping.visible(request.user, StatusReport.objects.select_related("organization")), pk=pk
        )
        if not scoping.can(request.user, action, report):
            raise PermissionDenied
        return report


class StatusReportSubmitView(StatusReportActionView):
    def post(self, request, pk):
        report = self.report(request, pk, "submit")
        try:
            reports.submit(report, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The report was submitted and is now locked."))
        return redirect(report.get_absolute_url())


class StatusReportRegenerateView(StatusReportActionView):
    def post(self, request, pk):
        report = self.report(request, pk, "add")
        self.refuse_if_locked(report)
        try:
            reports.generate(
                report.organization,
                report.kind,
                year=report.period_end.year,
                month=report.period_end.month,
                by=request.user,
            )
        except ValidationError as exc:  # submitted meanwhile (after the page was read): locked now
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The figures were refreshed from the current data."))
        return redirect(report.get_absolute_url())


class StatusReportExportView(StatusReportActionView):
    def get(self, request, pk, fmt):
        report = self.report(request, pk, "export")
        if fmt not in reports.EXPORTS:
            raise Http404
        content, content_type, name = reports.export(report, fmt)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# --- Inspections ------------------------------------------------------------------------------------------


class InspectionFilterSet(SearchFilterSet):
    search_fields = ("title", "scope")
    state = django_filters.ChoiceFilter(choices=Inspection.State.choices, label=gettext_lazy("State"))
    year = YearFilter(label=gettext_lazy("Year"))
    organization = subtree_filter(gettext_lazy("Inspecting body (and its units)"))

    class Meta:
        model = Inspection
        fields = ["q", "state", "year", "organization"]


class InspectionForm(forms.ModelForm):
    regime = forms.ChoiceField(label=gettext_lazy("Legal regime"), choices=())

    class Meta:
        model = Inspection
        fields = ["organization", "title", "year", "regime", "state", "starts", "ends", "team", "targets", "scope"]
        widgets = {"starts": DateInput, "ends": DateInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regime"].choices = regime_choices()
        if self.instance._state.adding and self.initial.get("year") is None:  # a new record has its UUID already
            self.initial["year"] = timezone.localdate().year

    def clean(self):
        data = super().clean()
        if data.get("organization") and not self.errors:
            self.instance.organization = data["organization"]
            self.instance.starts, self.instance.ends = data.get("starts"), data.get("ends")
            try:
                validate_inspection(self.instance, data.get("targets") or [])
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    self.add_error(name, errors)
        return data


def limit_inspection_choices(form, user: User) -> None:
    """The team from the people the user sees; targets from where the user may plan inspections."""
    form.fields["team"].queryset = scoping.visible(user, User.objects.filter(is_active=True)).order_by(
        "last_name", "first_name"
    )
    form.fields["targets"].queryset = scoping.organizations_where(user, "compliance.inspection.add")


class InspectionMixin:
    model = Inspection
    namespace = "compliance:inspection"


class InspectionListView(InspectionMixin, ObjectListView):
    queryset = Inspection.objects.select_related("organization")
    filterset_class = InspectionFilterSet
    columns = [
        Column(gettext_lazy("Title"), "title", link=True),
        Column(gettext_lazy("Inspecting body"), "organization__name"),
        Column(gettext_lazy("Year"), "year"),
        Column(gettext_lazy("State"), "state"),
        Column(gettext_lazy("Starts"), "starts"),
        Column(gettext_lazy("Ends"), "ends"),
    ]


class InspectionDetailView(InspectionMixin, ObjectDetailView):
    template_name = "compliance/oversight/inspection_detail.html"
    fields = ["organization", "title", "year", "regime", "state", "starts", "ends", "scope"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        inspection, user = context["object"], self.request.user
        findings = scoping.visible(user, inspection.findings.select_related("organization", "system"))
        counts = dict(findings.values_list("requirement").annotate(n=Count("pk")).order_by())
        try:
            level = int(self.request.GET.get("level", 3))
        except ValueError:
            level = 3
        level = min(max(level, 1), 5)
        try:
            requirements = [(r, counts.get(r.code, 0)) for r in regulation.requirements(inspection.regime, level)]
        except RegulationLookupError:
            requirements = []
        context.update(
            team=inspection.team.all().order_by("last_name", "first_name"),
            targets=inspection.targets.all().order_by("path"),
            findings=findings.order_by("state", "due_date")[:200],
            finding_states=dict(findings.values_list("state").annotate(n=Count("pk")).order_by()),
            requirements=requirements,
            level=level,
            levels=dashboards.LEVELS,
            can_add_finding=scoping.get_scope(user).has_anywhere("compliance.finding.add"),
        )
        return context


class InspectionEditView(InspectionMixin, ObjectEditView):
    form_class = InspectionForm

    def get_form(self):
        form = super().get_form()
        limit_inspection_choices(form, self.request.user)
        return form


class InspectionDeleteView(InspectionMixin, ObjectDeleteView):
    pass


# --- Findings --------------------------------------------------------------------------------------------


class FindingFilterSet(SearchFilterSet):
    search_fields = ("description", "remediation", "requirement", "inspection__title")
    state = django_filters.ChoiceFilter(choices=Finding.State.choices, label=gettext_lazy("State"))
    severity = django_filters.ChoiceFilter(choices=Finding.Severity.choices, label=gettext_lazy("Severity"))
    inspection = django_filters.UUIDFilter(field_name="inspection_id", label=gettext_lazy("Inspection"))
    organization = subtree_filter(gettext_lazy("Organisation (and its units)"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=gettext_lazy("Overdue"))

    class Meta:
        model = Finding
        fields = ["q", "state", "severity", "inspection", "organization", "overdue"]

    def filter_overdue(self, queryset, name, value):
        condition = Q(state__in=OPEN_FINDING_STATES, due_date__lt=timezone.localdate())
        return queryset.filter(condition) if value else queryset.exclude(condition)


class FindingForm(forms.ModelForm):
    class Meta:
        model = Finding
        fields = [
            "inspection",
            "organization",
            "system",
            "requirement",
            "severity",
            "description",
            "remediation",
            "due_date",
        ]
        widgets = {"due_date": DateInput}

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("inspection") and data.get("organization"):
            for name in ("inspection", "organization", "system"):
                setattr(self.instance, name, data.get(name))
            try:
                validate_finding(self.instance)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    self.add_error(name if name in self.fields else None, errors)
        return data


class FindingMixin:
    model = Finding
    namespace = "compliance:finding"


class FindingListView(FindingMixin, ObjectListView):
    queryset = Finding.objects.select_related("organization", "inspection")
    filterset_class = FindingFilterSet
    columns = [
        Column(gettext_lazy("Finding"), "description", link=True),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("Inspection"), "inspection__title"),
        Column(gettext_lazy("Requirement"), "requirement"),
        Column(gettext_lazy("Severity"), "severity"),
        Column(gettext_lazy("Due date"), "due_date"),
        Column(gettext_lazy("State"), "state"),
    ]


class FindingDetailView(FindingMixin, ObjectDetailView):
    template_name = "compliance/oversight/finding_detail.html"
    fields = [
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
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        finding, user = context["object"], self.request.user
        context.update(
            inspection_visible=scoping.can(user, "view", finding.inspection),
            actions=finding_actions(user, finding),
            overdue=finding.state in OPEN_FINDING_STATES
            and finding.due_date is not None
            and finding.due_date < timezone.localdate(),
            can_change=context["can_change"]
            and finding.state != Finding.State.VERIFIED
            and may_edit_finding(user, finding, "change"),
            can_delete=context["can_delete"] and may_edit_finding(user, finding, "delete"),
        )
        return context


class FindingEditView(FindingMixin, ObjectEditView):
    form_class = FindingForm

    def get_form(self):
        form = super().get_form()
        user = self.request.user
        inspections = scoping.visible(user, Inspection.objects.exclude(state=Inspection.State.CLOSED)).filter(
            organization__in=scoping.organizations_where(user, self.permission(self.action))
        )
        form.fields["inspection"].queryset = inspections
        inspection = form.instance.inspection if form.instance.inspection_id else None
        wanted = self.request.POST.get("inspection") or self.request.GET.get("inspection")
        if inspection is None and wanted:
            inspection = inspections.filter(pk=dashboards.parse_uuid(wanted)).first()
        systems = registry.visible_systems(user)
        if inspection is not None:
            targets = list(inspection.targets.all())
            if targets:
                condition = Q(pk__in=[])
                for target in targets:
                    condition |= Q(organization__path__startswith=target.path)
                systems = systems.filter(condition)
            if not form.is_bound:
                form.initial.setdefault("inspection", inspection.pk)
        form.fields["system"].queryset = systems.order_by("name")
        if not form.is_bound and self.request.GET.get("requirement"):
            form.initial.setdefault("requirement", self.request.GET["requirement"][:64])
        return form

    def get_object(self):
        finding = super().get_object()
        if finding.state == Finding.State.VERIFIED:
            raise PermissionDenied(_("A verified finding is closed."))
        if not may_edit_finding(self.request.user, finding, "change"):
            raise PermissionDenied
        return finding

    def save(self, form):
        created = form.instance._state.adding
        apply_to_current(form, editable=lambda f: f.state != Finding.State.VERIFIED)
        finding = form.save()
        if created:
            notify_new_finding(finding)
        return finding


class FindingDeleteView(FindingMixin, ObjectDeleteView):
    def get_object(self):
        finding = super().get_object()
        if not may_edit_finding(self.request.user, finding, "delete"):
            raise PermissionDenied
        return finding


class RemediateForm(forms.Form):
    evidence = forms.CharField(label=gettext_lazy("Remediation and evidence"), widget=forms.Textarea)


class VerifyForm(forms.Form):
    accept = forms.TypedChoiceField(
        label=gettext_lazy("Decision"),
        coerce=lambda v: v == "yes",
        choices=[("yes", gettext_lazy("Remediation verified")), ("no", gettext_lazy("Not accepted: send back"))],
    )
    comment = forms.CharField(label=gettext_lazy("Comment"), widget=forms.Textarea, required=False)


class FindingStepView(OversightMixin, View):
    """acknowledge (no form), remediate (evidence) and verify (accept or send back) on one finding."""

    permission = "compliance.finding.view"
    FORMS = {"remediate": RemediateForm, "verify": VerifyForm}
    TITLES = {"remediate": gettext_lazy("Report the remediation"), "verify": gettext_lazy("Verify the remediation")}

    def finding(self, request, pk) -> Finding:
        return get_object_or_404(
            scoping.visible(request.user, Finding.objects.select_related("inspection__organization", "organization")),
            pk=pk,
        )

    def get(self, request, pk, step):
        finding = self.finding(request, pk)
        if step not in self.FORMS:
            raise Http404
        if step not in finding_actions(request.user, finding):
            raise PermissionDenied
        return self.render(finding, step, self.FORMS[step]())

    def post(self, request, pk, step):
        finding = self.finding(request, pk)
        if step not in ("acknowledge", *self.FORMS):
            raise Http404
        if step not in finding_actions(request.user, finding):
            raise PermissionDenied
        form = self.FORMS[step](request.POST) if step in self.FORMS else None
        if form is not None and not form.is_valid():
            return self.render(finding, step, form)
        data = form.cleaned_data if form is not None else {}
        try:
            if step == "acknowledge":
                acknowledge_finding(finding, by=request.user)
            elif step == "remediate":
                remediate_finding(finding, by=request.user, evidence=data["evidence"])
            else:
                verify_finding(finding, by=request.user, accept=data["accept"], comment=data["comment"])
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
                return redirect(finding.get_absolute_url())
            form.add_error(None, exc)
            return self.render(finding, step, form)
        messages.success(request, _("Saved."))
        return redirect(finding.get_absolute_url())

    def render(self, finding, step, form):
        return render(
            self.request,
            "compliance/oversight/form.html",
            {"form": form, "title": f"{self.TITLES[step]}: {finding}", "cancel_url": finding.get_absolute_url()},
        )


urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("overview/systems/", SystemStatusListView.as_view(), name="system_status_list"),
    path("reports/", StatusReportListView.as_view(), name="statusreport_list"),
    path("reports/add/", StatusReportGenerateView.as_view(), name="statusreport_add"),
    path("reports/<uuid:pk>/", StatusReportDetailView.as_view(), name="statusreport_detail"),
    path("reports/<uuid:pk>/edit/", StatusReportEditView.as_view(), name="statusreport_edit"),
    path("reports/<uuid:pk>/delete/", StatusReportDeleteView.as_view(), name="statusreport_delete"),
    path("reports/<uuid:pk>/submit/", StatusReportSubmitView.as_view(), name="statusreport_submit"),
    path("reports/<uuid:pk>/regenerate/", StatusReportRegenerateView.as_view(), name="statusreport_regenerate"),
    path("reports/<uuid:pk>/export/<slug:fmt>/", StatusReportExportView.as_view(), name="statusreport_export"),
    path("inspections/", InspectionListView.as_view(), name="inspection_list"),
    path("inspections/add/", InspectionEditView.as_view(), name="inspection_add"),
    path("inspections/<uuid:pk>/", InspectionDetailView.as_view(), name="inspection_detail"),
    path("inspections/<uuid:pk>/edit/", InspectionEditView.as_view(), name="inspection_edit"),
    path("inspections/<uuid:pk>/delete/", InspectionDeleteView.as_view(), name="inspection_delete"),
    path("findings/", FindingListView.as_view(), name="finding_list"),
    path("findings/add/", FindingEditView.as_view(), name="finding_add"),
    path("findings/<uuid:pk>/", FindingDetailView.as_view(), name="finding_detail"),
    path("findings/<uuid:pk>/edit/", FindingEditView.as_view(), name="finding_edit"),
    path("findings/<uuid:pk>/delete/", FindingDeleteView.as_view(), name="finding_delete"),
    path("findings/<uuid:pk>/<slug:step>/", FindingStepView.as_view(), name="finding_step"),
]
