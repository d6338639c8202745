import django_filters
from django.utils.translation import gettext_lazy as _

from attt.compliance.models import DossierState, LevelDossier, PeriodicCheck
from attt.core.filtersets import SearchFilterSet


class DossierFilterSet(SearchFilterSet):
    search_fields = ("title", "system__name", "organization__name", "decision_number")
    state = django_filters.ChoiceFilter(choices=DossierState.choices, label=_("State"))
    proposed_level = django_filters.NumberFilter(label=_("Proposed level"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue"))

    class Meta:
        model = LevelDossier
        fields = ["q", "state", "proposed_level", "regime"]

    def filter_overdue(self, queryset, name, value):
        from attt.compliance.services import overdue_dossiers

        overdue = overdue_dossiers(queryset)
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))


class PeriodicCheckFilterSet(SearchFilterSet):
    search_fields = ("system__name", "organization__name", "performer")
    kind = django_filters.ChoiceFilter(choices=PeriodicCheck.Kind.choices, label=_("Kind"))
    pending = django_filters.BooleanFilter(field_name="done_date", lookup_expr="isnull", label=_("Not done yet"))

    class Meta:
        model = PeriodicCheck
        fields = ["q", "kind", "pending"]
