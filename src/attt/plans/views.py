"""Pages: plan tree, tasks, per-unit assignments with the progress form, overdue list, timeline,
indicator charts, legal library, unit review, and the report downloads."""

import datetime
import uuid

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from attt.core import audit, scoping, uploads
from attt.core.filtersets import SearchFilterSet
from attt.core.models import Organization
from attt.core.views.generic import (
    Column,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    get_scoped_or_404,
)
from attt.plans import charts, reports, services
from attt.plans.models import Assignment, Evidence, Indicator, LegalDocument, Plan, Status, Task

# --- filters and forms ---------------------------------------------------------------------------


class PlanFilterSet(SearchFilterSet):
    search_fields = ("title", "code", "organization__name")

    class Meta:
        model = Plan
        fields = ["q", "kind"]


class TaskFilterSet(SearchFilterSet):
    search_fields = ("content", "lead_text", "coordination_text", "number")
    status = django_filters.ChoiceFilter(choices=Status.choices, label=gettext_lazy("Status"))

    class Meta:
        model = Task
        fields = ["q", "plan", "status", "deadline_kind"]


class AssignmentFilterSet(SearchFilterSet):
    search_fields = ("task__content", "organization__name")
    status = django_filters.ChoiceFilter(choices=Status.choices, label=gettext_lazy("Status"))

    class Meta:
        model = Assignment
        fields = ["q", "status"]


class LegalDocumentFilterSet(SearchFilterSet):
    search_fields = ("title", "number", "issuer", "kind")

    class Meta:
        model = LegalDocument
        fields = ["q", "kind"]


