"""Forms of incident response: intake (authenticated and public), classification, tasks, observables, members."""

from __future__ import annotations

from django import forms
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from attt.core.forms import DateInput
from attt.incidents import services
from attt.incidents.models import MEMBER_FIELDS, TLP, IncidentTask, NetworkMember, ObservableKind, Severity, Source
from attt.intel import services as intel
from attt.registry import services as registry

IMPACT_CHOICES = [
    ("service_interruption", _("Service interruption")),
    ("secret_disclosure", _("Likely disclosure of state-secret data")),
    ("integrity_loss", _("Important data altered with no recovery")),
    ("loss_of_control", _("Loss of control of the system")),
    ("wide_spread", _("Likely wide spread or cascading damage to other level-4/5 systems")),
]
OBSERVABLES_HELP = _("One per line as kind:value, e.g. ipv4:203.0.113.7 or domain:example.vn. Kinds: %(k)s.") % {
    "k": ", ".join(ObservableKind.values)
}


def parse_observable_lines(text: str, limit: int = services.MAX_OBSERVABLES) -> list[tuple[str, str]]:
    """'kind:value' lines → pairs, every bad line reported at once; more than `limit` lines are refused."""
    lines = [line.strip() for line in (text or "").splitlines()]
    if sum(1 for line in lines if line) > limit:
        raise forms.ValidationError(_("At most %(n)s observables, one a line.") % {"n": limit}, code="too_many")
    pairs, errors = [], []
    for n, line in enumerate(lines, start=1):
        if not line:
            continue
        kind, sep, value = line.partition(":")
        try:
            if not sep:
                raise ValueError(_("write kind:value"))
            pairs.append((kind.strip().lower(), intel.normalise_observable(kind.strip().lower(), value)))
        except ValueError as exc:
            errors.append(_("Line %(n)s: %(e)s") % {"n": n, "e": exc})
    if errors:
        raise forms.ValidationError(errors)
    return pairs


SYSTEM_QUERY = "systems_q"  # the picker's search box
SYSTEM_FIND = "systems_find"  # its Find button: without script, posts the form back to show the matches


class SystemPicker(forms.Widget):
    """The affected systems as a search, never as a list of every system the user may see (tens of thousands for
    a national user): the chosen systems as ticked boxes, then a search box and the last search's matches as boxes
    to tick. With script the box asks `incidents:system_search` as one types (HTMX; system_picker.js moves a
    ticked match to the chosen ones); without, Find posts the form back and the page comes again with what was
    typed and the matches. The form sets `queryset` (the systems the user may see: the chosen ones are shown only
    from it) and `matches` (a `registry.SystemMatches`, or None)."""

    template_name = "incidents/system_picker.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.queryset = None
        self.matches = None

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return False  # no box ticked is a choice: none

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        ids = registry.system_pks(value)
        context["widget"].update(
            chosen=list(self.queryset.filter(pk__in=ids)) if ids and self.queryset is not None else [],
            matches=self.matches,
            query_name=SYSTEM_QUERY,
            find_name=SYSTEM_FIND,
            search_url=reverse("incidents:system_search"),
        )
        return context


