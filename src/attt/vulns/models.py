"""Vulnerability reference data (national, not scoped) and what it means for each owner (scoped).

The corpus (CVEs, their match criteria, KEV, EPSS) is the same for every organisation, so it has no
`organization`: it is reference data like the regulation. Warnings and leak notices belong to the
owner of the system they concern, so they are ScopedModels and go through the scoping layer.
"""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from attt.core.models import ScopedModel


class Vulnerability(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cve_id = models.CharField(_("CVE"), max_length=32, unique=True)
    summary = models.TextField(_("summary"), blank=True)
    published = models.DateField(_("published"), null=True, blank=True)
    modified = models.DateField(_("modified"), null=True, blank=True)
    cvss_score = models.FloatField(_("CVSS score"), null=True, blank=True)
    cvss_vector = models.CharField(_("CVSS vector"), max_length=200, blank=True)
    kev_added = models.DateField(_("added to KEV"), null=True, blank=True, db_index=True)
    kev_due = models.DateField(_("KEV due date"), null=True, blank=True)
    kev_ransomware = models.BooleanField(_("used by ransomware"), default=False)
    kev_action = models.TextField(_("required action"), blank=True)
    epss = models.FloatField(_("EPSS"), null=True, blank=True)
    epss_percentile = models.FloatField(_("EPSS percentile"), null=True, blank=True)
    references = models.JSONField(_("references"), default=list, blank=True)
    # source → fingerprint of the last imported record, so re-importing an unchanged record is a no-op.
    fingerprints = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published", "cve_id"]
        verbose_name = _("vulnerability")
        verbose_name_plural = _("vulnerabilities")

    def __str__(self) -> str:
        return self.cve_id

    def get_absolute_url(self) -> str:
        return reverse("vulns:vulnerability_detail", args=[self.pk])

    @property
    def in_kev(self) -> bool:
        return self.kev_added is not None


class MatchCriterion(models.Model):
    """One CPE criterion of a vulnerability, with its version range (feeds.Criterion, stored)."""

    vulnerability = models.ForeignKey(Vulnerability, on_delete=models.CASCADE, related_name="criteria")
    source = models.CharField(max_length=8)
    cpe = models.CharField(max_length=512)
    part = models.CharField(max_length=1)
    vendor = models.CharField(max_length=128)
    product = models.CharField(max_length=255)
    version = models.CharField(max_length=64, default="*")
    extras = models.CharField(max_length=255, default="*:*:*:*:*:*:*")
    start_including = models.CharField(max_length=64, blank=True)
    start_excluding = models.CharField(max_length=64, blank=True)
    end_including = models.CharField(max_length=64, blank=True)
    end_excluding = models.CharField(max_length=64, blank=True)
    vulnerable = models.BooleanField(default=True)
    config = models.PositiveSmallIntegerField(default=0)
    needs_platform = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["vendor", "product"])]

    def __str__(self) -> str:
        return self.cpe


class ProductMapping(models.Model):
    """A reviewed translation of a component's free text or package URL to a CPE vendor/product.

    `key` is "text:<vendor>|<product>" (normalised) or "purl:<type>/<namespace>/<name>"; only
    reviewed rows are used by the matcher, so a guess never produces a warning on its own."""

    key = models.CharField(_("component key"), max_length=400, unique=True)
    part = models.CharField(_("part"), max_length=1, default="*")
    vendor = models.CharField(_("CPE vendor"), max_length=128)
    product = models.CharField(_("CPE product"), max_length=255)
    reviewed = models.BooleanField(_("reviewed"), default=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("product mapping")
        verbose_name_plural = _("product mappings")

    def __str__(self) -> str:
        return f"{self.key} → {self.vendor}:{self.product}"


class FeedState(models.Model):
    """The last run of each feed (sync or file import), with its report."""

    name = models.CharField(max_length=32, unique=True)
    last_run = models.DateTimeField(null=True, blank=True)
    last_source = models.CharField(max_length=500, blank=True)
    last_report = models.JSONField(default=dict, blank=True)
    generation = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class WarningStatus(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    MITIGATED = "mitigated", _("Mitigated")
    PATCHED = "patched", _("Patched")
    NOT_AFFECTED = "not_affected", _("Not affected")
    VERIFIED = "verified", _("Verified")


OPEN_STATUSES = (WarningStatus.NEW, WarningStatus.ACKNOWLEDGED)


class Priority(models.IntegerChoices):
    CRITICAL = 1, _("P1 critical")
    HIGH = 2, _("P2 high")
    MEDIUM = 3, _("P3 medium")
    LOW = 4, _("P4 low")


class VulnWarning(ScopedModel):
    """A vulnerability affecting one system; `organization` is the system's owner."""

    system = models.ForeignKey(
        "registry.InformationSystem", verbose_name=_("information system"), on_delete=models.CASCADE, related_name="+"
    )
    vulnerability = models.ForeignKey(
        Vulnerability, verbose_name=_("vulnerability"), on_delete=models.PROTECT, related_name="warnings"
    )
    matches = models.JSONField(_("matching components"), default=list, blank=True)
    fingerprint = models.CharField(
        _("match fingerprint"),
        max_length=32,
        blank=True,
        editable=False,
        help_text=_("Digest of the match list, so a rematch skips unchanged warnings without reading them."),
    )
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.MEDIUM)
    score = models.FloatField(_("score"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=WarningStatus.choices, default=WarningStatus.NEW)
    reason = models.TextField(_("reason"), blank=True)
    note = models.TextField(_("note"), blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    active = models.BooleanField(
        _("still matched"), default=True, help_text=_("False once no component matches any more.")
    )
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
        ordering = ["priority", "due_date", "-created_at"]
        verbose_name = _("vulnerability warning")
        verbose_name_plural = _("vulnerability warnings")
        constraints = [models.UniqueConstraint(fields=["system", "vulnerability"], name="vulns_warning_once")]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["vulnerability", "active"]),
            # The list in its default order: a subtree's list walks the first in order and stops at the page's
            # end; the list of one organisation (?organization=) reads the second without sorting.
            models.Index(fields=["priority", "due_date", "-created_at"], name="vulns_warning_list"),
            models.Index(fields=["organization", "priority", "due_date", "-created_at"], name="vulns_warning_org_list"),
        ]

    def __str__(self) -> str:
        return f"{self.vulnerability_id and self.vulnerability.cve_id} — {self.system}"

    def get_absolute_url(self) -> str:
        return reverse("vulns:vulnwarning_detail", args=[self.pk])


class LeakNotice(ScopedModel):
    """A data-leak notice concerning an organisation's domains or systems: what leaked is described by counts
    (records, accounts, passwords), never by the leaked data itself, so the platform holds no credentials."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        HANDLED = "handled", _("Handled")

    title = models.CharField(_("title"), max_length=255)
    source = models.CharField(_("source"), max_length=255)
    published = models.DateField(_("date"))
    domains = models.JSONField(_("affected domains"), default=list, blank=True)
    system = models.ForeignKey(
        "registry.InformationSystem",
        verbose_name=_("information system"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    record_count = models.PositiveIntegerField(_("records"), default=0)
    account_count = models.PositiveIntegerField(_("accounts"), default=0)
    password_count = models.PositiveIntegerField(_("passwords"), default=0)
    advice = models.TextField(_("what to do"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)

    class Meta:
        ordering = ["-published", "title"]
        verbose_name = _("leak notice")
        verbose_name_plural = _("leak notices")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("vulns:leaknotice_detail", args=[self.pk])
