"""Level-based security management: what the owner proposes, who appraises and approves, what the
system must meet at its level, and how its protection stands (4 layers, checks, inspections).

Every record carries the legal regime it falls under (`regime`, a regulation data set code), so records
made under Decree 85/2016 and under Decree 331/2026 live side by side.
"""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from attt.core.models import ScopedModel

SYSTEM = "registry.InformationSystem"


class LevelAssessment(ScopedModel):
    """A level proposed by the engine from a system's facts; kept with its inputs so it can be re-run."""

    system = models.ForeignKey(SYSTEM, verbose_name=_("information system"), on_delete=models.CASCADE, related_name="+")
    regime = models.CharField(_("legal regime"), max_length=32)
    facts = models.JSONField(_("facts"))
    level = models.PositiveSmallIntegerField(_("level"))
    deciding_criterion = models.CharField(_("deciding criterion"), max_length=64)
    result = models.JSONField(_("result"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("level assessment")
        verbose_name_plural = _("level assessments")

    def __str__(self) -> str:
        return f"{self.system} · {_('level')} {self.level} ({self.regime})"

    def get_absolute_url(self) -> str:
        return reverse("compliance:levelassessment_detail", args=[self.pk])


class DossierState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted, completeness check")
    RETURNED = "returned", _("Returned with comments")
    APPRAISAL = "appraisal", _("Under appraisal")
    APPRAISED = "appraised", _("Appraised, awaiting approval")
    APPROVED = "approved", _("Approved")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class LevelDossier(ScopedModel):
    """The level-proposal dossier (hồ sơ đề xuất cấp độ) and its path to an approval decision.

    `organization` is the system's owner (chủ quản). The appraising and approving bodies and the legal
    time limit of each step come from the regime's data (regulation.services).
    """

    class Kind(models.TextChoices):
        INITIAL = "initial", _("First classification")
        RECLASSIFICATION = "reclassification", _("Re-classification")

    system = models.ForeignKey(SYSTEM, verbose_name=_("information system"), on_delete=models.PROTECT, related_name="+")
    regime = models.CharField(_("legal regime"), max_length=32)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.INITIAL)
    proposed_level = models.PositiveSmallIntegerField(_("proposed level"))
    assessment = models.ForeignKey(
        LevelAssessment,
        verbose_name=_("assessment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=DossierState.choices, default=DossierState.DRAFT, db_index=True
    )
    title = models.CharField(_("title"), max_length=255)
    summary = models.TextField(_("system overview"), blank=True)
    justification = models.TextField(_("level justification"), blank=True)
    protection_plan = models.TextField(_("protection plan"), blank=True)
    appraiser = models.CharField(_("appraising body"), max_length=255, blank=True)
    approver = models.CharField(_("approving body"), max_length=255, blank=True)
    appraisal_opinion = models.TextField(_("appraisal opinion"), blank=True)
    decision_number = models.CharField(_("decision number"), max_length=64, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)
    approved_by_name = models.CharField(_("approved by"), max_length=255, blank=True)
    approved_level = models.PositiveSmallIntegerField(_("approved level"), null=True, blank=True)
    step_started = models.DateField(_("current step started"), null=True, blank=True)
    step_due = models.DateField(_("current step due"), null=True, blank=True, db_index=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("level dossier")
        verbose_name_plural = _("level dossiers")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("compliance:leveldossier_detail", args=[self.pk])


class DossierEvent(models.Model):
    """One step on a dossier's timeline (the audit log has the same fact; this is the readable view)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dossier = models.ForeignKey(LevelDossier, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=16, choices=DossierState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=DossierState.choices)
    comment = models.TextField(blank=True)
    due = models.DateField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    """Stored under a random name: the uploaded name is kept as data, never used as a path."""
    return f"compliance/{instance.organization_id}/{uuid.uuid4().hex}"


class Attachment(ScopedModel):
    """A document attached to a dossier or to a checklist item (design, opinion, evidence)."""

    class Kind(models.TextChoices):
        OVERVIEW = "overview", _("System overview")
        DESIGN = "design", _("Design document")
        JUSTIFICATION = "justification", _("Level justification")
        PROTECTION_PLAN = "protection_plan", _("Protection plan")
        EXPERT_OPINION = "expert_opinion", _("Expert opinion of the security unit")
        APPRAISAL = "appraisal", _("Appraisal opinion")
        DECISION = "decision", _("Approval decision")
        EVIDENCE = "evidence", _("Evidence")
        OTHER = "other", _("Other")

    dossier = models.ForeignKey(
        LevelDossier, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    checklist_item = models.ForeignKey(
        "ChecklistItem", null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    file = models.FileField(upload_to=attachment_path, max_length=255)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class ChecklistStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Not assessed")
    MET = "met", _("Met")
    PARTLY = "partly", _("Partly met")
    NOT_MET = "not_met", _("Not met")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class ChecklistItem(ScopedModel):
    """One requirement of the system's level (from the regime's catalogue) and how far it is met."""

    system = models.ForeignKey(SYSTEM, verbose_name=_("information system"), on_delete=models.CASCADE, related_name="+")
    regime = models.CharField(_("legal regime"), max_length=32)
    requirement = models.CharField(_("requirement"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=ChecklistStatus.choices, default=ChecklistStatus.UNKNOWN, db_index=True
    )
    reason = models.TextField(_("reason or note"), blank=True)
    responsible = models.CharField(_("responsible person"), max_length=255, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    remediation = models.TextField(_("remediation roadmap"), blank=True)

    class Meta:
        # The unique constraint's index serves this order; ordering by the system's name joined and sorted the
        # whole table on every page of a national list.
        ordering = ["system_id", "regime", "requirement"]
        indexes = [models.Index(fields=["system", "regime", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["system", "regime", "requirement"], name="unique_checklist_item")
        ]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")

    def __str__(self) -> str:
        return f"{self.requirement} · {self.get_status_display()}"

    def get_absolute_url(self) -> str:
        return reverse("compliance:system_checklist", args=[self.system_id]) + f"#req-{self.pk}"


class ProtectionLayers(ScopedModel):
    """The 4-layer protection model of one system (mô hình 4 lớp): on-site force, professional
    monitoring, independent assessment, connection to national monitoring."""

    class Layer4Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        MONITORING = "monitoring", _("From live monitoring data")

    system = models.OneToOneField(
        SYSTEM, verbose_name=_("information system"), on_delete=models.CASCADE, related_name="+"
    )
    onsite_staff = models.PositiveSmallIntegerField(_("security specialists on site"), default=0)
    onsite_staff_names = models.TextField(_("names of the on-site security staff"), blank=True)
    soc_provider = models.ForeignKey(
        "core.Organization",
        verbose_name=_("monitoring provider (SOC)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    soc_contract_until = models.DateField(_("SOC contract until"), null=True, blank=True)
    soc_covers_network = models.BooleanField(_("covers network"), default=False)
    soc_covers_application = models.BooleanField(_("covers applications"), default=False)
    soc_covers_database = models.BooleanField(_("covers databases"), default=False)
    soc_covers_endpoint = models.BooleanField(_("covers endpoints"), default=False)
    assessor = models.ForeignKey(
        "core.Organization",
        verbose_name=_("independent assessor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_assessment = models.DateField(_("last independent assessment"), null=True, blank=True)
    national_monitoring_connected = models.BooleanField(_("connected to national monitoring"), default=False)
    national_monitoring_source = models.CharField(
        max_length=16, choices=Layer4Source.choices, default=Layer4Source.MANUAL
    )
    national_monitoring_seen = models.DateTimeField(_("last data seen by national monitoring"), null=True, blank=True)

    class Meta:
        verbose_name = _("4-layer protection")
        verbose_name_plural = _("4-layer protection")

    def __str__(self) -> str:
        return f"{_('4-layer protection')} · {self.system}"

    def get_absolute_url(self) -> str:
        return reverse("compliance:system_overview", args=[self.system_id])


class PeriodicCheck(ScopedModel):
    """A periodic security check or risk assessment (Decree 85 Art 20.2.c; Decree 331 Art 28.5.a)."""

    class Kind(models.TextChoices):
        PERIODIC_CHECK = "periodic_check", _("Periodic check and assessment")
        VULNERABILITY_SCAN = "vulnerability_scan", _("Vulnerability scan")
        PENETRATION_TEST = "penetration_test", _("Penetration test")
        RISK_ASSESSMENT = "risk_assessment", _("Risk assessment")

    system = models.ForeignKey(SYSTEM, verbose_name=_("information system"), on_delete=models.CASCADE, related_name="+")
    regime = models.CharField(_("legal regime"), max_length=32)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices, default=Kind.PERIODIC_CHECK)
    due_date = models.DateField(_("due date"), db_index=True)
    done_date = models.DateField(_("done on"), null=True, blank=True)
    performer = models.CharField(_("performed by"), max_length=255, blank=True)
    result = models.TextField(_("result"), blank=True)

    class Meta:
        ordering = ["due_date"]
        verbose_name = _("periodic check")
        verbose_name_plural = _("periodic checks")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.system} · {self.due_date}"

    def get_absolute_url(self) -> str:
        return reverse("compliance:periodiccheck_detail", args=[self.pk])


class Inspection(ScopedModel):
    """A compliance inspection planned by `organization` (the inspecting body) over target organisations."""

    class State(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=255)
    year = models.PositiveSmallIntegerField(_("year"))
    regime = models.CharField(_("legal regime"), max_length=32)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PLANNED)
    starts = models.DateField(_("starts"), null=True, blank=True)
    ends = models.DateField(_("ends"), null=True, blank=True)
    team = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("team"), blank=True, related_name="+")
    targets = models.ManyToManyField(
        "core.Organization", verbose_name=_("inspected organisations"), blank=True, related_name="+"
    )
    scope = models.TextField(_("scope and checklist"), blank=True)

    class Meta:
        ordering = ["-year", "title"]
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("compliance:inspection_detail", args=[self.pk])


class Finding(ScopedModel):
    """What an inspection found at an inspected organisation (`organization`), against a requirement."""

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        REMEDIATED = "remediated", _("Remediated")
        VERIFIED = "verified", _("Verified")

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="findings"
    )
    system = models.ForeignKey(
        SYSTEM, verbose_name=_("information system"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requirement = models.CharField(_("requirement"), max_length=64, blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    description = models.TextField(_("finding"))
    remediation = models.TextField(_("required remediation"), blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN, db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    evidence = models.TextField(_("remediation evidence"), blank=True)

    class Meta:
        ordering = ["due_date", "-created_at"]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")

    def __str__(self) -> str:
        return self.description[:80]

    def get_absolute_url(self) -> str:
        return reverse("compliance:finding_detail", args=[self.pk])


class StatusReport(ScopedModel):
    """A monthly or yearly report of an organisation, generated from the data and locked once submitted."""

    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("Monthly status report")
        ANNUAL = "annual", _("Annual report")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    regime = models.CharField(_("legal regime"), max_length=32)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    due_date = models.DateField(_("due date"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    data = models.JSONField(_("figures"), default=dict)
    notes = models.TextField(_("difficulties and proposals"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-period_end", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "period_end"], name="unique_status_report")
        ]
        verbose_name = _("status report")
        verbose_name_plural = _("status reports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.organization} · {self.period_end:%m/%Y}"

    def get_absolute_url(self) -> str:
        return reverse("compliance:statusreport_detail", args=[self.pk])
