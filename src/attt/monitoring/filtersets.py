"""Filters of the source list (UI and API)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from attt.core.filtersets import SearchFilterSet, visible_organizations
from attt.monitoring.models import LogFormat, Source


class SourceFilterSet(SearchFilterSet):
    search_fields = ("name", "description")
    log_format = django_filters.ChoiceFilter(choices=LogFormat.choices, label=_("Format"))
    organization = django_filters.ModelChoiceFilter(queryset=visible_organizations, label=_("Organisation"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Source
        fields = ["q", "log_format", "organization", "is_active"]
