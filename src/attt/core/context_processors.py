from django.conf import settings

from attt.core import navigation
from attt.core.scoping import get_scope


def shell(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"oidc_enabled": settings.OIDC_ENABLED}
    return {
        "menu": navigation.menu_for(get_scope(user)),
        "unread_notifications": user.notifications.filter(read_at__isnull=True).count(),
        "oidc_enabled": settings.OIDC_ENABLED,
    }
