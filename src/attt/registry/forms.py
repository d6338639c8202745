"""Forms of the registry pages. The system form groups its fields so the level facts read as one block."""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from attt.registry import validators as v
from attt.registry.models import (
    LEVEL_FACT_FIELDS,
    SYSTEM_FIELDS,
    SYSTEM_HOSTING_FIELDS,
    SYSTEM_IDENTITY_FIELDS,
    SYSTEM_IMPORTANCE_FIELDS,
    Component,
    Contact,
    Domain,
    InformationClass,
    InformationSystem,
    IPRange,
    NetworkZone,
    Server,
)


class Fieldset:
    """A titled group of a form's fields, shaped like a form for core's form_fields partial."""

    def __init__(self, form: forms.BaseForm, legend: str, names: list[str], description: str = ""):
        self.legend = legend
        self.description = description
        self.fields = [form[name] for name in names if name in form.fields]

    def visible_fields(self) -> list:
        return self.fields

    def hidden_fields(self) -> list:
        return []

    def non_field_errors(self) -> list:
        return []


class SystemForm(forms.ModelForm):
    information_classes = forms.MultipleChoiceField(
        label=capfirst(InformationSystem._meta.get_field("information_classes").verbose_name),
        choices=InformationClass.choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=InformationSystem._meta.get_field("information_classes").help_text,
    )
    network_zones = forms.MultipleChoiceField(
        label=capfirst(InformationSystem._meta.get_field("network_zones").verbose_name),
        choices=NetworkZone.choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=InformationSystem._meta.get_field("network_zones").help_text,
    )

    class Meta:
        model = InformationSystem
        fields = SYSTEM_FIELDS

    def clean_information_classes(self) -> list[str]:
        return self.cleaned_data["information_classes"] or [InformationClass.PUBLIC.value]

    def fieldsets(self) -> list[Fieldset]:
        return [
            Fieldset(self, _("Identity"), SYSTEM_IDENTITY_FIELDS),
            Fieldset(
                self,
                _("Level facts"),
                LEVEL_FACT_FIELDS,
                _(
                    "The facts the security level is determined from (Decree 85/2016 Art 6–11; Decree 331/2026 "
                    "Art 9–15). A system meeting criteria of several levels takes the highest."
                ),
            ),
            Fieldset(self, _("Hosting and exposure"), SYSTEM_HOSTING_FIELDS),
            Fieldset(self, _("National importance"), SYSTEM_IMPORTANCE_FIELDS),
        ]


class ComponentForm(forms.ModelForm):
    class Meta:
        model = Component
        fields = ["system", "kind", "vendor", "product", "version", "cpe23", "purl", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class ServerForm(forms.ModelForm):
    class Meta:
        model = Server
        fields = ["system", "hostname", "ip_address", "os", "zone", "role"]


class DomainForm(forms.ModelForm):
    class Meta:
        model = Domain
        fields = ["system", "name"]

    def clean_name(self) -> str:
        # as `save` writes it, so the once-per-system check compares like with like
        return v.normalise_domain(self.cleaned_data["name"])


class IPRangeForm(forms.ModelForm):
    class Meta:
        model = IPRange
        fields = ["system", "cidr", "description"]

    def clean_cidr(self) -> str:
        # as `save` writes it, so the once-per-system check compares like with like
        return v.normalise_cidr(self.cleaned_data["cidr"])


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["system", "role", "name", "title", "email", "phone"]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8, comma or semicolon separated) or XLSX, at most 10 MB and 50,000 rows."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    dry_run = forms.BooleanField(
        label=_("Check only (dry run)"),
        required=False,
        initial=True,
        help_text=_("Untick to write the systems once the check shows no error."),
    )
