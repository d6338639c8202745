"""Pages for a system's level: assessment, dossier and its workflow, checklist, 4 layers, periodic checks."""

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from attt.compliance import services
from attt.compliance.api.dossiers import attachment_response
from attt.compliance.filtersets import DossierFilterSet, PeriodicCheckFilterSet
from attt.compliance.forms import (
    ChecklistItemForm,
    CompleteCheckForm,
    DossierForm,
    LayersForm,
    StepForm,
    UploadForm,
)
from attt.compliance.models import (
    Attachment,
    ChecklistItem,
    LevelAssessment,
    LevelDossier,
    PeriodicCheck,
)
from attt.compliance.workflow import TRANSITIONS
from attt.core import scoping
from attt.core.locks import VERSION_FIELD, EditConflict, apply_to_current, lock_unchanged, version_of
from attt.core.views.generic import CONFLICT_MESSAGE, Column, ObjectDetailView, ObjectEditView, ObjectListView
from attt.registry import services as registry
from attt.regulation import services as regulation
from attt.regulation.forms import AssessForm


def _system(request, pk, action: str = "view"):
    system = registry.get_visible_system(request.user, pk)
    if system is None:
        raise Http404
    if action != "view" and not scoping.can(request.user, action, system):
        raise PermissionDenied
    return system


def _scoped(request, model, pk, action: str = "view"):
    obj = get_object_or_404(scoping.visible(request.user, model.objects.all()), pk=pk)
    if action != "view" and not scoping.can(request.user, action, obj):
        raise PermissionDenied
    return obj


@login_required
def system_overview(request, pk):
    system = _system(request, pk)
    level = services.approved_level(system)
    regime = system.regime or regulation.regime_in_force(None).code
    user = request.user
    context = {
        "system": system,
        "title": system.name,
        "level": level,
        "regime": regime,
        "assessment": LevelAssessment.objects.filter(system=system).order_by("-created_at").first(),
        "dossiers": scoping.visible(user, LevelDossier.objects.filter(system=system)).order_by("-updated_at"),
        "progress": services.checklist_progress(system, regime),
        "layers": services.layers_of(system, create=False) if scoping.can(user, "view", system) else None,
        "checks": scoping.visible(user, PeriodicCheck.objects.filter(system=system)).order_by("done_date", "due_date")[
            :10
        ],
        "gap": services.transition_gap(system, level) if level else None,
        "can_assess": scoping.can_in(user, "compliance.levelassessment.add", system.organization),
        "can_propose": scoping.can_in(user, "compliance.leveldossier.add", system.organization),
        "can_edit_layers": scoping.can_in(user, "compliance.protectionlayers.change", system.organization),
    }
    return render(request, "compliance/system_overview.html", context)


@login_required
def system_assess(request, pk):
    system = _system(request, pk)
    if not scoping.can_in(request.user, "compliance.levelassessment.add", system.organization):
        raise PermissionDenied
    known = registry.level_facts(system)
    form = AssessForm(request.POST or None, initial={**known, "regime": system.regime})
    if request.method == "POST" and form.is_valid():
        facts = {**form.facts_document(), "components": known.get("components", [])}
        regime = form.cleaned_data["regime"] or None
        try:
            with transaction.atomic():
                assessment = services.assess_system(system, by=request.user, regime=regime, facts=facts)
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(assessment.get_absolute_url())
    return render(
        request, "compliance/system_assess.html", {"system": system, "form": form, "title": _("Level questionnaire")}
    )


@login_required
def assessment_detail(request, pk):
    assessment = _scoped(request, LevelAssessment, pk)
    return render(
        request,
        "compliance/assessment_detail.html",
        {
            "assessment": assessment,
            "result": assessment.result,
            "title": str(assessment),
            "can_propose": scoping.can_in(request.user, "compliance.leveldossier.add", assessment.organization),
        },
    )


@login_required
@require_POST
def dossier_create(request, pk):
    """A new dossier from a stored assessment (its level becomes the proposal)."""
    assessment = _scoped(request, LevelAssessment, pk)
    if not scoping.can_in(request.user, "compliance.leveldossier.add", assessment.organization):
        raise PermissionDenied
    kind = request.POST.get("kind") or LevelDossier.Kind.INITIAL
    if kind not in LevelDossier.Kind.values:
        messages.error(request, _("Unknown kind of dossier."))
        return redirect(assessment.get_absolute_url())
    with transaction.atomic():
        dossier = services.new_dossier(assessment.system, by=request.user, assessment=assessment, kind=kind)
    messages.success(request, _("The dossier was created as a draft: complete it, then submit it."))
    return redirect("compliance:leveldossier_edit", pk=dossier.pk)


