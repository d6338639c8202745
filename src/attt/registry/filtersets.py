"""Filters of the registry's lists, shared by the UI pages and the API (core's SearchFilterSet)."""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from attt.core.filtersets import SearchFilterSet, subtree_filter, visible_organizations
from attt.registry.models import (
    Component,
    Contact,
    Domain,
    InformationSystem,
    IPRange,
    LifecycleStatus,
    PrioritySector,
    Server,
    SystemType,
)


class SystemFilterSet(SearchFilterSet):
    search_fields = ("name", "code", "description", "hosting_provider")
    organization = subtree_filter(_("Owner (and its units)"))
    operator = extend_schema_field(OpenApiTypes.UUID)(
        django_filters.ModelChoiceFilter(queryset=visible_organizations, label=_("Operating unit"))
    )
    system_type = django_filters.ChoiceFilter(choices=SystemType.choices, label=_("System type"))
    priority_sector = django_filters.ChoiceFilter(choices=PrioritySector.choices, label=_("Priority sector"))
    lifecycle_status = django_filters.ChoiceFilter(choices=LifecycleStatus.choices, label=_("Lifecycle status"))
    internet_facing = django_filters.BooleanFilter(label=_("Internet-facing"))
    national_important = django_filters.BooleanFilter(label=_("National important"))

    class Meta:
        model = InformationSystem
        fields = [
            "q",
            "organization",
            "operator",
            "system_type",
            "priority_sector",
            "lifecycle_status",
            "internet_facing",
            "national_important",
        ]


class PartFilterSet(SearchFilterSet):
    """Common to the records of a system: the system, and the owner's subtree."""

    system = django_filters.UUIDFilter(field_name="system_id", label=_("Information system"))
    organization = subtree_filter(_("Owner (and its units)"))


class ComponentFilterSet(PartFilterSet):
    search_fields = ("vendor", "product", "version", "cpe23", "purl", "system__name")
    kind = django_filters.ChoiceFilter(choices=Component.Kind.choices, label=_("Kind"))

    class Meta:
        model = Component
        fields = ["q", "system", "organization", "kind"]


class ServerFilterSet(PartFilterSet):
    search_fields = ("hostname", "ip_address", "os", "role", "system__name")

    class Meta:
        model = Server
        fields = ["q", "system", "organization", "zone"]


class DomainFilterSet(PartFilterSet):
    search_fields = ("name", "ascii_name", "system__name")

    class Meta:
        model = Domain
        fields = ["q", "system", "organization"]


class IPRangeFilterSet(PartFilterSet):
    search_fields = ("cidr", "description", "system__name")

    class Meta:
        model = IPRange
        fields = ["q", "system", "organization"]


class ContactFilterSet(PartFilterSet):
    search_fields = ("name", "title", "email", "system__name")
    role = django_filters.ChoiceFilter(choices=Contact.Role.choices, label=_("Role"))

    class Meta:
        model = Contact
        fields = ["q", "system", "organization", "role"]
