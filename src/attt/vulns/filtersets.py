"""Filters of the warning, vulnerability and leak lists (UI and API)."""

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from attt.core.filtersets import SearchFilterSet, visible_organizations
from attt.vulns.models import OPEN_STATUSES, LeakNotice, Priority, Vulnerability, VulnWarning, WarningStatus


class VulnWarningFilterSet(SearchFilterSet):
    search_fields = ("vulnerability__cve_id", "system__name", "system__code")
    status = django_filters.ChoiceFilter(choices=WarningStatus.choices, label=_("Status"))
    priority = django_filters.ChoiceFilter(choices=Priority.choices, label=_("Priority"))
    organization = django_filters.ModelChoiceFilter(queryset=visible_organizations, label=_("Organisation"))
    active = django_filters.BooleanFilter(label=_("Still matched"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue"))

    class Meta:
        model = VulnWarning
        fields = ["q", "status", "priority", "organization", "active", "overdue"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        # As the reminders and the checklist count: open, still matched, past the due date.
        open_ = queryset.filter(status__in=OPEN_STATUSES, active=True, due_date__lt=today)
        return open_ if value else queryset.exclude(pk__in=open_.values("pk"))


class VulnerabilityFilterSet(SearchFilterSet):
    search_fields = ("cve_id", "summary")
    kev = django_filters.BooleanFilter(field_name="kev_added", lookup_expr="isnull", exclude=True, label=_("In KEV"))

    class Meta:
        model = Vulnerability
        fields = ["q", "kev"]


class LeakNoticeFilterSet(SearchFilterSet):
    search_fields = ("title", "source")
    status = django_filters.ChoiceFilter(choices=LeakNotice.Status.choices, label=_("Status"))

    class Meta:
        model = LeakNotice
        fields = ["q", "status"]