class DossierListView(ObjectListView):
    model = LevelDossier
    queryset = LevelDossier.objects.select_related("system", "organization")
    filterset_class = DossierFilterSet
    columns = [
        Column(gettext_lazy("Dossier"), "title", link=True),
        Column(gettext_lazy("Owner"), "organization__name"),
        Column(gettext_lazy("Proposed level"), "proposed_level"),
        Column(gettext_lazy("State"), "state"),
        Column(gettext_lazy("Current step due"), "step_due"),
        Column(gettext_lazy("Regime"), "regime"),
    ]


class DossierDetailView(ObjectDetailView):
    model = LevelDossier
    template_name = "compliance/dossier_detail.html"
    fields = [
        "system",
        "regime",
        "kind",
        "proposed_level",
        "state",
        "appraiser",
        "approver",
        "step_due",
        "decision_number",
        "decision_date",
        "approved_by_name",
        "approved_level",
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        dossier = context["object"]
        context.update(
            steps=services.allowed_transitions(self.request.user, dossier),
            events=dossier.events.select_related("by"),
            attachments=dossier.attachments.all(),
            step_form=StepForm(),
            upload_form=UploadForm(),
            overdue=dossier in services.overdue_dossiers(LevelDossier.objects.filter(pk=dossier.pk)),
            editable=services.is_editable(dossier) and context["can_change"],
        )
        return context


class DossierEditView(ObjectEditView):
    model = LevelDossier
    form_class = DossierForm

    def get_object(self):
        dossier = super().get_object()
        if not services.is_editable(dossier):
            raise PermissionDenied
        return dossier

    def save(self, form):
        apply_to_current(form, editable=services.is_editable)
        return form.save()


@login_required
@require_POST
def dossier_step(request, pk, step):
    dossier = _scoped(request, LevelDossier, pk)
    if step not in TRANSITIONS:
        raise Http404
    form = StepForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the values you entered."))
        return redirect(dossier.get_absolute_url())
    data = dict(form.cleaned_data)
    comment = data.pop("comment")
    try:
        services.transition(dossier, step, by=request.user, comment=comment, decision=services.DecisionInput(**data))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Done: %(step)s.") % {"step": TRANSITIONS[step].label})
    return redirect(dossier.get_absolute_url())


@login_required
@require_POST
def dossier_upload(request, pk):
    dossier = _scoped(request, LevelDossier, pk, "change")
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            with transaction.atomic():
                services.attach(
                    form.cleaned_data["file"], by=request.user, kind=form.cleaned_data["kind"], dossier=dossier
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The file was attached."))
    else:
        messages.error(request, _("Choose a file and its kind."))
    return redirect(dossier.get_absolute_url())


@login_required
def attachment_download(request, pk):
    return attachment_response(_scoped(request, Attachment, pk))


@login_required
def system_checklist(request, pk):
    system = _system(request, pk)
    regime = request.GET.get("regime") or system.regime or regulation.regime_in_force(None).code
    items = scoping.visible(request.user, ChecklistItem.objects.filter(system=system, regime=regime))
    can_change = scoping.can_in(request.user, "compliance.checklistitem.change", system.organization)
    rows = [
        (
            item,
            services.requirement_row(regime, item.requirement),
            ChecklistItemForm(instance=item, prefix=str(item.pk)),
        )
        for item in items
    ]
    return render(
        request,
        "compliance/checklist.html",
        {
            "system": system,
            "regime": regime,
            "rows": rows,
            "can_change": can_change,
            "progress": services.checklist_progress(system, regime),
            "title": _("Requirement checklist"),
            "level": services.approved_level(system),
        },
    )


@login_required
@require_POST
def checklist_item_update(request, pk):
    item = _scoped(request, ChecklistItem, pk, "change")
    form = ChecklistItemForm(request.POST, instance=item, prefix=str(item.pk))
    form.read_version = request.POST.get(VERSION_FIELD, "")
    error = ""
    if form.is_valid():
        fields = {k: form.cleaned_data[k] for k in ChecklistItemForm.Meta.fields}
        try:
            services.update_item(item, read_version=form.read_version, **fields)
            form.read_version = version_of(item)  # the row sent back is the one just saved
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except EditConflict:  # nothing written; the row comes back with the item's new version
            form.read_version = version_of(item)
            error = str(CONFLICT_MESSAGE)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
    if request.headers.get("HX-Request"):
        requirement = services.requirement_row(item.regime, item.requirement)
        return render(
            request,
            "compliance/partials/checklist_row.html",
            {"item": item, "requirement": requirement, "form": form, "can_change": True, "error": error},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Saved."))
    return redirect("compliance:system_checklist", pk=item.system_id)


@login_required
def system_layers(request, pk):
    system = _system(request, pk)
    if not scoping.can_in(request.user, "compliance.protectionlayers.change", system.organization):
        raise PermissionDenied
    layers = services.layers_of(system)
    form = LayersForm(request.POST or None, instance=layers)
    form.read_version = request.POST.get(VERSION_FIELD, "")
    visible_orgs = scoping.organizations_where(request.user, "core.organization.view")
    form.fields["soc_provider"].queryset = visible_orgs
    form.fields["assessor"].queryset = visible_orgs
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                lock_unchanged(layers, form.read_version)
                apply_to_current(form)
                form.save()
        except EditConflict:  # nothing written; the page comes back with the layers' new version
            form.read_version = version_of(layers)
            form.add_error(None, CONFLICT_MESSAGE)
        else:
            messages.success(request, _("Saved."))
            return redirect("compliance:system_overview", pk=system.pk)
    return render(request, "core/form.html", {"form": form, "title": _("4-layer protection: %(s)s") % {"s": system}})


class PeriodicCheckListView(ObjectListView):
    model = PeriodicCheck
    queryset = PeriodicCheck.objects.select_related("system", "organization")
    filterset_class = PeriodicCheckFilterSet
    columns = [
        Column(gettext_lazy("Check"), "kind", link=True),
        Column(gettext_lazy("System"), "system__name"),
        Column(gettext_lazy("Owner"), "organization__name"),
        Column(gettext_lazy("Due"), "due_date"),
        Column(gettext_lazy("Done"), "done_date"),
    ]


@login_required
def periodic_check_detail(request, pk):
    check = _scoped(request, PeriodicCheck, pk)
    can_change = scoping.can(request.user, "change", check)
    # the form fills a copy: the page shows the check as stored, not as typed into a form that comes back refused
    form = (
        CompleteCheckForm(request.POST or None, instance=copy.copy(check))
        if can_change and not check.done_date
        else None
    )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.complete_check(  # refused (403) if recorded since the page was read
                    check,
                    done=form.cleaned_data["done_date"],
                    performer=form.cleaned_data["performer"],
                    result=form.cleaned_data["result"],
                )
            except ValidationError as refused:
                form.add_error(None, refused)
            else:
                messages.success(request, _("The check was recorded and the next one planned."))
                return redirect(check.get_absolute_url())
    return render(request, "compliance/periodic_check.html", {"check": check, "form": form, "title": str(check)})


urlpatterns = [
    path("systems/<uuid:pk>/", system_overview, name="system_overview"),
    path("systems/<uuid:pk>/assess/", system_assess, name="system_assess"),
    path("systems/<uuid:pk>/checklist/", system_checklist, name="system_checklist"),
    path("systems/<uuid:pk>/layers/", system_layers, name="system_layers"),
    path("assessments/<uuid:pk>/", assessment_detail, name="levelassessment_detail"),
    path("assessments/<uuid:pk>/propose/", dossier_create, name="dossier_create"),
    path("dossiers/", DossierListView.as_view(), name="leveldossier_list"),
    path("dossiers/<uuid:pk>/", DossierDetailView.as_view(), name="leveldossier_detail"),
    path("dossiers/<uuid:pk>/edit/", DossierEditView.as_view(), name="leveldossier_edit"),
    path("dossiers/<uuid:pk>/step/<slug:step>/", dossier_step, name="leveldossier_step"),
    path("dossiers/<uuid:pk>/upload/", dossier_upload, name="leveldossier_upload"),
    path("attachments/<uuid:pk>/", attachment_download, name="attachment_download"),
    path("checklist-items/<uuid:pk>/", checklist_item_update, name="checklistitem_update"),
    path("checks/", PeriodicCheckListView.as_view(), name="periodiccheck_list"),
    path("checks/<uuid:pk>/", periodic_check_detail, name="periodiccheck_detail"),
]
