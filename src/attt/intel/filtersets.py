"""Filters of the indicator, collection and technique lists (UI and API)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from attt.core.filtersets import SearchFilterSet, visible_organizations
from attt.intel import observables
from attt.intel.models import Collection, Indicator, Kind, Source, Technique, Tlp


class IndicatorFilterSet(SearchFilterSet):
    search_fields = ("value", "comment", "source_reference")
    kind = django_filters.ChoiceFilter(choices=Kind.choices, label=_("Kind"))
    tlp = django_filters.ChoiceFilter(choices=Tlp.choices, label=_("TLP"))
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("Source"))
    organization = django_filters.ModelChoiceFilter(queryset=visible_organizations, label=_("Organisation"))
    active = django_filters.BooleanFilter(label=_("Active"))
    value = django_filters.CharFilter(method="filter_value", label=_("Exact value"))

    class Meta:
        model = Indicator
        fields = ["q", "kind", "tlp", "source", "organization", "active", "value"]

    def filter_value(self, queryset, name, value):
        """An exact lookup on the canonical form (uses the (kind, value) index): example[.]com finds example.com."""
        if not value:
            return queryset
        try:
            kind, canonical = observables.parse(value, self.data.get("kind") or None)
        except ValueError:
            return queryset.filter(value=value.strip())
        return queryset.filter(kind=kind, value=canonical)


class CollectionFilterSet(SearchFilterSet):
    search_fields = ("title", "description", "alias")
    organization = django_filters.ModelChoiceFilter(queryset=visible_organizations, label=_("Organisation"))

    class Meta:
        model = Collection
        fields = ["q", "organization"]


class TechniqueFilterSet(SearchFilterSet):
    search_fields = ("external_id", "name", "description")
    domain = django_filters.CharFilter(label=_("ATT&CK matrix"))
    tactic = django_filters.CharFilter(field_name="tactics__external_id", label=_("Tactic"))

    class Meta:
        model = Technique
        fields = ["q", "domain", "tactic"]
