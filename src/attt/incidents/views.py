"""Pages of incident response: intake (authenticated and public), the list, the incident with its timeline, tasks,
observables, deadlines and actions per state; tasks as their assignee sees them; missed deadlines; the network."""

from __future__ import annotations

import datetime
import json

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from attt.core import scoping
from attt.core.locks import VERSION_FIELD, apply_to_current, lock_current
from attt.core.middleware import client_ip
from attt.core.models import Organization
from attt.core.uploads import check_upload, download_response
from attt.core.views.generic import Column, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView
from attt.incidents import documents, forms, services
from attt.incidents.filtersets import (
    IncidentFilterSet,
    IncidentTaskFilterSet,
    NetworkMemberFilterSet,
    ObservableFilterSet,
)
from attt.incidents.models import MEMBER_FIELDS, Attachment, Incident, IncidentTask, NetworkMember, Observable
from attt.registry import services as registry
from attt.regulation import services as regulation

MAX_ATTACHMENT = 20 * 2**20
MAX_BUNDLE = 10 * 2**20
BUNDLE_TYPES = {".json": "application/json", ".stix": "application/json"}


def _errors(request, exc: ValidationError) -> None:
    for text in exc.messages:
        messages.error(request, text)


# --- Incidents ----------------------------------------------------------------------------------------


class IncidentListView(ObjectListView):
    model = Incident
    queryset = Incident.objects.select_related("organization")
    filterset_class = IncidentFilterSet
    template_name = "incidents/incident_list.html"
    columns = [
        Column(gettext_lazy("Number"), "number", link=True),
        Column(gettext_lazy("Title"), "title"),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("State"), "get_state_display"),
        Column(gettext_lazy("Severity"), "get_severity_display"),
        Column(gettext_lazy("TLP"), "tlp"),
        Column(gettext_lazy("Discovered"), "discovered_at"),
    ]


def _may_report(user) -> None:
    if not scoping.get_scope(user).has_anywhere("incidents.incident.add"):
        raise PermissionDenied


class IncidentReportView(LoginRequiredMixin, TemplateView):
    """The authenticated intake form. Its systems are picked through a search (`forms.SystemPicker`): the page
    never loads every system the user may see. The picker's Find button (used without script) posts the form
    back: the page comes again with what was typed and the matches, nothing saved."""

    template_name = "core/form.html"

    def form(self, data=None, **kwargs):
        user = self.request.user
        _may_report(user)
        return forms.IncidentReportForm(
            data,
            organizations=scoping.organizations_where(user, "incidents.incident.add"),
            systems=registry.visible_systems(user),
            **kwargs,
        )

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "form": kwargs.get("form") or self.form(),
            "title": _("Report an incident"),
        }

    def post(self, request):
        _may_report(request.user)
        if forms.SYSTEM_FIND in request.POST:
            typed = forms.IncidentReportForm.typed(request.POST)
            matches = registry.find_systems(
                request.user, request.POST.get(forms.SYSTEM_QUERY, ""), exclude=typed["systems"]
            )
            return self.render_to_response(self.get_context_data(form=self.form(initial=typed, matches=matches)))
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        data = form.cleaned_data
        try:
            incident = services.report_incident(
                organization=data["organization"],
                title=data["title"],
                description=data["description"],
                source=data["source"],
                reporter=request.user,
                systems=[s.pk for s in data["systems"]],
                observables=data["observables"],
                occurred_at=data["discovered_at"],
                category=data["category"] or None,
            )
        except ValidationError as exc:
            _errors(request, exc)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, _("Incident %(n)s received.") % {"n": incident.number})
        return redirect(incident.get_absolute_url())


class SystemSearchView(LoginRequiredMixin, View):
    """The picker's matches for the text typed (HTMX): among the systems the user may see, at most
    `registry.SYSTEM_MATCHES`, the ones already chosen left out."""

    def get(self, request):
        _may_report(request.user)
        matches = registry.find_systems(
            request.user, request.GET.get(forms.SYSTEM_QUERY, ""), exclude=request.GET.getlist("systems")
        )
        return render(request, "incidents/system_matches.html", {"matches": matches, "name": "systems"})


