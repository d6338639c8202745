"""Sigma rules (national reference data, like ATT&CK) and the alerts they and the intel indicators raise.

Rules are the same for every organisation, so `SigmaRule` has no `organization`. An alert belongs to the
organisation of the event source that produced it, so `Alert` is a ScopedModel: the owner sees its own,
the national view (a role on the root) sees all. Hits of one rule (or indicator) on one source within
one time window add up in one alert (`signature`, `source_id`, `window_start` are unique together).
"""

import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from attt.core.models import ScopedModel

# Sigma's attribution duty (Detection Rule License 1.1): shown with every rule and every alert raised by one.
DRL_NOTICE = _("Sigma rule by %(author)s, licensed under the Detection Rule License (DRL) 1.1.")
DRL_URL = "https://github.com/SigmaHQ/Detection-Rule-License"


class Severity(models.TextChoices):
    INFORMATIONAL = "informational", _("Informational")
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


SEVERITY_ORDER = [s.value for s in Severity]  # lowest first
NOTIFY_SEVERITIES = (Severity.HIGH, Severity.CRITICAL)


class SigmaRule(models.Model):
    """One Sigma rule as loaded from its YAML file; `supported` says whether the engine compiles it."""

    rule_id = models.CharField(_("rule id"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(_("status"), max_length=16, blank=True, help_text=_("Sigma status, e.g. test, stable."))
    author = models.CharField(_("author"), max_length=500, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    techniques = models.CharField(
        _("ATT&CK techniques"), max_length=500, blank=True, help_text=_("attack.tXXXX tags, space separated.")
    )
    product = models.CharField(_("product"), max_length=64, blank=True)
    category = models.CharField(_("category"), max_length=64, blank=True)
    service = models.CharField(_("service"), max_length=64, blank=True)
    path = models.CharField(_("file"), max_length=500, blank=True)
    text = models.TextField(_("YAML text"))
    enabled = models.BooleanField(_("enabled"), default=True)
    supported = models.BooleanField(_("supported"), default=True)
    unsupported_reason = models.CharField(_("why unsupported"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("Sigma rule")
        verbose_name_plural = _("Sigma rules")
        indexes = [models.Index(fields=["enabled", "supported"]), models.Index(fields=["level"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("detection:sigmarule_detail", args=[self.pk])

    @property
    def attribution(self) -> str:
        return DRL_NOTICE % {"author": self.author or _("unknown author")}


class EngineStamp(models.Model):
    """A counter bumped whenever rules or indicators change, so every process's cached detector knows to
    rebuild without asking for the whole rule set on every batch."""

    key = models.CharField(max_length=32, unique=True)
    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key}@{self.version}"


def hour_of(moment: datetime.datetime | None) -> datetime.datetime | None:
    """The start of the UTC hour `moment` falls in: an alert's trend bucket. Vietnam's offset (+07:00) is whole
    hours, so a local hour and local day are unions of these buckets."""
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


class Alert(ScopedModel):
    """What detection raised on one source within one window: a Sigma rule or an indicator of compromise."""

    class Kind(models.TextChoices):
        SIGMA = "sigma", _("Sigma rule")
        IOC = "ioc", _("Indicator of compromise")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        CLOSED = "closed", _("Closed")
        ESCALATED = "escalated", _("Escalated")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    signature = models.CharField(
        _("signature"), max_length=100, editable=False, help_text=_("Rule id or indicator id: what aggregates.")
    )
    source_id = models.UUIDField(_("event source"))
    system = models.ForeignKey(
        "registry.InformationSystem",
        verbose_name=_("information system"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=255)
    rule_id = models.CharField(_("rule id"), max_length=64, blank=True)
    rule_author = models.CharField(_("rule author"), max_length=500, blank=True)
    techniques = models.JSONField(_("ATT&CK techniques"), default=list, blank=True)
    indicator_id = models.UUIDField(_("indicator"), null=True, blank=True)
    indicator_kind = models.CharField(_("indicator kind"), max_length=16, blank=True)
    # as long as intel keeps an indicator (a URL may be 2,048 characters): an escalation passes it on whole
    indicator_value = models.CharField(_("indicator value"), max_length=2048, blank=True)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    window_start = models.DateTimeField(_("window start"), editable=False)
    first_seen = models.DateTimeField(_("first seen"))
    # The hour `first_seen` falls in (UTC), kept at write time so the dashboard's hourly and daily trends
    # group an indexed column instead of calling a date function on every row.
    first_hour = models.DateTimeField(_("first hour"), editable=False, null=True)
    last_seen = models.DateTimeField(_("last seen"))
    count = models.PositiveIntegerField(_("events"), default=0)
    sample_event_ids = models.JSONField(_("sample events"), default=list, blank=True)
    # The ids of the latest events counted, so a batch monitoring hands over again (at-least-once delivery)
    # is not counted twice.
    recent_event_ids = models.JSONField(default=list, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    reason = models.TextField(_("reason"), blank=True)
    incident_id = models.UUIDField(_("incident"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(fields=["signature", "source_id", "window_start"], name="detection_alert_window")
        ]
        indexes = [
            models.Index(fields=["last_seen"], name="detection_alert_seen"),
            # The dashboard's month by organisation and system (and the search within a subtree).
            models.Index(fields=["organization", "last_seen", "system", "count"], name="detection_alert_org_seen_sys"),
            models.Index(fields=["severity", "last_seen"], name="detection_alert_sev_seen"),
            models.Index(fields=["status", "last_seen"], name="detection_alert_status_seen"),
            models.Index(fields=["system", "last_seen"], name="detection_alert_system_seen"),
            models.Index(fields=["rule_id", "last_seen"], name="detection_alert_rule_seen"),
            models.Index(fields=["first_seen"], name="detection_alert_first"),
            # The dashboard's other figures, each answered from one index alone (no table row read per alert).
            models.Index(
                fields=["organization", "last_seen", "signature", "kind", "count"], name="detection_alert_org_seen_sig"
            ),
            models.Index(fields=["organization", "first_hour"], name="detection_alert_org_hour"),
            models.Index(fields=["status", "severity", "organization"], name="detection_alert_status_sev"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_severity_display()}, {self.last_seen:%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("detection:alert_detail", args=[self.pk])

    def save(self, *args, **kwargs):
        self.first_hour = hour_of(self.first_seen)
        super().save(*args, **kwargs)

    @property
    def attribution(self) -> str:
        if self.kind != self.Kind.SIGMA:
            return ""
        return DRL_NOTICE % {"author": self.rule_author or _("unknown author")}
