"""Filters of the incident, task, observable and member lists (UI and API)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from attt.core.filtersets import SearchFilterSet, subtree_filter
from attt.incidents.models import (
    TLP,
    Incident,
    IncidentTask,
    NetworkMember,
    Observable,
    ObservableKind,
    Severity,
    Source,
    State,
)
from attt.intel import services as intel


def observable_forms(text: str) -> set[str]:
    """The normalised values `text` stands for if it reads as an indicator (IP, domain, URL, hash, e-mail)."""
    found = set()
    for kind in ("ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256", "email"):
        try:
            found.add(intel.normalise_observable(kind, text))
        except ValueError:
            continue
    return found


class IncidentFilterSet(SearchFilterSet):
    """`q` matches an observable exactly when it reads as one (an IP, a domain, a hash…), else the number or title."""

    state = django_filters.ChoiceFilter(choices=State.choices, label=_("State"))
    severity = django_filters.ChoiceFilter(choices=Severity.choices, label=_("Severity"))
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("Source"))
    tlp = django_filters.ChoiceFilter(choices=TLP.choices, label=_("TLP"))
    category = django_filters.CharFilter(field_name="category", lookup_expr="startswith", label=_("Type"))
    organization = subtree_filter(_("Organisation"))

    class Meta:
        model = Incident
        fields = ["q", "state", "severity", "source", "tlp", "category", "organization"]

    def search(self, queryset, name, value):
        value = value.strip()[:200]
        if not value:
            return queryset
        forms = observable_forms(value)
        if forms:
            # An indicator: incidents in scope holding it, through the observables' value index (a sub-select the
            # database joins with the scoped incidents: no title scan, and no cut-off applied before the scope,
            # which let other organisations' incidents crowd the user's own out of a common value).
            return queryset.filter(pk__in=Observable.objects.filter(value__in=forms).values("incident_id"))
        return queryset.filter(Q(number__iexact=value) | Q(title__fold_contains=value))


class IncidentTaskFilterSet(SearchFilterSet):
    search_fields = ("title", "incident__number")
    status = django_filters.ChoiceFilter(choices=IncidentTask.Status.choices, label=_("Status"))

    class Meta:
        model = IncidentTask
        fields = ["q", "status"]


class ObservableFilterSet(SearchFilterSet):
    search_fields = ("value",)
    kind = django_filters.ChoiceFilter(choices=ObservableKind.choices, label=_("Kind"))

    class Meta:
        model = Observable
        fields = ["q", "kind", "shareable"]


class NetworkMemberFilterSet(SearchFilterSet):
    search_fields = ("name", "contact_name")
    kind = django_filters.ChoiceFilter(choices=NetworkMember.Kind.choices, label=_("Kind"))

    class Meta:
        model = NetworkMember
        fields = ["q", "kind", "sector", "active"]
