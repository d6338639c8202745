"""Pages of threat intelligence: the indicator store (search, detail, import), TAXII collections and who
may read them, and the ATT&CK browser (tactic → techniques)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from attt.core import scoping
from attt.core.forms import DateInput
from attt.core.models import Organization
from attt.core.views.generic import Column, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView
from attt.intel import attack, collections, store
from attt.intel.filtersets import CollectionFilterSet, IndicatorFilterSet
from attt.intel.models import INDICATOR_FIELDS, Collection, CollectionGrant, Indicator, Kind, Tactic, Technique, Tlp
from attt.intel.sharing import OBSERVABLE_KINDS
from attt.intel.taxii.views import ROOT


class IndicatorListView(ObjectListView):
    model = Indicator
    queryset = Indicator.objects.select_related("organization")
    filterset_class = IndicatorFilterSet
    columns = [
        Column(gettext_lazy("Value"), "value", link=True),
        Column(gettext_lazy("Kind"), "kind"),
        Column(gettext_lazy("TLP"), "tlp"),
        Column(gettext_lazy("Source"), "source"),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("Last seen"), "last_seen"),
        Column(gettext_lazy("Active"), "active"),
    ]


class IndicatorDetailView(ObjectDetailView):
    model = Indicator
    fields = list(INDICATOR_FIELDS)


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = [
            "organization",
            "kind",
            "value",
            "tlp",
            "confidence",
            "comment",
            "valid_from",
            "valid_until",
            "active",
        ]
        widgets = {"valid_from": DateInput(), "valid_until": DateInput()}

    def clean(self):
        cleaned = super().clean()
        value, errors = store.check_indicator(
            cleaned.get("organization"),
            cleaned.get("kind"),
            cleaned.get("value"),
            cleaned.get("confidence"),
            pk=self.instance.pk,
        )
        if "value" in cleaned and "value" not in errors:
            cleaned["value"] = self.instance.value = value
        for name, message in errors.items():
            self.add_error(name, message)
        return cleaned

    def validate_unique(self):
        """Checked in clean() on the canonical value."""


class IndicatorEditView(ObjectEditView):
    model = Indicator
    form_class = IndicatorForm


class IndicatorDeleteView(ObjectDeleteView):
    model = Indicator


class ImportForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Organisation"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "A list (one value per line, or CSV with a value column), a STIX 2.1 bundle or a MISP event (JSON)."
        ),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        required=False,
        choices=[
            ("", gettext_lazy("Recognise from the file")),
            ("csv", "CSV / TXT"),
            ("stix", "STIX 2.1"),
            ("misp", "MISP"),
        ],
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of every value"),
        required=False,
        choices=[("", gettext_lazy("Recognise each value")), *Kind.choices],
        help_text=gettext_lazy("Needed for bank accounts, which look like telephone numbers."),
    )
    tlp = forms.ChoiceField(
        label=gettext_lazy("TLP"),
        required=False,
        choices=[("", gettext_lazy("As marked in the file (lists: TLP:AMBER)")), *Tlp.choices],
    )


class ImportView(LoginRequiredMixin, TemplateView):
    """Upload a list, a STIX bundle or a MISP event; all or nothing, every bad row shown."""

    template_name = "intel/import.html"
    permission = "intel.indicator.add"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not scoping.get_scope(request.user).has_anywhere(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_form(self) -> ImportForm:
        form = ImportForm(self.request.POST or None, self.request.FILES or None)
        form.fields["organization"].queryset = scoping.organizations_where(self.request.user, self.permission)
        form.fields["organization"].initial = self.request.user.organization_id
        return form

    def get_context_data(self, **kwargs):
        return {
            "title": _("Import indicators"),
            "form": kwargs.get("form") or self.get_form(),
            "kinds": OBSERVABLE_KINDS,
            **kwargs,
        }

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        upload = form.cleaned_data["file"]
        errors: list[tuple[str, str]] = []
        result = None
        try:
            store.check_size(upload.size)
            result = store.import_data(  # one transaction: store.upsert is atomic
                form.cleaned_data["organization"],
                upload.read(),
                fmt=form.cleaned_data["format"] or None,
                name=(upload.name or "")[:200],
                tlp=form.cleaned_data["tlp"] or None,
                kind=form.cleaned_data["kind"] or None,
            )
        except store.RefusedImport as exc:
            errors = exc.errors
        except ValueError as exc:
            errors = [(_("file"), str(exc))]
        if result:
            messages.success(
                request,
                _("%(created)s indicators created, %(updated)s updated.")
                % {"created": result.created, "updated": result.updated},
            )
        return self.render_to_response(self.get_context_data(form=form, result=result, errors=errors))


def taxii_url(request, collection: Collection) -> str:
    """Where a TAXII client reads the collection."""
    return request.build_absolute_uri(reverse("taxii:collection", args=[ROOT, collection.pk]))


class CollectionListView(ObjectListView):
    model = Collection
    queryset = Collection.objects.select_related("organization")
    filterset_class = CollectionFilterSet
    columns = [
        Column(gettext_lazy("Title"), "title", link=True),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("Alias"), "alias"),
        Column(gettext_lazy("Default sharing collection"), "is_default"),
    ]
    template_name = "intel/collection_list.html"

    def get_context_data(self, **kwargs):
        """Also the collections other organisations granted to the user's (not editable here: TAXII reads them)."""
        context = super().get_context_data(**kwargs)
        own = self.scoped().values("pk")
        granted = collections.accessible(self.request.user).exclude(pk__in=own).select_related("organization")
        context["shared"] = [(c, taxii_url(self.request, c)) for c in granted[:100]]
        return context


