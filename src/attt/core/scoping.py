"""The one scoping layer: what a user may see or do, decided from role assignments on the tree.

A role assigned on an organisation applies to that organisation and everything below it. Every
list, detail, change, export and search in the UI and API asks this module, so isolation between
organisations is enforced in one place.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from attt.core.permissions import grants, model_permission


@dataclass
class Resource:
    """A scoped model as the UI and API expose it; the isolation matrix test walks this list."""

    model: type[models.Model]
    api_basename: str | None = None
    ui_namespace: str | None = None
    reassign_on_merge: bool = True
    # Called as before_merge(source, target) before the source's records move to the target, so a
    # module can settle what the move alone would break (codes unique per owner, other references).
    before_merge: Callable | None = None
    # Called as stays_on_merge(source, target) -> Q: the source's records that stay with it rather than move to
    # the target, because the target holds the same once-per-organisation record (a report of one period, an
    # assignment of one task). The source becomes an inactive unit under the target, so they stay in the target's
    # subtree, seen and answered for by its people, each as it was filed: two legal records are never folded.
    stays_on_merge: Callable | None = None


resources: dict[type[models.Model], Resource] = {}


def register(model: type[models.Model], **options) -> type[models.Model]:
    resources[model] = Resource(model, **options)
    return model


def scope_field(model: type[models.Model]) -> str:
    """The lookup from a model to the materialised path of the organisation it belongs to."""
    return getattr(model, "scope_path", "organization__path")


def organization_of(obj: models.Model):
    from attt.core.models import Organization

    if isinstance(obj, Organization):
        return obj
    return getattr(obj, "organization", None)


@dataclass
class Scope:
    """The permissions of one user, each with the tree paths where it holds."""

    is_superuser: bool
    assignments: list[tuple[str, list[str]]] = field(default_factory=list)

    def paths(self, permission: str) -> list[str] | None:
        """Paths of the subtrees where the permission holds; None means everywhere."""
        if self.is_superuser:
            return None
        found = sorted({path for path, perms in self.assignments if grants(perms, permission)})
        # Drop paths inside another listed path: the outer one already covers them.
        return [p for p in found if not any(p != q and p.startswith(q) for q in found)]

    def has_anywhere(self, permission: str) -> bool:
        return self.is_superuser or any(grants(perms, permission) for _, perms in self.assignments)

    def allows(self, permission: str, organization) -> bool:
        paths = self.paths(permission)
        if paths is None:
            return True
        if organization is None:
            return any(p.count("/") == 2 for p in paths)
        return any(organization.path.startswith(p) for p in paths)

    def filter(self, queryset: models.QuerySet, permission: str | None = None) -> models.QuerySet:
        permission = permission or model_permission(queryset.model, "view")
        paths = self.paths(permission)
        if paths is None:
            return queryset
        lookup = scope_field(queryset.model)
        condition = Q()
        for path in paths:
            condition |= Q(**{f"{lookup}__startswith": path})
            if path.count("/") == 2:  # a root: records tied to no organisation are national
                condition |= Q(**{f"{lookup}__isnull": True})
        if not paths:
            return queryset.none()
        return queryset.filter(condition)


def get_scope(user) -> Scope:
    """The user's scope, computed once per request (cached on the user object)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope(is_superuser=False)
    cached = getattr(user, "_attt_scope", None)
    if cached is not None:
        return cached
    from attt.core.models import RoleAssignment

    rows = RoleAssignment.objects.filter(user=user, organization__is_active=True).values_list(
        "organization__path", "role__permissions"
    )
    scope = Scope(is_superuser=user.is_superuser, assignments=[(path, perms) for path, perms in rows])
    user._attt_scope = scope
    return scope


def forget_scope(user) -> None:
    if hasattr(user, "_attt_scope"):
        del user._attt_scope


def visible(user, queryset: models.QuerySet, action: str = "view") -> models.QuerySet:
    """The rows of `queryset` the user may act on with `action`."""
    return get_scope(user).filter(queryset, model_permission(queryset.model, action))


def can(user, action: str, obj: models.Model) -> bool:
    return get_scope(user).allows(model_permission(type(obj), action), organization_of(obj))


def can_in(user, permission: str, organization) -> bool:
    """Whether the user holds `permission` on `organization` (e.g. to create a record there)."""
    return get_scope(user).allows(permission, organization)


def organizations_where(user, permission: str) -> models.QuerySet:
    """Active organisations on which the user holds `permission` (e.g. to offer them in a form)."""
    from attt.core.models import Organization

    return get_scope(user).filter(Organization.objects.filter(is_active=True), permission)


def or_current(offered: models.QuerySet, current_pk) -> models.QuerySet:
    """The records `offered` (a form's or an API field's choices, in the user's scope) and the one the record being
    edited holds now, which may have left that scope since (a system handed to another owner, an operator outside
    it): the record read and sent back keeps it."""
    if current_pk is None:
        return offered
    return offered.model._default_manager.filter(Q(pk__in=offered.values("pk")) | Q(pk=current_pk))


def organization_where(user, permission: str, pk):
    """The active organisation `pk` if the user holds `permission` on it, else None (a malformed id too): a
    page narrowed with ?org= answers 404 for anything else."""
    from django.core.exceptions import ValidationError

    orgs = organizations_where(user, permission)
    try:
        return orgs.get(pk=pk)
    except (orgs.model.DoesNotExist, ValidationError, ValueError):
        return None
