from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from attt.core.models import Organization, RoleAssignment, User


class DateInput(forms.DateInput):
    input_type = "date"


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["code", "name", "short_name", "name_en", "kind", "parent", "email", "phone", "address"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            # The parent changes only through "move", which keeps the history and the subtree's paths.
            del self.fields["parent"]
        else:
            self.fields["parent"].required = True


class TreeChangeForm(forms.Form):
    effective_date = forms.DateField(label=_("Effective date"), required=False, widget=DateInput)
    legal_basis = forms.CharField(
        label=_("Legal basis"),
        max_length=255,
        required=False,
        help_text=_("The decision or resolution, e.g. 'Nghị quyết 202/2025/QH15'."),
    )


class MoveForm(TreeChangeForm):
    parent = forms.ModelChoiceField(label=_("New parent"), queryset=Organization.objects.none())
    field_order = ["parent", "effective_date", "legal_basis"]


class MergeForm(TreeChangeForm):
    into = forms.ModelChoiceField(label=_("Merge into"), queryset=Organization.objects.none())
    field_order = ["into", "effective_date", "legal_basis"]


class UserForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput,
        required=False,
        max_length=256,
        help_text=_("Leave empty to let the person set it via SSO."),
    )

    class Meta:
        model = User
        fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "organization",
            "job_title",
            "phone",
            "language",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].required = True
        if not self.instance._state.adding:
            del self.fields["password"]

    def clean_password(self):
        password = self.cleaned_data.get("password")
        if password:
            validate_password(password, User(username=self.data.get("username", "")))
        return password

    def save(self, commit=True):
        user = super().save(commit=False)
        if user._state.adding:
            password = self.cleaned_data.get("password")
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
        if commit:
            user.save()
        return user


class RoleAssignmentForm(forms.ModelForm):
    class Meta:
        model = RoleAssignment
        fields = ["user", "role", "organization"]

    def __init__(self, *args, granter=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.granter = granter

    def clean(self):
        from attt.core.services.roles import exceeds_granter

        data = super().clean()
        role, org = data.get("role"), data.get("organization")
        if self.granter is not None and role and org and exceeds_granter(self.granter, role, org):
            raise ValidationError(_("You cannot grant this role here: it includes permissions you do not hold."))
        return data