class PublicReportView(TemplateView):
    """Anyone may report; rate-limited per address, honeypot and signed issue time instead of a captcha."""

    template_name = "incidents/public_report.html"

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "form": kwargs.get("form") or forms.PublicReportForm(),
            "title": _("Report a cybersecurity incident"),
        }

    def post(self, request):
        form = forms.PublicReportForm(request.POST)
        address = client_ip(request)
        since = timezone.now() - datetime.timedelta(hours=1)
        if services.public_reports_from(address, since) >= services.PUBLIC_LIMIT_PER_HOUR:
            response = self.render_to_response(self.get_context_data(form=form, limited=True), status=429)
            response["Retry-After"] = "3600"
            return response
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.cleaned_data
        incident = services.report_public(
            title=data["title"],
            description=data["description"],
            name=data["name"],
            contact=data["contact"],
            address=address,
            observables=data["observables"],
        )
        return render(request, "incidents/public_thanks.html", {"number": incident.number, "title": _("Thank you")})


class IncidentDetailView(ObjectDetailView):
    model = Incident
    template_name = "incidents/incident_detail.html"
    fields = [
        "number",
        "organization",
        "state",
        "regime",
        "source",
        "category",
        "severity",
        "severity_computed",
        "tlp",
        "discovered_at",
        "received_at",
        "responded_at",
        "closed_at",
        "duplicate_of__number",
        "reporter_name",
        "reporter_contact",
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        incident = context["object"]
        user = self.request.user
        policy = regulation.incident_policy(incident.regime)
        rules = {d.code: d for d in policy.deadlines}
        observables = list(incident.observables.all()[:500])
        seen = services.sightings(user, observables)
        kind = services.taxonomy().get(incident.category)
        can = {a: scoping.can(user, a, incident) for a in ("change", "classify", "coordinate", "share", "export")}
        steps = services.allowed_steps(user, incident)
        context.update(
            {
                "category_label": kind.label() if kind else "",
                "policy": policy,
                "systems": incident.systems.select_related("organization"),
                "timeline": incident.timeline.select_related("actor"),
                "tasks": incident.tasks.select_related("organization"),
                "observables": [(o, seen.get((o.kind, o.value), 0)) for o in observables],
                "deadlines": [(d, rules.get(d.code)) for d in incident.deadlines.all()],
                "attachments": incident.attachments.all(),
                "duplicates": services.duplicate_hints(user, incident),
                "steps": [s for s in steps if s != "classify"],
                "can": can,
                "can_classify": "classify" in steps,
                "classify_form": forms.ClassifyForm(
                    instance=incident,
                    initial={
                        "category": incident.category,
                        "tlp": incident.tlp,
                        "impacts": incident.impacts,
                        "beyond_capacity": incident.beyond_capacity,
                        "national_security": incident.national_security,
                    },
                ),
                "task_form": forms.TaskForm(assignees=Organization.objects.none()),
                "assignee_choices": services.assignable_organizations(incident)[:500] if can["coordinate"] else [],
                "observable_form": forms.ObservableForm(),
                "techniques_form": forms.TechniquesForm(initial={"techniques": " ".join(incident.techniques)}),
                "attachment_form": forms.AttachmentForm(),
                "now": timezone.now(),
                "form_codes": list(policy.forms),
            }
        )
        return context


class IncidentActionView(LoginRequiredMixin, View):
    """A POST on one visible incident; out of scope is 404, a refused rule a message."""

    required: str | None = None  # the action needed on the incident when the service called does not check one

    def incident(self, pk) -> Incident:
        return get_object_or_404(scoping.visible(self.request.user, Incident.objects.all()), pk=pk)

    def post(self, request, pk):
        incident = self.incident(pk)
        if self.required and not scoping.can(request.user, self.required, incident):
            raise PermissionDenied
        try:
            with transaction.atomic():
                self.act(request, incident)
        except ValidationError as exc:
            _errors(request, exc)
        return redirect(incident.get_absolute_url())

    def act(self, request, incident):  # pragma: no cover - interface
        raise NotImplementedError


class ClassifyView(IncidentActionView):
    def act(self, request, incident):
        form = forms.ClassifyForm(request.POST)
        if not form.is_valid():
            raise ValidationError([e for errs in form.errors.values() for e in errs])
        services.classify(
            incident, by=request.user, read_version=request.POST.get(VERSION_FIELD, ""), **form.cleaned_data
        )
        messages.success(request, _("Classified."))


class StepView(IncidentActionView):
    def act(self, request, incident):
        form = forms.StepForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Choose a step."))
        services.take_step(incident, form.cleaned_data["step"], by=request.user, note=form.cleaned_data["note"])
        messages.success(request, _("Saved."))


class DuplicateView(IncidentActionView):
    def act(self, request, incident):
        original = get_object_or_404(
            scoping.visible(request.user, Incident.objects.all()), pk=request.POST.get("original") or None
        )
        services.mark_duplicate(incident, original, by=request.user)
        messages.success(request, _("Marked as a duplicate of %(n)s.") % {"n": original.number})


class TaskAddView(IncidentActionView):
    def act(self, request, incident):
        form = forms.TaskForm(request.POST, assignees=services.assignable_organizations(incident))
        if not form.is_valid():
            raise ValidationError([e for errs in form.errors.values() for e in errs])
        data = form.cleaned_data
        services.add_task(
            incident,
            by=request.user,
            assignee=data["assignee"],
            title=data["title"],
            due_date=data["due_date"],
            description=data["description"],
            kind=data["kind"],
        )
        messages.success(request, _("Task assigned."))


class ObservableAddView(IncidentActionView):
    required = "change"

    def act(self, request, incident):
        form = forms.ObservableForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Choose a kind and a value."))
        services.add_observable(
            incident,
            form.cleaned_data["kind"],
            form.cleaned_data["value"],
            by=request.user,
            shareable=form.cleaned_data["shareable"],
        )


class TechniquesView(IncidentActionView):
    required = "change"

    def act(self, request, incident):
        ids = request.POST.get("techniques", "").replace(",", " ").split()
        services.set_techniques(incident, ids, by=request.user)


class AttachmentAddView(IncidentActionView):
    required = "change"

    def act(self, request, incident):
        add_attachment(request, incident)


def add_attachment(request, incident, task=None) -> Attachment | None:
    upload = request.FILES.get("file")
    if upload is None:
        return None
    checked = check_upload(upload, max_bytes=MAX_ATTACHMENT)
    attachment = Attachment(
        incident=incident,
        task=task,
        organization=task.organization if task else incident.organization,
        name=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
    )
    attachment.file.save(checked.storage_name(), upload, save=False)
    attachment.save()
    services.log(incident, "attachment", by=request.user, note=f"{checked.name} ({checked.sha256[:12]}…)")
    return attachment


class AttachmentDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk):
        attachment = get_object_or_404(scoping.visible(request.user, Attachment.objects.all()), pk=pk)
        return download_response(attachment.file, attachment.name, attachment.content_type)


