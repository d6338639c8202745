"""The level calculator's questionnaire, built from the facts' definitions (data/facts.yaml), so a new
fact or a reworded help text needs no code change."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from attt.regulation import services
from attt.regulation.facts import FactDef, pick
from attt.regulation.loader import catalogue


def _field(fact: FactDef) -> forms.Field:
    label, help_text = fact.label(), fact.help()
    if fact.type == "list":
        return forms.MultipleChoiceField(
            label=label,
            help_text=help_text,
            required=False,
            choices=[(v, fact.value_label(v)) for v in fact.values],
            widget=forms.CheckboxSelectMultiple,
            initial=list(fact.default),
        )
    if fact.type == "enum":
        return forms.ChoiceField(
            label=label,
            help_text=help_text,
            choices=[(v, fact.value_label(v)) for v in fact.values],
            initial=fact.default,
        )
    if fact.type == "bool":
        return forms.BooleanField(label=label, help_text=help_text, required=False, initial=fact.default)
    if fact.nullable:
        return forms.TypedChoiceField(
            label=label,
            help_text=help_text,
            required=False,
            choices=[("", "—"), *((str(n), str(n)) for n in range(fact.min or 0, (fact.max or 0) + 1))],
            coerce=int,
            empty_value=None,
        )
    return forms.IntegerField(
        label=label, help_text=help_text, min_value=fact.min, max_value=fact.max, initial=fact.default
    )


class AssessForm(forms.Form):
    """One question per fact, grouped as in facts.yaml; the regime defaults to the one in force."""

    regime = forms.ChoiceField(label=_("Legal regime"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regime"].choices = [("", _("The regime in force today"))] + [
            (r.code, f"{r.short()} ({r.code})") for r in services.regimes()
        ]
        self.facts = {n: f for n, f in catalogue().facts.items() if f.type != "components" and not f.derived}
        for name, fact in self.facts.items():
            self.fields[name] = _field(fact)

    def groups(self) -> list[tuple[str, list]]:
        """(group label, bound fields with their fact) in the order of facts.yaml."""
        out = []
        for code, vi, en in catalogue().fact_groups:
            fields = [(self[name], fact) for name, fact in self.facts.items() if fact.group == code]
            if fields:
                out.append((pick(vi, en), fields))
        return out

    def facts_document(self) -> dict:
        """The cleaned answers as a facts object (docs/level-facts.md)."""
        return {name: self.cleaned_data[name] for name in self.facts}
