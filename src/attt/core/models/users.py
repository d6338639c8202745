"""People, what they may do (roles), where (role assignments on a subtree), and their API tokens."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .organizations import Organization


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text=_("The organisation the person works for."),
    )
    job_title = models.CharField(_("job title"), max_length=128, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    totp_secret = models.CharField(max_length=64, blank=True, editable=False)
    totp_last_step = models.BigIntegerField(default=-1, editable=False)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="vi")

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_full_name(self) -> str:
        """Vietnamese order: family and middle names (last_name) before the given name."""
        return f"{self.last_name} {self.first_name}".strip()

    def get_absolute_url(self) -> str:
        return reverse("core:user_detail", args=[self.pk])

    @property
    def has_totp(self) -> bool:
        return bool(self.totp_secret)


class Role(models.Model):
    """A named bundle of permissions ('module.object.action', shell-style wildcards allowed).

    Built-in roles are loaded from core/data/roles.yaml at every migrate; more can be added as data.
    """

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=128)
    description = models.TextField(_("description"), blank=True)
    permissions = models.JSONField(_("permissions"), default=list)
    built_in = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        # built-in names are translated (`permissions.ROLE_NAMES_FOR_TRANSLATION`); a role added as data keeps its own
        return gettext(self.name) if self.built_in else self.name


class RoleAssignment(models.Model):
    """A role held by a user on an organisation and everything below it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="role_assignments")
    role = models.ForeignKey(Role, verbose_name=_("role"), on_delete=models.PROTECT, related_name="assignments")
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="role_assignments"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__path", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "role", "organization"], name="unique_role_assignment")]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")

    def __str__(self) -> str:
        return f"{self.user} · {self.role} · {self.organization}"

    def get_absolute_url(self) -> str:
        return reverse("core:user_detail", args=[self.user_id])


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the clear value is shown once at creation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str = "", days: int | None = None) -> tuple["ApiToken", str]:
        key = "attt_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            prefix=key[:12],
            key_hash=cls.hash_key(key),
            expires_at=timezone.now() + timedelta(days=days or settings.ATTT_API_TOKEN_DAYS),
        )
        return token, key

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class LoginAttempt(models.Model):
    """Failed log-ins, kept in the database so the lock-out holds across server processes."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    device = models.CharField(max_length=32, blank=True, default="")  # the device cookie's id ('' if none)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.username} {self.ip_address} {self.created_at:%Y-%m-%d %H:%M}"