class FormDownloadView(LoginRequiredMixin, View):
    """The regime's forms for an incident as DOCX; POST records the report as sent (meets its deadlines)."""

    def incident(self, pk, code) -> Incident:
        """The visible incident, if its regime gives incidents the form `code` (404 otherwise)."""
        incident = get_object_or_404(scoping.visible(self.request.user, Incident.objects.all()), pk=pk)
        if code not in regulation.incident_policy(incident.regime).forms or code == "member_report":
            raise Http404
        return incident

    def get(self, request, pk, code):
        incident = self.incident(pk, code)
        content, name = documents.incident_form(incident, code)
        response = HttpResponse(content, content_type=documents.DOCX)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def post(self, request, pk, code):
        incident = self.incident(pk, code)
        if not scoping.can(request.user, "change", incident):
            raise PermissionDenied
        with transaction.atomic():
            services.mark_report_sent(incident, code, by=request.user)
        messages.success(request, _("Recorded as sent."))
        return redirect(incident.get_absolute_url())


class ExportView(LoginRequiredMixin, View):
    def get(self, request, pk, fmt):
        incident = get_object_or_404(scoping.visible(request.user, Incident.objects.all(), "export"), pk=pk)
        if fmt not in ("stix", "misp"):
            raise Http404
        try:
            data = services.export(incident, fmt)
        except ValidationError as exc:
            _errors(request, exc)
            return redirect(incident.get_absolute_url())
        response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 1})
        response["Content-Disposition"] = f'attachment; filename="{incident.number}.{fmt}.json"'
        return response


class ShareView(IncidentActionView):
    def act(self, request, incident):
        count = services.share(incident, by=request.user)
        messages.success(request, _("%(n)s indicators shared.") % {"n": count})