class GrantForm(forms.ModelForm):
    class Meta:
        model = CollectionGrant
        fields = ["grantee", "include_subtree", "can_read", "can_write", "max_tlp"]


class CollectionDetailView(ObjectDetailView):
    model = Collection
    template_name = "intel/collection_detail.html"
    fields = ["organization", "title", "description", "alias", "is_default"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        collection = context["object"]
        form = GrantForm()
        form.fields["grantee"].queryset = Organization.objects.filter(is_active=True).order_by("depth", "name")
        read, write, ceiling = collections.rights(self.request.user, collection)
        # counted up to what the viewer may receive: how many TLP:RED objects exist is the owner's to know
        served = collections.tlp_allowed(collection.stix_objects.all(), ceiling)
        per_tlp = served.order_by("tlp").values_list("tlp").annotate(n=Count("pk"))
        context.update(
            grants=collection.grants.select_related("grantee"),
            grant_form=form,
            tlp_counts=[(tlp or "—", n) for tlp, n in per_tlp],
            taxii_url=taxii_url(self.request, collection),
            rights={"read": read, "write": write, "ceiling": ceiling},
        )
        return context


class CollectionGrantView(LoginRequiredMixin, View):
    """Add, change or remove one organisation's rights on a collection (needs change on the collection)."""

    def post(self, request, pk):
        collection = get_object_or_404(scoping.visible(request.user, Collection.objects.all()), pk=pk)
        if not scoping.can(request.user, "change", collection):
            raise PermissionDenied
        if request.POST.get("revoke"):
            collection.grants.filter(pk=request.POST["revoke"]).delete()
            messages.success(request, _("Grant removed."))
            return redirect(collection.get_absolute_url())
        form = GrantForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(collection.get_absolute_url())
        collections.grant(collection, **form.cleaned_data)
        messages.success(request, _("Grant saved."))
        return redirect(collection.get_absolute_url())


class CollectionForm(forms.ModelForm):
    class Meta:
        model = Collection
        fields = ["organization", "title", "description", "alias", "is_default"]


class CollectionEditView(ObjectEditView):
    model = Collection
    form_class = CollectionForm


class CollectionDeleteView(ObjectDeleteView):
    model = Collection


class AttackMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not scoping.get_scope(request.user).has_anywhere("intel.technique.view"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "notice": attack.NOTICE}


class TacticListView(AttackMixin, TemplateView):
    template_name = "intel/tactic_list.html"

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "title": _("ATT&CK tactics and techniques"),
            "tactics": Tactic.objects.prefetch_related("techniques"),
        }


class TacticDetailView(AttackMixin, TemplateView):
    template_name = "intel/tactic_detail.html"

    def get_context_data(self, **kwargs):
        tactic = get_object_or_404(Tactic, external_id=self.kwargs["external_id"])
        return {
            **super().get_context_data(**kwargs),
            "title": str(tactic),
            "tactic": tactic,
            "techniques": tactic.techniques.filter(deprecated=False),
        }


class TechniqueDetailView(AttackMixin, TemplateView):
    template_name = "intel/technique_detail.html"

    def get_context_data(self, **kwargs):
        technique = get_object_or_404(Technique, external_id=self.kwargs["external_id"])
        return {**super().get_context_data(**kwargs), "title": str(technique), "technique": technique}


urlpatterns = [
    path("indicators/", IndicatorListView.as_view(), name="indicator_list"),
    path("indicators/new/", IndicatorEditView.as_view(), name="indicator_add"),
    path("indicators/import/", ImportView.as_view(), name="import"),
    path("indicators/<uuid:pk>/", IndicatorDetailView.as_view(), name="indicator_detail"),
    path("indicators/<uuid:pk>/edit/", IndicatorEditView.as_view(), name="indicator_edit"),
    path("indicators/<uuid:pk>/delete/", IndicatorDeleteView.as_view(), name="indicator_delete"),
    path("collections/", CollectionListView.as_view(), name="collection_list"),
    path("collections/new/", CollectionEditView.as_view(), name="collection_add"),
    path("collections/<uuid:pk>/", CollectionDetailView.as_view(), name="collection_detail"),
    path("collections/<uuid:pk>/edit/", CollectionEditView.as_view(), name="collection_edit"),
    path("collections/<uuid:pk>/delete/", CollectionDeleteView.as_view(), name="collection_delete"),
    path("collections/<uuid:pk>/grants/", CollectionGrantView.as_view(), name="collection_grant"),
    path("attack/", TacticListView.as_view(), name="tactic_list"),
    path("attack/tactics/<str:external_id>/", TacticDetailView.as_view(), name="tactic_detail"),
    path("attack/techniques/<str:external_id>/", TechniqueDetailView.as_view(), name="technique_detail"),
]
