from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from attt.core import audit
from attt.core.models import AuditEvent
from attt.core.permissions import sync_built_in_roles


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs) -> None:
    audit.record(AuditEvent.Action.LOGIN, obj=user, actor_name=user.get_username())


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record(AuditEvent.Action.LOGOUT, obj=user, actor_name=user.get_username())


@receiver(post_migrate)
def _after_migrate(sender, **kwargs) -> None:
    if sender.label != "core":
        return
    sync_built_in_roles()
    from attt.core.services.jobs import ensure_platform_schedules

    ensure_platform_schedules()