class PlanForm(forms.ModelForm):
    """The parent is not a model field of the form: it offers nothing until the view narrows it to
    the plans the user may see, and only `services.set_parent` writes it (refusing a cycle)."""

    parent = forms.ModelChoiceField(label=gettext_lazy("Implements"), queryset=Plan.objects.none(), required=False)
    field_order = ["organization", "code", "title", "kind", "parent"]

    class Meta:
        model = Plan
        fields = ["organization", "code", "title", "kind", "year_start", "year_end", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("parent", self.instance.parent_id)

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        services.check_parent(self.instance, parent)
        return parent


class LegalDocumentForm(forms.ModelForm):
    """The key that keeps a document once in the library is made from what the form records, never typed
    (`LegalDocumentEditView.save`); `documents` are those the user sees, where a copy is refused."""

    documents = LegalDocument.objects.none()

    class Meta:
        model = LegalDocument
        fields = ["organization", "category", "kind", "number", "date", "issuer", "title"]

    def clean(self):
        data = super().clean()
        if self.instance._state.adding and not self.errors:
            key = LegalDocument.key_for(data["kind"], data["number"], data["date"], data["title"])
            if self.documents.filter(key=key).exists():
                raise ValidationError(_("This document is already in the library."))
        return data


class IndicatorForm(forms.ModelForm):
    """A new indicator belongs to a plan the view offers (within the user's scope) and to that plan's owner;
    its number is the next free one unless given. Plan and number stay as they are afterwards: tasks refer to
    the indicator by them."""

    class Meta:
        model = Indicator
        fields = ["plan", "number", "name", "baseline", "planned", "target"]
        help_texts = {"number": gettext_lazy("Left empty: the next free number of the plan.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            self.fields["plan"].queryset = Plan.objects.none()
            self.fields["number"].required = False
        else:
            del self.fields["plan"], self.fields["number"]


class ProgressForm(forms.Form):
    period = forms.CharField(label=gettext_lazy("Reporting period"), max_length=20, help_text="2024, 2024-Q2, 2024-06")
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=Status.choices)
    progress = forms.IntegerField(label=gettext_lazy("Progress %"), min_value=0, max_value=100)
    comment = forms.CharField(label=gettext_lazy("Results"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    difficulties = forms.CharField(
        label=gettext_lazy("Difficulties"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    proposals = forms.CharField(
        label=gettext_lazy("Proposals"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    links = forms.CharField(label=gettext_lazy("Evidence links"), required=False)
    evidence = forms.FileField(label=gettext_lazy("Evidence file"), required=False)

    def clean_period(self):
        return services.check_period(self.cleaned_data["period"])


class IndicatorValueForm(forms.Form):
    period = forms.CharField(label=gettext_lazy("Period"), max_length=20, help_text="2024, 2024-Q2, 2024-06")
    value = forms.CharField(label=gettext_lazy("Value"), max_length=100)
    note = forms.CharField(label=gettext_lazy("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    clean_period = ProgressForm.clean_period


class AssignForm(forms.Form):
    organizations = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Assign to"), queryset=Organization.objects.none()
    )


# --- plans ---------------------------------------------------------------------------------------


class PlanListView(ObjectListView):
    model = Plan
    queryset = Plan.objects.select_related("organization", "parent")
    filterset_class = PlanFilterSet
    title = gettext_lazy("Plans")
    columns = [
        Column(gettext_lazy("Title"), "title", link=True),
        Column(gettext_lazy("Kind"), "get_kind_display"),
        Column(gettext_lazy("Owner"), "organization__name"),
        Column(gettext_lazy("Implements"), "parent__title"),
    ]


class PlanDetailView(ObjectDetailView):
    model = Plan
    template_name = "plans/plan_detail.html"
    fields = ["code", "kind", "organization__name", "parent__title", "year_start", "year_end", "source_file"]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        plan = ctx["object"]
        user = self.request.user
        tasks = list(scoping.visible(user, plan.tasks.select_related("section", "organization")))
        try:
            year = int(self.request.GET.get("year") or timezone.localdate().year)
        except ValueError:
            year = timezone.localdate().year
        year = min(max(year, 1900), 2999)
        sections = []
        for section in plan.sections.all():
            rows = [t for t in tasks if t.section_id == section.pk]
            if rows:
                sections.append((section, rows))
        ctx.update(
            sections=sections,
            children=scoping.visible(user, plan.children.all()),
            indicators=scoping.visible(user, plan.indicators.all()),
            objectives=plan.objectives.all(),
            year=year,
            periods=services.report_periods({t.deadline_kind for t in tasks}, year)[1:],
            can_report=scoping.can(user, "export", plan),
        )
        return ctx


class PlanEditView(ObjectEditView):
    model = Plan
    form_class = PlanForm

    def get_form(self):
        form = super().get_form()
        form.fields["parent"].queryset = scoping.visible(self.request.user, Plan.objects.exclude(pk=form.instance.pk))
        return form

    def save(self, form):
        return services.set_parent(super().save(form), form.cleaned_data["parent"])


class PlanDeleteView(ObjectDeleteView):
    model = Plan


# --- tasks ---------------------------------------------------------------------------------------


class TaskListView(ObjectListView):
    model = Task
    queryset = Task.objects.select_related("plan", "section", "organization")
    filterset_class = TaskFilterSet
    title = gettext_lazy("Tasks")
    columns = [
        Column(gettext_lazy("Task"), "content", link=True),
        Column(gettext_lazy("Section"), "section__code"),
        Column(gettext_lazy("Lead unit"), "lead_text"),
        Column(gettext_lazy("Deadline"), "deadline_text"),
        Column(gettext_lazy("Due"), "due_date"),
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Progress %"), "progress"),
    ]


class TaskDetailView(ObjectDetailView):
    model = Task
    template_name = "plans/task_detail.html"
    fields = [
        "plan__title",
        "section__title",
        "number",
        "lead_text",
        "coordination_text",
        "expected_result",
        "deadline_text",
        "deadline_kind",
        "due_date",
        "organization__name",
        "status",
        "progress",
    ]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        task = ctx["object"]
        ctx["rows"] = [(label, value) for label, value in ctx["rows"] if value not in ("", None)]
        user = self.request.user
        assignments = scoping.visible(user, task.assignments.select_related("organization", "parent"))
        form = None
        if scoping.can(user, "change", task):
            form = AssignForm()
            form.fields["organizations"].queryset = scoping.organizations_where(user, "plans.assignment.add")
        ctx.update(assignments=assignments, assign_form=form)
        return ctx


class TaskEditView(ObjectEditView):
    model = Task

    class form_class(forms.ModelForm):
        class Meta:
            model = Task
            fields = ["content", "details", "expected_result", "due_date"]


class TaskDeleteView(ObjectDeleteView):
    model = Task


@login_required
def task_assign(request, pk):
    """Hand a task down to units (each gets its own status); also from an assignment to its subtree."""
    task = get_scoped_or_404(request.user, Task.objects.all(), pk=pk)
    if request.method != "POST" or not scoping.can(request.user, "change", task):
        raise PermissionDenied
    form = AssignForm(request.POST)
    form.fields["organizations"].queryset = scoping.organizations_where(request.user, "plans.assignment.add")
    if form.is_valid():
        parent_id = request.POST.get("parent")
        try:
            parent = get_scoped_or_404(request.user, task.assignments.all(), pk=parent_id) if parent_id else None
        except ValidationError:  # not an id: no such assignment
            raise Http404 from None
        try:
            services.assign(task, list(form.cleaned_data["organizations"]), parent=parent)
            messages.success(request, _("Assigned."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect(task.get_absolute_url())


# --- assignments ---------------------------------------------------------------------------------


class AssignmentListView(ObjectListView):
    model = Assignment
    queryset = Assignment.objects.select_related("task", "organization")
    filterset_class = AssignmentFilterSet
    title = gettext_lazy("Assignments")
    columns = [
        Column(gettext_lazy("Task"), "task__content", link=True),
        Column(gettext_lazy("Unit"), "organization__name"),
        Column(gettext_lazy("Due"), "due_date"),
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Progress %"), "progress"),
    ]


class AssignmentDetailView(ObjectDetailView):
    model = Assignment
    template_name = "plans/assignment_detail.html"
    fields = ["task__content", "organization__name", "due_date", "status", "progress", "comment"]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        a = ctx["object"]
        ctx["rows"] = [(label, value) for label, value in ctx["rows"] if value not in ("", None)]
        if ctx["can_change"]:
            ctx["form"] = kwargs.get("form") or ProgressForm(
                initial={"period": str(timezone.localdate().year), "status": a.status, "progress": a.progress}
            )
        ctx["reports"] = a.reports.prefetch_related("evidence")
        ctx["children"] = scoping.visible(self.request.user, a.children.select_related("organization"))
        return ctx

    def post(self, request, *args, **kwargs):
        a = self.get_object()
        if not scoping.can(request.user, "change", a):
            raise PermissionDenied
        form = ProgressForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = services.report_progress(
                    a,
                    period=data["period"],
                    status=data["status"],
                    progress=data["progress"],
                    comment=data["comment"],
                    difficulties=data["difficulties"],
                    proposals=data["proposals"],
                    links=data["links"],
                    by=request.user,
                )
                if data.get("evidence"):
                    services.attach_evidence(report, data["evidence"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Progress recorded."))
                return redirect(a.get_absolute_url())
        return self.render_to_response(self.get_context_data(form=form))


class AssignmentEditView(ObjectEditView):
    model = Assignment

    class form_class(forms.ModelForm):
        class Meta:
            model = Assignment
            fields = ["due_date", "comment"]


class AssignmentDeleteView(ObjectDeleteView):
    model = Assignment


@login_required
def evidence_download(request, pk):
    """An evidence file, only within the user's scope (404 elsewhere), always as a download: no upload
    is ever rendered inline, so a crafted file cannot run script in the platform's origin."""
    evidence = get_scoped_or_404(request.user, Evidence.objects.all(), pk=pk)
    return uploads.download_response(evidence.file, evidence.filename, evidence.content_type)


@login_required
def overdue(request):
    if not scoping.get_scope(request.user).has_anywhere("plans.assignment.view"):
        raise PermissionDenied
    rows = services.overdue_assignments(
        scoping.visible(request.user, Assignment.objects.select_related("task", "organization"))
    ).order_by("due_date", "pk")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "plans/overdue.html", {"page": page, "title": _("Overdue assignments")})


@login_required
def timeline(request):
    """A Gantt-like view of dated tasks, server-rendered SVG."""
    if not scoping.get_scope(request.user).has_anywhere("plans.task.view"):
        raise PermissionDenied
    tasks = scoping.visible(request.user, Task.objects.filter(due_date__isnull=False).select_related("section"))
    plan_id = request.GET.get("plan")
    if plan_id:
        try:
            tasks = tasks.filter(plan_id=plan_id)
        except ValidationError:
            tasks = tasks.none()
    svg = charts.gantt(list(tasks.order_by("start_date", "due_date")[:200]), today=timezone.localdate())
    return render(request, "plans/timeline.html", {"svg": svg, "title": pgettext("plan schedule", "Timeline")})


# --- indicators and the legal library -------------------------------------------------------------


class IndicatorListView(ObjectListView):
    model = Indicator
    queryset = Indicator.objects.select_related("plan")
    title = gettext_lazy("Indicators")
    columns = [
        Column(gettext_lazy("Indicator"), "name", link=True),
        Column(gettext_lazy("Baseline"), "baseline"),
        Column(gettext_lazy("Plan"), "planned"),
        Column(gettext_lazy("Target"), "target"),
    ]


class IndicatorDetailView(ObjectDetailView):
    model = Indicator
    template_name = "plans/indicator_detail.html"
    fields = ["plan__title", "number", "baseline", "planned", "target"]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ind = ctx["object"]
        values = list(scoping.visible(self.request.user, ind.values.all()).order_by("period"))
        ctx["values"] = values
        ctx["chart"] = charts.indicator_chart(ind, values)
        ctx["tasks"] = [
            t
            for t in scoping.visible(self.request.user, ind.plan.tasks.select_related("section"))
            if ind.number in (t.indicator_refs or [])
        ]
        if scoping.can_in(self.request.user, "plans.indicatorvalue.add", ind.organization):
            ctx["value_form"] = kwargs.get("value_form") or IndicatorValueForm(
                initial={"period": str(timezone.localdate().year)}
            )
        return ctx

    def post(self, request, *args, **kwargs):
        """Record a value for a period (held by the indicator's organisation)."""
        ind = self.get_object()
        if not scoping.can_in(request.user, "plans.indicatorvalue.add", ind.organization):
            raise PermissionDenied
        form = IndicatorValueForm(request.POST)
        if form.is_valid():
            try:
                services.record_indicator_value(ind, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error("value", exc)
            else:
                messages.success(request, _("Value recorded."))
                return redirect(ind.get_absolute_url())
        return self.render_to_response(self.get_context_data(value_form=form))


class IndicatorEditView(ObjectEditView):
    model = Indicator
    form_class = IndicatorForm

    def get_form(self):
        form = super().get_form()
        if "plan" in form.fields:
            owners = scoping.organizations_where(self.request.user, self.permission("add"))
            plans = Plan.objects.filter(organization__in=owners)
            form.fields["plan"].queryset = scoping.visible(self.request.user, plans)
        return form

    def save(self, form):
        indicator = form.instance
        if indicator._state.adding:
            audit.lock_chain()  # writes take turns from here, so the next free number stays free
            indicator.organization_id = indicator.plan.organization_id
            if indicator.number is None:
                taken = Indicator.objects.filter(plan=indicator.plan).aggregate(n=Max("number"))["n"]
                indicator.number = (taken or 0) + 1
        return super().save(form)


class IndicatorDeleteView(ObjectDeleteView):
    model = Indicator


class LegalDocumentListView(ObjectListView):
    model = LegalDocument
    filterset_class = LegalDocumentFilterSet
    title = gettext_lazy("Legal library")
    columns = [
        Column(gettext_lazy("Kind"), "kind"),
        Column(gettext_lazy("Number"), "number", link=True),
        Column(gettext_lazy("Date"), "date"),
        Column(gettext_lazy("Issuer"), "issuer"),
        Column(gettext_lazy("Title"), "title"),
    ]


class LegalDocumentDetailView(ObjectDetailView):
    model = LegalDocument
    fields = ["category", "kind", "number", "date", "issuer", "title"]


class LegalDocumentEditView(ObjectEditView):
    model = LegalDocument
    form_class = LegalDocumentForm

    def get_form(self):
        form = super().get_form()
        form.documents = scoping.visible(self.request.user, LegalDocument.objects.all())
        return form

    def save(self, form):
        document = form.instance
        if document._state.adding:
            audit.lock_chain()  # writes take turns from here, so the key stays free
            key = LegalDocument.key_for(document.kind, document.number, document.date, document.title)
            # the same document held by a unit the user does not see: this copy is kept apart, unannounced
            document.key = f"{key[:167]}|{uuid.uuid4().hex}" if LegalDocument.objects.filter(key=key).exists() else key
        return super().save(form)


class LegalDocumentDeleteView(ObjectDeleteView):
    model = LegalDocument


# --- unit review ----------------------------------------------------------------------------------


@login_required
def unit_review(request):
    """Unit names of imported tasks that match no organisation or several: a reviewer picks one,
    and every task led by that name gets it (one audited bulk change)."""
    if not scoping.get_scope(request.user).has_anywhere("plans.task.change"):
        raise PermissionDenied
    tasks = scoping.visible(request.user, Task.objects.exclude(unmatched_units=[]), "change")
    names: dict[str, int] = {}
    for t in tasks.only("unmatched_units"):
        for u in t.unmatched_units:
            names[u["name"]] = names.get(u["name"], 0) + 1
    orgs = scoping.organizations_where(request.user, "plans.task.change")
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            org = orgs.filter(pk=request.POST.get("organization") or None).first()
        except ValidationError:  # not an id: no organisation chosen
            org = None
        if not name or org is None:
            messages.error(request, _("Choose a name and an organisation."))
            return redirect("plans:unit_review")
        may_assign = scoping.can_in(request.user, "plans.assignment.add", org)
        changed, assigned = 0, 0
        for t in tasks:
            if any(u["name"] == name for u in t.unmatched_units):
                t.unmatched_units = [u for u in t.unmatched_units if u["name"] != name]
                lead_names = [x.strip() for x in t.lead_text.replace("\n", ";").split(";")]
                if not t.unit_matched and name in " ".join(lead_names):
                    t.organization, t.unit_matched = org, True
                t.save(update_fields=["unmatched_units", "organization", "unit_matched", "updated_at"])
                changed += 1
                if may_assign:  # the named unit (lead or coordinating) gets its own assignment, once
                    _a, created = Assignment.objects.get_or_create(
                        task=t, organization=org, defaults={"due_date": t.due_date}
                    )
                    assigned += created
        audit.record(
            "workflow",
            object_type="plans.task",
            object_repr=name[:200],
            organization=org,
            changes={
                "step": "plans.unit_review",
                "name": name,
                "organization": str(org),
                "tasks": changed,
                "assignments_created": assigned,
            },
        )
        messages.success(request, _("%(n)s tasks updated, %(a)s assignments created.") % {"n": changed, "a": assigned})
        return redirect("plans:unit_review")
    rows = sorted(names.items(), key=lambda kv: (-kv[1], kv[0]))
    return render(request, "plans/unit_review.html", {"rows": rows, "orgs": orgs[:500], "title": _("Units to review")})


# --- reports --------------------------------------------------------------------------------------


@login_required
def plan_report(request, pk, fmt):
    """The implementation report of a year, quarter or month: the user's unit's, or the owner's consolidated one."""
    plan = get_scoped_or_404(request.user, Plan.objects.all(), pk=pk)
    if fmt not in {"docx", "xlsx"}:
        raise Http404
    if not scoping.get_scope(request.user).has_anywhere("plans.assignment.export"):
        raise PermissionDenied
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
        period = services.check_period(request.GET.get("period") or str(year))
    except (ValueError, TypeError, ValidationError):
        year, period = timezone.localdate().year, str(timezone.localdate().year)
    org = None
    if request.GET.get("organization"):
        try:
            org = get_scoped_or_404(request.user, Organization.objects.all(), pk=request.GET["organization"])
        except ValidationError:  # not an id at all: no such organisation either
            raise Http404 from None
    data = reports.collect(request.user, plan, period=period, organization=org)
    if fmt == "docx":
        body, ctype = reports.to_docx(data), reports.DOCX
    else:
        body, ctype = reports.to_xlsx(data), reports.XLSX
    response = HttpResponse(body, content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="bao-cao-{plan.code}-{period}.{fmt}"'
    return response


def today() -> datetime.date:
    return timezone.localdate()
