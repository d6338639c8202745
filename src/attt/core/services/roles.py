from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from attt.core import scoping
from attt.core.models import Organization, Role, RoleAssignment, User
from attt.core.permissions import all_permissions, grants

# Stand-ins for permissions of modules not installed yet, so that a wildcard role ("*") is seen to
# grant more than a granter whose patterns only cover today's modules.
_PROBES = [f"_future.object.{action}" for action in ("view", "add", "change", "delete", "export", "manage")]


def exceeds_granter(granter: User, role: Role, organization: Organization) -> list[str]:
    """The permissions of `role` that `granter` does not hold on `organization` (none = may grant)."""
    scope = scoping.get_scope(granter)
    return [
        p for p in [*all_permissions(), *_PROBES] if grants(role.permissions, p) and not scope.allows(p, organization)
    ]


def check_grantable(granter: User, role: Role, organization: Organization) -> None:
    """No one hands out more than they hold: the guard against privilege escalation by delegation."""
    missing = exceeds_granter(granter, role, organization)
    if missing:
        raise PermissionDenied(
            _("You cannot grant the role %(role)s here: it includes permissions you do not hold (%(perms)s).")
            % {"role": role.name, "perms": ", ".join(missing[:5])}
        )


def check_manageable(manager: User, user: User, action: str = "change", changed: Iterable[str] = ()) -> None:
    """An account is managed by whoever manages people where its roles are, and only there: a province's
    administrator cannot change, switch off or delete an account that also holds a role at the national level
    (nor a superuser's). Its e-mail is its single sign-on identity, so changing it hands the account over: only
    someone who could grant each of its roles may. A person's own account is theirs to edit."""
    if manager.is_superuser or manager.pk == user.pk:
        return
    if user.is_superuser or user.is_staff:
        raise PermissionDenied(_("Only a superuser may change or delete a superuser's account."))
    scope = scoping.get_scope(manager)
    for assignment in RoleAssignment.objects.filter(user=user).select_related("role", "organization"):
        if not scope.allows(f"core.user.{action}", assignment.organization):
            raise PermissionDenied(
                _("This account also holds a role in %(org)s, where you do not manage people.")
                % {"org": assignment.organization.name}
            )
        if "email" in changed and exceeds_granter(manager, assignment.role, assignment.organization):
            raise PermissionDenied(
                _("The e-mail signs this account in: only someone who may grant its role %(role)s may change it.")
                % {"role": assignment.role.name}
            )


def assign(granter: User, user: User, role: Role, organization: Organization) -> RoleAssignment:
    check_grantable(granter, role, organization)
    assignment, _created = RoleAssignment.objects.get_or_create(user=user, role=role, organization=organization)
    scoping.forget_scope(user)
    return assignment
