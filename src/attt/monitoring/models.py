"""Sources of events: who sends (an SOC, a sensor, a firewall cluster), with what credential, in what format and
at what expected rhythm. Events themselves live in the event store (store.py), not in the platform database."""

import hashlib
import secrets

from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from attt.core.models import ScopedModel

TOKEN_PREFIX = "attt_src_"


class LogFormat(models.TextChoices):
    NDJSON = "ndjson", _("NDJSON (one JSON object a line, ECS or vendor fields)")
    EVTX_JSON = "evtx_json", _("Windows EVTX as JSON (Event.System / Event.EventData)")
    SYSLOG = "syslog", _("Syslog (RFC 5424 / RFC 3164)")
    CEF = "cef", _("CEF over syslog")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# What a user sets on a source (the form and the API); the rest is kept by the platform.
EDITABLE_FIELDS = [
    "organization",
    "name",
    "description",
    "log_format",
    "expected_interval_minutes",
    "expected_events_per_minute",
    "systems",
    "is_active",
]


class Source(ScopedModel):
    """One sender of events with its own credential; silent beyond `expected_interval_minutes` raises a warning."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    log_format = models.CharField(
        _("expected format"), max_length=16, choices=LogFormat.choices, default=LogFormat.NDJSON
    )
    expected_interval_minutes = models.PositiveIntegerField(
        _("expected interval (minutes)"),
        default=15,
        validators=[MinValueValidator(1)],  # 0 would make every source silent a moment after each batch
        help_text=_("A source silent for longer than this raises a warning to its organisation."),
    )
    expected_events_per_minute = models.PositiveIntegerField(_("expected events per minute"), default=0)
    systems = models.ManyToManyField(
        "registry.InformationSystem",
        verbose_name=_("systems covered"),
        blank=True,
        related_name="+",
        help_text=_("Their layer-4 status 'connected to national monitoring' follows this source's health."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(_("token starts with"), max_length=16, editable=False, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True, editable=False)
    silent_since = models.DateTimeField(_("silence warned at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("event source")
        verbose_name_plural = _("event sources")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("monitoring:source_detail", args=[self.pk])

    def new_token(self) -> str:
        """Set a fresh credential and return it (shown once; only its hash is kept)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        self.token_hint = token[: len(TOKEN_PREFIX) + 4]
        return token