class StixImportView(LoginRequiredMixin, TemplateView):
    template_name = "core/form.html"

    def form(self):
        user = self.request.user
        if not scoping.get_scope(user).has_anywhere("incidents.incident.add"):
            raise PermissionDenied
        return forms.StixImportForm(
            self.request.POST or None,
            self.request.FILES or None,
            organizations=scoping.organizations_where(user, "incidents.incident.add"),
        )

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "form": kwargs.get("form") or self.form(),
            "title": _("Import a STIX 2.1 bundle"),
        }

    def post(self, request):
        form = self.form()
        if form.is_valid():
            upload = form.cleaned_data["bundle"]
            try:
                check_upload(upload, max_bytes=MAX_BUNDLE, allowed=BUNDLE_TYPES)
                try:
                    data = json.loads(upload.read().decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise ValidationError(_("The file is not JSON.")) from None
                created = services.import_stix(data, organization=form.cleaned_data["organization"], by=request.user)
            except ValidationError as exc:
                form.add_error("bundle", exc)
            else:
                messages.success(request, _("%(n)s incidents imported.") % {"n": len(created)})
                return redirect("incidents:incident_list")
        return self.render_to_response(self.get_context_data(form=form))


# --- Tasks -------------------------------------------------------------------------------------------


class IncidentTaskListView(ObjectListView):
    model = IncidentTask
    queryset = IncidentTask.objects.select_related("incident", "organization")
    filterset_class = IncidentTaskFilterSet
    columns = [
        Column(gettext_lazy("Task"), "title", link=True),
        Column(gettext_lazy("Incident"), "incident__number"),
        Column(gettext_lazy("Assignee"), "organization__name"),
        Column(gettext_lazy("Kind"), "get_kind_display"),
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Due date"), "due_date"),
    ]


class IncidentTaskDetailView(ObjectDetailView):
    model = IncidentTask
    template_name = "incidents/task_detail.html"
    fields = [
        "organization",
        "kind",
        "status",
        "due_date",
        "acknowledged_at",
        "completed_at",
        "description",
        "evidence",
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        task = context["object"]
        context["shared"] = services.recipient_view(task)
        context["step_form"] = forms.TaskStepForm()
        context["task_attachments"] = task.attachments.all()
        context["can_change"] = False  # no generic edit page: the assignee moves the task with its steps
        context["can_step"] = scoping.can(self.request.user, "change", task) and task.status in ("open", "acknowledged")
        return context


class TaskStepView(LoginRequiredMixin, View):
    def post(self, request, pk):
        task = get_object_or_404(scoping.visible(request.user, IncidentTask.objects.select_related("incident")), pk=pk)
        form = forms.TaskStepForm(request.POST, request.FILES)
        if not form.is_valid():
            messages.error(request, _("Choose a step."))
            return redirect(task.get_absolute_url())
        try:
            with transaction.atomic():
                lock_current(task)  # before the file's write, as task_step will lock it
                if not scoping.can(request.user, "change", task):
                    raise PermissionDenied
                add_attachment(request, task.incident, task)
                services.task_step(
                    task, form.cleaned_data["status"], by=request.user, evidence=form.cleaned_data["evidence"]
                )
        except ValidationError as exc:
            _errors(request, exc)
        return redirect(task.get_absolute_url())


# --- Observables, breaches ----------------------------------------------------------------------------


class ObservableListView(ObjectListView):
    model = Observable
    queryset = Observable.objects.select_related("incident")
    filterset_class = ObservableFilterSet
    columns = [
        Column(gettext_lazy("Kind"), "kind"),
        Column(gettext_lazy("Value"), "value"),
        Column(gettext_lazy("Incident"), "incident__number"),
        Column(gettext_lazy("Shareable"), "shareable"),
    ]


class BreachListView(LoginRequiredMixin, TemplateView):
    """Missed statutory deadlines: those still open (default) or those met late (`?met_late=1`)."""

    template_name = "incidents/breach_list.html"

    def get_context_data(self, **kwargs):
        if not scoping.get_scope(self.request.user).has_anywhere("incidents.deadline.view"):
            raise PermissionDenied
        met_late = self.request.GET.get("met_late") == "1"
        rows = services.breaches(self.request.user, met_late=met_late).order_by("-due_at" if met_late else "due_at")
        page = Paginator(rows, 50).get_page(self.request.GET.get("page"))
        labels = {}
        for d in page:
            rule = services.deadline_rule(d.incident.regime, d.code)
            labels[d.pk] = rule.label() if rule else d.code
        return {
            **super().get_context_data(**kwargs),
            "title": _("Missed deadlines"),
            "page": page,
            "rows": [(d, labels[d.pk]) for d in page],
            "met_late": met_late,
            "querystring": "met_late=1" if met_late else "",
        }


# --- Network -------------------------------------------------------------------------------------------


class NetworkMemberListView(ObjectListView):
    model = NetworkMember
    queryset = NetworkMember.objects.select_related("organization")
    filterset_class = NetworkMemberFilterSet
    columns = [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("Kind"), "get_kind_display"),
        Column(gettext_lazy("Country"), "country"),
        Column(gettext_lazy("Priority sector"), "sector"),
        Column(gettext_lazy("Contact point"), "contact_name"),
        Column(gettext_lazy("24/7 phone"), "contact_phone"),
    ]


class NetworkMemberDetailView(ObjectDetailView):
    model = NetworkMember
    template_name = "incidents/member_detail.html"
    fields = ["organization", *MEMBER_FIELDS, "contact_updated_at", "active"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        member = context["object"]
        year = timezone.localdate().year
        context["stats"] = services.member_statistics(NetworkMember.objects.filter(pk=member.pk)).get(
            member.organization_id, {}
        )
        context["report_dates"] = services.member_report_dates(year)
        context["reports"] = [(r, services.period_label(r)) for r in member.reports.all()]
        context["year"] = year
        return context


class NetworkMemberEditView(ObjectEditView):
    model = NetworkMember
    form_class = forms.NetworkMemberForm

    def save(self, form):
        apply_to_current(form)
        member = form.save(commit=False)
        services.note_contact_change(member, form.changed_data)
        member.save()
        return member


class NetworkMemberDeleteView(ObjectDeleteView):
    model = NetworkMember


class MemberReportView(LoginRequiredMixin, View):
    """POST: submit the member's report for a period; GET: its DOCX (Form 05 layout)."""

    def member(self, pk):
        return get_object_or_404(scoping.visible(self.request.user, NetworkMember.objects.all()), pk=pk)

    def post(self, request, pk):
        member = self.member(pk)
        try:
            services.submit_member_report(
                member, period=request.POST.get("period", ""), year=timezone.localdate().year, by=request.user
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Report submitted."))
        return redirect(member.get_absolute_url())

    def get(self, request, pk, report_pk):
        member = self.member(pk)
        report = get_object_or_404(member.reports.all(), pk=report_pk)
        content, name = documents.member_report_docx(report)
        response = HttpResponse(content, content_type=documents.DOCX)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


urlpatterns = [
    path("", IncidentListView.as_view(), name="incident_list"),
    path("new/", IncidentReportView.as_view(), name="incident_add"),
    path("new/systems/", SystemSearchView.as_view(), name="system_search"),
    path("report/", PublicReportView.as_view(), name="public_report"),
    path("import/", StixImportView.as_view(), name="incident_import"),
    path("<uuid:pk>/", IncidentDetailView.as_view(), name="incident_detail"),
    path("<uuid:pk>/classify/", ClassifyView.as_view(), name="incident_classify"),
    path("<uuid:pk>/step/", StepView.as_view(), name="incident_step"),
    path("<uuid:pk>/duplicate/", DuplicateView.as_view(), name="incident_duplicate"),
    path("<uuid:pk>/tasks/", TaskAddView.as_view(), name="incident_task_add"),
    path("<uuid:pk>/observables/", ObservableAddView.as_view(), name="incident_observable_add"),
    path("<uuid:pk>/techniques/", TechniquesView.as_view(), name="incident_techniques"),
    path("<uuid:pk>/attachments/", AttachmentAddView.as_view(), name="incident_attachment_add"),
    path("<uuid:pk>/forms/<slug:code>/", FormDownloadView.as_view(), name="incident_form"),
    path("<uuid:pk>/export/<slug:fmt>/", ExportView.as_view(), name="incident_export"),
    path("<uuid:pk>/share/", ShareView.as_view(), name="incident_share"),
    path("attachments/<uuid:pk>/", AttachmentDownloadView.as_view(), name="attachment_download"),
    path("tasks/", IncidentTaskListView.as_view(), name="incidenttask_list"),
    path("tasks/<uuid:pk>/", IncidentTaskDetailView.as_view(), name="incidenttask_detail"),
    path("tasks/<uuid:pk>/step/", TaskStepView.as_view(), name="incidenttask_step"),
    path("observables/", ObservableListView.as_view(), name="observable_list"),
    path("deadlines/missed/", BreachListView.as_view(), name="breach_list"),
    path("network/", NetworkMemberListView.as_view(), name="networkmember_list"),
    path("network/new/", NetworkMemberEditView.as_view(), name="networkmember_add"),
    path("network/<uuid:pk>/", NetworkMemberDetailView.as_view(), name="networkmember_detail"),
    path("network/<uuid:pk>/edit/", NetworkMemberEditView.as_view(), name="networkmember_edit"),
    path("network/<uuid:pk>/delete/", NetworkMemberDeleteView.as_view(), name="networkmember_delete"),
    path("network/<uuid:pk>/reports/", MemberReportView.as_view(), name="memberreport_submit"),
    path("network/<uuid:pk>/reports/<uuid:report_pk>/", MemberReportView.as_view(), name="memberreport_docx"),
]
