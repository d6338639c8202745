"""Filters of the alert search and the rule list (UI and API)."""

import datetime

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from attt.core.filtersets import ChoicesFilter, SearchFilterSet, subtree_filter
from attt.detection.models import Alert, Severity, SigmaRule


def _day_start(day: datetime.date, days: int = 0) -> datetime.datetime | None:
    """Midnight of a local date (`days` later), as a bound on last_seen that keeps the index usable (no date()
    around it); None at the calendar's ends (01/01/0001, the day after 31/12/9999), which bound nothing."""
    try:
        midnight = datetime.datetime.combine(day + datetime.timedelta(days=days), datetime.time.min)
        return timezone.make_aware(midnight).astimezone(datetime.UTC)
    except OverflowError:
        return None


class AlertFilterSet(SearchFilterSet):
    """Every filter maps onto an index that starts with the column and ends with last_seen, so a 90-day
    search stays a range scan (docs/detection.md)."""

    search_fields = ("title", "rule_id", "indicator_value", "system__name")
    since = django_filters.DateFilter(method="filter_since", label=_("From"))
    until = django_filters.DateFilter(method="filter_until", label=_("To"))
    severity = ChoicesFilter(choices=Severity.choices, label=_("Severity"))
    status = ChoicesFilter(choices=Alert.Status.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=Alert.Kind.choices, label=_("Kind"))
    rule = django_filters.CharFilter(field_name="rule_id", label=_("Rule id"))
    within = subtree_filter(_("Organisation (with its units)"))
    system = django_filters.UUIDFilter(field_name="system_id", label=_("System id"))
    source = django_filters.UUIDFilter(field_name="source_id", label=_("Source id"))

    class Meta:
        model = Alert
        fields = ["q", "since", "until", "severity", "status", "kind", "rule", "within", "system", "source"]

    def filter_since(self, queryset, name, value):
        start = _day_start(value)
        return queryset if start is None else queryset.filter(last_seen__gte=start)

    def filter_until(self, queryset, name, value):
        end = _day_start(value, days=1)
        return queryset if end is None else queryset.filter(last_seen__lt=end)


class SigmaRuleFilterSet(SearchFilterSet):
    search_fields = ("title", "rule_id", "author", "techniques", "description")
    level = ChoicesFilter(choices=Severity.choices, label=_("Level"))
    enabled = django_filters.BooleanFilter(label=_("Enabled"))
    supported = django_filters.BooleanFilter(label=_("Supported"))
    product = django_filters.CharFilter(label=_("Product"))
    category = django_filters.CharFilter(label=_("Category"))
    technique = django_filters.CharFilter(field_name="techniques", lookup_expr="icontains", label=_("ATT&CK technique"))

    class Meta:
        model = SigmaRule
        fields = ["q", "level", "enabled", "supported", "product", "category", "technique"]
