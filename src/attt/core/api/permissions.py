from rest_framework.permissions import BasePermission

from attt.core import scoping
from attt.core.permissions import model_permission

METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def view_action(request, view) -> str:
    """The permission action a request needs: a viewset action may name its own (`scope_action`)."""
    handler = getattr(view, getattr(view, "action", "") or "", None)
    return getattr(handler, "scope_action", None) or METHOD_ACTIONS.get(request.method, "change")


class ScopedPermission(BasePermission):
    """Authenticated, holding the action's permission somewhere; objects are checked on their own
    organisation. Objects outside the user's view scope never reach here: the queryset hides them (404)."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        model = getattr(getattr(view, "queryset", None), "model", None)
        if model is None:
            return True
        return scoping.get_scope(request.user).has_anywhere(model_permission(model, view_action(request, view)))

    def has_object_permission(self, request, view, obj) -> bool:
        return scoping.can(request.user, view_action(request, view), obj)
