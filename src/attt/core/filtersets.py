"""Filters shared by the UI lists and the API."""

import uuid

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from attt.core import scoping
from attt.core.models import AuditEvent, Organization, RoleAssignment, User
from attt.core.models.organizations import OrganizationKind


class ScopedChoices:
    """A FilterSet mixin: a filter that picks a scoped record (`?plan=`, `?system=`: the ForeignKey filters
    `Meta.fields` or `filterset_fields` generate, or one declared with a plain queryset) accepts only the records
    the requester may see. An id outside the view scope is then refused exactly like an id that does not exist,
    instead of answering with an empty list that confirms the record is there, and a page's drop-down offers only
    those records."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        for choice in self.filters.values():
            queryset = getattr(choice, "queryset", None)
            if isinstance(queryset, QuerySet) and queryset.model in scoping.resources:
                choice.queryset = scoping.visible(user, queryset)


class SearchFilterSet(ScopedChoices, django_filters.FilterSet):
    """Adds `q`, a free-text search over the fields named in `search_fields`, diacritics and case aside
    (`core.search`: "cong" finds "Cổng")."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="search", label=_("Search"))

    def search(self, queryset, name, value):
        value = value.strip()[:200]
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__fold_contains": value})
        return queryset.filter(condition)


class ChoicesFilter(django_filters.MultipleChoiceFilter):
    """One or more values of a plain column (`?status=open&status=acknowledged`). django-filter adds DISTINCT to
    such a filter by default, which a column IN (...) never needs and which makes the page count scan the whole
    table."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class YearFilter(django_filters.NumberFilter):
    """A calendar year: a whole number from 1 to 9999, anything else a 400 with a sentence (a date lookup on year 0
    or 2026.5 fails inside the database layer)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 9999)
        super().__init__(*args, **kwargs)


def visible_organizations(request):
    from attt.core.scoping import visible

    if request is None:
        return Organization.objects.none()
    return visible(request.user, Organization.objects.all())


def in_subtree(queryset, name, value):
    """Records of the chosen organisation and of every unit below it (one prefix match on the tree path)."""
    return queryset.filter(organization__path__startswith=value.path)


def subtree_filter(label) -> django_filters.ModelChoiceFilter:
    """An organisation choice (only those the user sees) that keeps records of its whole subtree."""
    return extend_schema_field(OpenApiTypes.UUID)(
        django_filters.ModelChoiceFilter(queryset=visible_organizations, method=in_subtree, label=label)
    )


class OrganizationFilterSet(SearchFilterSet):
    search_fields = ("name", "short_name", "code", "name_en")
    kind = django_filters.ChoiceFilter(choices=OrganizationKind.choices, label=_("Kind"))
    within = extend_schema_field(OpenApiTypes.UUID)(
        django_filters.ModelChoiceFilter(queryset=visible_organizations, method="filter_within", label=_("Within"))
    )
    parent = django_filters.ModelChoiceFilter(queryset=visible_organizations, label=_("Parent"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Organization
        fields = ["q", "kind", "within", "is_active"]

    def filter_within(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path)


class UserFilterSet(SearchFilterSet):
    search_fields = ("username", "first_name", "last_name", "email")
    organization = django_filters.ModelChoiceFilter(queryset=visible_organizations, label=_("Organisation"))

    class Meta:
        model = User
        fields = ["organization", "is_active"]


class RoleAssignmentFilterSet(SearchFilterSet):
    search_fields = ("user__username", "organization__name", "role__name")
    role = django_filters.CharFilter(field_name="role__code", label=_("Role"))
    user = django_filters.CharFilter(method="filter_user", label=_("User"), help_text=_("User name or account id"))
    organization = django_filters.ModelChoiceFilter(queryset=visible_organizations, label=_("Organisation"))

    class Meta:
        model = RoleAssignment
        fields = ["role", "user", "organization"]

    def filter_user(self, queryset, name, value):
        """The account's id (as links from a user's page give it) or its user name, as a person types it."""
        value = value.strip()
        try:
            return queryset.filter(user_id=uuid.UUID(value))
        except ValueError:
            return queryset.filter(user__username__iexact=value)


class AuditEventFilterSet(SearchFilterSet):
    search_fields = ("object_repr", "actor_name", "object_type")
    action = ChoicesFilter(choices=AuditEvent.Action.choices, label=_("Action"))
    object_type = django_filters.CharFilter(label=_("Object type"))
    object_id = django_filters.CharFilter(label=_("Object id"))
    actor = django_filters.CharFilter(field_name="actor_name", label=_("Actor"))
    organization = django_filters.UUIDFilter(field_name="organization_id", label=_("Organisation"))
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", label=_("Since"))
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "actor", "organization"]
