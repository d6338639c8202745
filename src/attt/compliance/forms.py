from django import forms
from django.utils.translation import gettext_lazy as _

from attt.compliance.models import Attachment, ChecklistItem, LevelDossier, PeriodicCheck, ProtectionLayers
from attt.core.forms import DateInput


class DossierForm(forms.ModelForm):
    class Meta:
        model = LevelDossier
        fields = ["title", "kind", "summary", "justification", "protection_plan"]
        widgets = {name: forms.Textarea(attrs={"rows": 6}) for name in ("summary", "justification", "protection_plan")}


class StepForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10000
    )
    decision_number = forms.CharField(label=_("Decision number"), required=False, max_length=64)
    decision_date = forms.DateField(label=_("Decision date"), required=False, widget=DateInput)
    approved_by_name = forms.CharField(label=_("Signed by"), required=False, max_length=255)
    approved_level = forms.IntegerField(label=_("Approved level"), required=False, min_value=1, max_value=5)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Attachment.Kind.choices)


class ChecklistItemForm(forms.ModelForm):
    class Meta:
        model = ChecklistItem
        fields = ["status", "reason", "responsible", "due_date", "remediation"]
        widgets = {
            "due_date": DateInput,
            "reason": forms.Textarea(attrs={"rows": 2}),
            "remediation": forms.Textarea(attrs={"rows": 2}),
        }


class LayersForm(forms.ModelForm):
    class Meta:
        model = ProtectionLayers
        fields = [
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
        ]
        widgets = {
            "soc_contract_until": DateInput,
            "last_assessment": DateInput,
            "onsite_staff_names": forms.Textarea(attrs={"rows": 2}),
        }


class CompleteCheckForm(forms.ModelForm):
    class Meta:
        model = PeriodicCheck
        fields = ["done_date", "performer", "result"]
        widgets = {"done_date": DateInput, "result": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.fields[name].required = True
