"""In-app notifications, copied by e-mail through Django's mail settings (console backend by default)."""

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from attt.core.models import Notification, Organization, RoleAssignment, User
from attt.core.permissions import grants
from attt.core.services.jobs import enqueue


def notify(
    users: Iterable[User],
    *,
    title: str,
    body: str = "",
    link: str = "",
    level: str = Notification.Level.INFO,
    email: bool = True,
) -> list[Notification]:
    created = Notification.objects.bulk_create(
        Notification(recipient=u, title=title[:255], body=body, link=link, level=level) for u in set(users)
    )
    if email:
        for n in created:
            if n.recipient.email:
                enqueue("attt.core.services.notifications.send_notification_email", str(n.pk))
    return created


def send_notification_email(notification_id: str) -> bool:
    n = Notification.objects.select_related("recipient").filter(pk=notification_id, emailed_at=None).first()
    if n is None or not n.recipient.email:
        return False
    body = n.body + (f"\n\n{n.link}" if n.link else "")
    send_mail(f"[attt] {n.title}", body, settings.DEFAULT_FROM_EMAIL, [n.recipient.email])
    Notification.objects.filter(pk=n.pk).update(emailed_at=timezone.now())
    return True


def permission_holders(permission: str, organization: Organization | None) -> list[User]:
    """Active users holding `permission` on `organization` (through it or an ancestor); None = national. A role
    on an inactive (merged) organisation counts no more here than in the scoping layer."""
    rows = RoleAssignment.objects.filter(user__is_active=True, organization__is_active=True).select_related(
        "user", "role", "organization"
    )
    if organization is not None:
        ancestor_paths = [organization.path[: i + 1] for i, c in enumerate(organization.path) if c == "/"][1:]
        rows = rows.filter(organization__path__in=ancestor_paths)
    else:
        rows = rows.filter(organization__depth=0)
    return sorted({r.user for r in rows if grants(r.role.permissions, permission)}, key=lambda u: u.username)


def notify_permission_holders(permission: str, organization: Organization | None, **message) -> list[Notification]:
    return notify(permission_holders(permission, organization), **message)


def mark_read(user: User, ids: Iterable[str] | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())
