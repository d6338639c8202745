"""Pages of early warning: the owner's warnings and their lifecycle, the national corpus with the exposure
map of each CVE, and data-leak notices (imported or entered by hand)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from attt.core import scoping
from attt.core.forms import DateInput
from attt.core.views.generic import Column, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView
from attt.vulns import exports, services
from attt.vulns.filtersets import LeakNoticeFilterSet, VulnerabilityFilterSet, VulnWarningFilterSet
from attt.vulns.models import LeakNotice, Vulnerability, VulnWarning, WarningStatus


class VulnWarningListView(ObjectListView):
    model = VulnWarning
    queryset = VulnWarning.objects.select_related("vulnerability", "system", "organization")
    filterset_class = VulnWarningFilterSet
    columns = [
        Column(gettext_lazy("CVE"), "vulnerability__cve_id", link=True),
        Column(gettext_lazy("System"), "system__name"),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("Priority"), "priority"),
        Column(gettext_lazy("Status"), "status"),
        Column(gettext_lazy("Due date"), "due_date"),
        Column(gettext_lazy("id"), "id", shown=False),
    ]

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "stix":
            if not scoping.get_scope(request.user).has_anywhere(self.permission("export")):
                raise PermissionDenied
            queryset = self.filtered(self.scoped("export"))[:5000]
            response = HttpResponse(exports.stix_json(queryset), content_type="application/stix+json;version=2.1")
            response["Content-Disposition"] = 'attachment; filename="vulnerability-warnings.stix.json"'
            return response
        return super().get(request, *args, **kwargs)


class StepForm(forms.Form):
    status = forms.ChoiceField(choices=WarningStatus.choices)
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class VulnWarningDetailView(ObjectDetailView):
    model = VulnWarning
    template_name = "vulns/warning_detail.html"
    fields = [
        "vulnerability",
        "system",
        "organization",
        "priority",
        "score",
        "status",
        "reason",
        "due_date",
        "active",
        "handled_by",
        "handled_at",
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        warning = context["object"]
        context["steps"] = [
            (s, WarningStatus(s).label) for s in services.allowed_transitions(self.request.user, warning)
        ]
        context["form"] = StepForm()
        context["checklist"] = services.vulnerability_management_status(warning.system)
        return context


class VulnWarningStepView(LoginRequiredMixin, View):
    def post(self, request, pk):
        warning = get_object_or_404(scoping.visible(request.user, VulnWarning.objects.all()), pk=pk)
        form = StepForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a step."))
            return redirect(warning.get_absolute_url())
        try:
            services.transition(
                warning, form.cleaned_data["status"], by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(warning.get_absolute_url())
        messages.success(request, _("Status changed to %(status)s.") % {"status": warning.get_status_display()})
        return redirect(warning.get_absolute_url())


class CorpusMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not scoping.get_scope(request.user).has_anywhere(
            "vulns.vulnerability.view"
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class VulnerabilityListView(CorpusMixin, TemplateView):
    template_name = "vulns/vulnerability_list.html"

    def get_context_data(self, **kwargs):
        filterset = VulnerabilityFilterSet(
            self.request.GET or None, queryset=Vulnerability.objects.all(), request=self.request
        )
        page = Paginator(filterset.qs.order_by("-kev_added", "-published", "cve_id"), 50).get_page(
            self.request.GET.get("page")
        )
        query = self.request.GET.copy()
        query.pop("page", None)
        return {
            **super().get_context_data(**kwargs),
            "title": _("Vulnerabilities"),
            "filterset": filterset,
            "page": page,
            "querystring": query.urlencode(),
        }


class VulnerabilityDetailView(CorpusMixin, TemplateView):
    template_name = "vulns/vulnerability_detail.html"

    def get_context_data(self, **kwargs):
        vuln = get_object_or_404(Vulnerability, pk=self.kwargs["pk"])
        return {
            **super().get_context_data(**kwargs),
            "title": vuln.cve_id,
            "object": vuln,
            "criteria": vuln.criteria.filter(vulnerable=True)[:100],
            "exposure": services.exposure(vuln, self.request.user),
        }


class LeakNoticeForm(forms.ModelForm):
    domains_text = forms.CharField(
        label=gettext_lazy("Affected domains"),
        required=False,
        help_text=gettext_lazy("One per line."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = LeakNotice
        fields = [
            "organization",
            "title",
            "source",
            "published",
            "system",
            "record_count",
            "account_count",
            "password_count",
            "advice",
            "status",
        ]
        widgets = {"published": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["domains_text"] = "\n".join(self.instance.domains)
        if not self.instance.advice:
            self.initial["advice"] = str(services.LEAK_ADVICE)

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not {"organization", "system"} & set(self.changed_data):
            return cleaned  # as stored: a system handed to another owner since does not lock the notice
        try:
            services.check_leak_system(cleaned.get("organization"), cleaned.get("system"))
        except ValidationError as exc:
            self.add_error(None, exc)
        return cleaned

    def save(self, commit=True):
        self.instance.domains = services.leak_domains(self.cleaned_data["domains_text"].split())
        return super().save(commit)


class LeakNoticeListView(ObjectListView):
    model = LeakNotice
    filterset_class = LeakNoticeFilterSet
    columns = [
        Column(gettext_lazy("Title"), "title", link=True),
        Column(gettext_lazy("Source"), "source"),
        Column(gettext_lazy("Date"), "published"),
        Column(gettext_lazy("Accounts"), "account_count"),
        Column(gettext_lazy("Status"), "status"),
    ]


class LeakNoticeDetailView(ObjectDetailView):
    model = LeakNotice
    fields = [
        "organization",
        "source",
        "published",
        "domains",
        "system",
        "record_count",
        "account_count",
        "password_count",
        "advice",
        "status",
    ]


class LeakNoticeEditView(ObjectEditView):
    model = LeakNotice
    form_class = LeakNoticeForm

    def get_form(self):
        form = super().get_form()
        # kept on the notice when its system was handed to an owner out of sight since
        form.fields["system"].queryset = scoping.or_current(
            services.registry.visible_systems(self.request.user, "view"), form.instance.system_id
        )
        return form


class LeakNoticeDeleteView(ObjectDeleteView):
    model = LeakNotice


urlpatterns = [
    path("warnings/", VulnWarningListView.as_view(), name="vulnwarning_list"),
    path("warnings/<uuid:pk>/", VulnWarningDetailView.as_view(), name="vulnwarning_detail"),
    path("warnings/<uuid:pk>/step/", VulnWarningStepView.as_view(), name="vulnwarning_step"),
    path("vulnerabilities/", VulnerabilityListView.as_view(), name="vulnerability_list"),
    path("vulnerabilities/<uuid:pk>/", VulnerabilityDetailView.as_view(), name="vulnerability_detail"),
    path("leaks/", LeakNoticeListView.as_view(), name="leaknotice_list"),
    path("leaks/new/", LeakNoticeEditView.as_view(), name="leaknotice_add"),
    path("leaks/<uuid:pk>/", LeakNoticeDetailView.as_view(), name="leaknotice_detail"),
    path("leaks/<uuid:pk>/edit/", LeakNoticeEditView.as_view(), name="leaknotice_edit"),
    path("leaks/<uuid:pk>/delete/", LeakNoticeDeleteView.as_view(), name="leaknotice_delete"),
]