class IncidentReportForm(forms.Form):
    """The authenticated intake form: the reporter's organisation, the affected systems it can see (validated
    against all of them, offered through a search: `SystemPicker`)."""

    organization = forms.ModelChoiceField(queryset=None, label=_("Organisation"))
    source = forms.ChoiceField(
        label=_("Reported as"), choices=[c for c in Source.choices if c[0] not in ("public", "stix")]
    )
    title = forms.CharField(label=_("Title"), max_length=255)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}))
    discovered_at = forms.DateTimeField(
        label=_("Discovered"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    systems = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label=_("Affected systems"),
        widget=SystemPicker,
        help_text=_("Search by name, code or owner, then tick the systems affected."),
    )
    category = forms.ChoiceField(label=_("Type (if known)"), required=False)
    observables = forms.CharField(
        label=_("Observables"), required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=OBSERVABLES_HELP
    )

    def __init__(self, *args, organizations, systems, matches: registry.SystemMatches | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["systems"].queryset = systems
        self.fields["systems"].widget.queryset = systems
        self.fields["systems"].widget.matches = matches
        self.fields["category"].choices = [("", "—"), *services.category_choices()]

    @classmethod
    def typed(cls, data) -> dict:
        """What was typed into a posted form, as initial values: the page a search posts back shows it again
        unchecked (no error for a field not filled in yet)."""
        return {name: field.widget.value_from_datadict(data, {}, name) for name, field in cls.base_fields.items()}

    def clean_observables(self):
        return parse_observable_lines(self.cleaned_data["observables"])


class PublicReportForm(forms.Form):
    """The public form: no captcha; a honeypot field, a signed issue time (too fast or too old is refused) and
    a per-address limit counted in the database keep automated abuse out."""

    SALT = "incidents.public-form"
    MIN_SECONDS = 3
    MAX_SECONDS = 2 * 3600

    title = forms.CharField(label=_("What happened?"), max_length=255)
    description = forms.CharField(label=_("Details"), widget=forms.Textarea(attrs={"rows": 5}), max_length=10000)
    name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    contact = forms.CharField(label=_("E-mail or phone to reach you"), max_length=200)
    observables = forms.CharField(
        label=_("Addresses, links, accounts involved"),
        required=False,
        max_length=services.MAX_PUBLIC_OBSERVABLES * 300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=OBSERVABLES_HELP,
    )
    website = forms.CharField(required=False, label=_("Leave this field empty"))  # honeypot
    issued = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["issued"] = signing.TimestampSigner(salt=self.SALT).sign("form")
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    def clean_observables(self):
        return parse_observable_lines(self.cleaned_data["observables"], services.MAX_PUBLIC_OBSERVABLES)

    def clean(self):
        data = super().clean()
        if data.get("website"):
            raise forms.ValidationError(_("The report could not be accepted."), code="honeypot")
        signer = signing.TimestampSigner(salt=self.SALT)
        try:
            signer.unsign(data.get("issued", ""), max_age=self.MAX_SECONDS)
        except signing.SignatureExpired:
            raise forms.ValidationError(_("The form expired; please send it again."), code="expired") from None
        except signing.BadSignature:
            raise forms.ValidationError(_("The report could not be accepted."), code="tampered") from None
        try:
            signer.unsign(data.get("issued", ""), max_age=self.MIN_SECONDS)
        except signing.SignatureExpired:
            return data  # older than the minimum: a person had time to fill it in
        raise forms.ValidationError(_("The form was sent too quickly; please check it and send again."), code="fast")


class ClassifyForm(forms.Form):
    category = forms.ChoiceField(label=_("Type (RSIT)"))
    tlp = forms.ChoiceField(label=_("TLP"), choices=TLP.choices, initial="amber")
    impacts = forms.MultipleChoiceField(
        label=_("Impacts"), choices=IMPACT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    beyond_capacity = forms.BooleanField(label=_("The owner cannot contain it alone"), required=False)
    national_security = forms.BooleanField(
        label=_("Signs of harm to national security or public order, or serious disruption"), required=False
    )
    severity = forms.ChoiceField(
        label=_("Severity (empty: as computed)"), choices=[("", "—"), *Severity.choices], required=False
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance = instance  # the incident: its version goes back with the form (`version_input`)
        self.fields["category"].choices = services.category_choices()


class StepForm(forms.Form):
    step = forms.ChoiceField(choices=[(s, s) for s in services.STEPS])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TaskForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=None, label=_("Assignee"))
    kind = forms.ChoiceField(label=_("Kind"), choices=IncidentTask.Kind.choices)
    title = forms.CharField(label=_("Task"), max_length=255)
    description = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    due_date = forms.DateField(label=_("Due date"), widget=DateInput())

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class TaskStepForm(forms.Form):
    status = forms.ChoiceField(choices=IncidentTask.Status.choices)
    evidence = forms.CharField(label=_("Evidence"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    file = forms.FileField(label=_("Evidence file"), required=False)


class ObservableForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ObservableKind.choices)
    value = forms.CharField(label=_("Value"), max_length=2048)
    shareable = forms.BooleanField(label=_("Shareable"), required=False, initial=True)


class TechniquesForm(forms.Form):
    techniques = forms.CharField(label=_("ATT&CK techniques"), required=False, help_text=_("Ids separated by spaces."))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class StixImportForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=_("Organisation"))
    bundle = forms.FileField(label=_("STIX 2.1 bundle (JSON)"))

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class NetworkMemberForm(forms.ModelForm):
    class Meta:
        model = NetworkMember
        fields = ["organization", "name", *MEMBER_FIELDS, "active"]
