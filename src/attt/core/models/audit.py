"""The tamper-evident audit log: each event's hash covers its content and the previous event's hash."""

import hashlib
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .organizations import Organization

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        WORKFLOW = "workflow", _("Workflow step")
        LOGIN = "login", _("Logged in")
        LOGOUT = "logout", _("Logged out")
        LOGIN_FAILED = "login_failed", _("Failed log-in")
        EXPORT = "export", _("Exported")

    seq = models.BigAutoField(_("sequence number"), primary_key=True)
    timestamp = models.DateTimeField(_("time"), db_index=True)
    # DO_NOTHING and no constraint: deleting a user or an organisation must never rewrite history
    # (a SET_NULL would change recorded events and break the chain).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(_("user name"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request ID"), max_length=36, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, db_index=True)
    object_id = models.CharField(_("object ID"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    changes = models.JSONField(_("changes"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type} {self.object_repr}"

    def get_absolute_url(self) -> str:
        return reverse("core:auditevent_detail", args=[self.seq])

    def canonical(self) -> bytes:
        """The bytes the hash covers; any change to a stored field changes them."""
        body = {
            "seq": self.seq,
            "timestamp": self.timestamp.isoformat(),
            "actor": str(self.actor_id) if self.actor_id else None,
            "actor_name": self.actor_name,
            "ip": self.ip_address,
            "request_id": self.request_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "organization": str(self.organization_id) if self.organization_id else None,
            "changes": self.changes,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(
            body, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder, separators=(",", ":")
        ).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()
