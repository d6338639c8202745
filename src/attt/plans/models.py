"""Strategy plans as live work: plans cascade down the tree, tasks are assigned to units, each
assignee reports per period, indicators carry values per period against baseline and target."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from attt.core.models import Organization, ScopedModel


class PlanKind(models.TextChoices):
    NATIONAL = "national", _("National strategy plan")
    MINISTRY = "ministry", _("Ministry plan")
    PROVINCE = "province", _("Provincial plan")
    DEPARTMENT = "department", _("Department plan")
    GUIDANCE = "guidance", _("Guidance letter")


class Plan(ScopedModel):
    """A plan owned by `organization`; `parent` is the plan it implements (cascade)."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=500)
    kind = models.CharField(_("kind"), max_length=20, choices=PlanKind.choices, default=PlanKind.MINISTRY)
    parent = models.ForeignKey(
        "self", verbose_name=_("implements"), null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    year_start = models.PositiveIntegerField(_("from year"), null=True, blank=True)
    year_end = models.PositiveIntegerField(_("to year"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    source_file = models.CharField(_("source file"), max_length=255, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return self.title[:120]

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.pk])


class Section(models.Model):
    """A part of a plan ("Appendix I – I"); tasks are numbered within it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="sections")
    code = models.CharField(max_length=40)
    title = models.CharField(max_length=500)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["plan", "order"]
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="plans_section_unique")]

    def __str__(self) -> str:
        return f"{self.code}. {self.title}"[:200]


class Objective(models.Model):
    """An objective or requirement of a plan (general, by 2025, by 2030, of a key task)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="objectives")
    category = models.CharField(max_length=60)
    text = models.TextField()
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["plan", "order"]

    def __str__(self) -> str:
        return self.text[:120]


class DeadlineKind(models.TextChoices):
    DATE = "date", _("By a date")
    RANGE = "range", _("Within a period")
    CONTINUOUS = "continuous", _("Continuous")
    YEARLY = "yearly", _("Yearly")
    QUARTERLY = "quarterly", _("Quarterly")
    MONTHLY = "monthly", _("Monthly")
    LEAD_PLAN = "lead_plan", _("Per the lead unit's plan")
    APPROVED_PLAN = "approved_plan", _("Per the approved plan")
    UNKNOWN = "unknown", _("Not stated")


class Status(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", pgettext_lazy("plan status", "In progress")
    DONE = "done", pgettext_lazy("plan status", "Done")
    OVERDUE = "overdue", _("Overdue")
    BLOCKED = "blocked", _("Blocked")


class Task(ScopedModel):
    """A numbered task of a plan; `organization` is the lead unit when matched, else the plan owner."""

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="tasks")
    section = models.ForeignKey(Section, verbose_name=_("section"), on_delete=models.CASCADE, related_name="tasks")
    number = models.CharField(_("number"), max_length=20)
    order = models.PositiveIntegerField(default=0)
    content = models.TextField(_("content"))
    details = models.TextField(_("solutions and details"), blank=True)
    lead_text = models.TextField(_("lead unit (as written)"), blank=True)
    coordination_text = models.TextField(_("coordinating units (as written)"), blank=True)
    expected_result = models.TextField(_("expected result"), blank=True)
    indicator_refs = models.JSONField(_("indicators"), default=list, blank=True)
    deadline_text = models.CharField(_("deadline (as written)"), max_length=255, blank=True)
    deadline_kind = models.CharField(
        _("deadline kind"), max_length=20, choices=DeadlineKind.choices, default=DeadlineKind.UNKNOWN
    )
    start_date = models.DateField(_("start"), null=True, blank=True)
    due_date = models.DateField(_("due"), null=True, blank=True)
    recurrence_day = models.PositiveSmallIntegerField(null=True, blank=True)
    unit_matched = models.BooleanField(_("lead unit matched"), default=False)
    unmatched_units = models.JSONField(_("units to review"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)

    class Meta:
        ordering = ["plan", "section__order", "order"]
        constraints = [models.UniqueConstraint(fields=["section", "number"], name="plans_task_unique")]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return f"{self.number}. {self.content[:100]}"

    def get_absolute_url(self) -> str:
        return reverse("plans:task_detail", args=[self.pk])


class Assignment(ScopedModel):
    """A task assigned to `organization`; `parent` is the assignment it was handed down from."""

    task = models.ForeignKey(Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="assignments")
    parent = models.ForeignKey(
        "self", verbose_name=_("assigned by"), null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    due_date = models.DateField(_("due"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["task__plan", "task__section__order", "task__order", "organization__name"]
        constraints = [
            models.UniqueConstraint(fields=["task", "organization"], name="plans_assignment_unique"),
        ]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")

    def __str__(self) -> str:
        return f"{self.task.number}. {self.task.content[:80]} — {self.organization}"

    def delete(self, *args, **kwargs):
        """The task is rolled up without the removed unit (the page and the API both delete through here; a task's
        own deletion takes its assignments with it)."""
        from attt.plans.services import roll_up

        deleted = super().delete(*args, **kwargs)
        roll_up(self.task)
        return deleted

    def get_absolute_url(self) -> str:
        return reverse("plans:assignment_detail", args=[self.pk])


class ProgressReport(ScopedModel):
    """What an assignee reports for one period (a year, a quarter, a month)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="reports")
    period = models.CharField(_("period"), max_length=20)  # "2024", "2024-Q2", "2024-06"
    period_end = models.DateField(_("period end"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    comment = models.TextField(_("results"), blank=True)
    difficulties = models.TextField(_("difficulties"), blank=True)
    proposals = models.TextField(_("proposals"), blank=True)
    links = models.TextField(_("evidence links"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["assignment", "period_end"]
        constraints = [models.UniqueConstraint(fields=["assignment", "period"], name="plans_report_unique")]
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")

    def __str__(self) -> str:
        return f"{self.period} — {self.assignment}"[:200]


class Evidence(ScopedModel):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to="plans/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.filename


class Indicator(ScopedModel):
    """A plan's indicator with its baseline, plan and target as written, referred to as (n) by tasks."""

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="indicators")
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.TextField(_("name"))
    baseline = models.CharField(_("baseline (2023 result)"), max_length=100, blank=True)
    planned = models.CharField(_("plan (2024)"), max_length=100, blank=True)
    target = models.CharField(_("target (2025)"), max_length=100, blank=True)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plans_indicator_unique")]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self) -> str:
        return f"({self.number}) {self.name[:100]}"

    def get_absolute_url(self) -> str:
        return reverse("plans:indicator_detail", args=[self.pk])


class IndicatorValue(ScopedModel):
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    period = models.CharField(_("period"), max_length=20)
    value = models.CharField(_("value"), max_length=100)
    numeric = models.FloatField(_("numeric value"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["indicator", "period"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "organization", "period"], name="plans_value_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period}: {self.value}"


class LegalDocument(ScopedModel):
    """A legal or guidance document of the reference library."""

    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents")
    category = models.CharField(_("category"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=40)
    number = models.CharField(_("number"), max_length=60, blank=True)
    date = models.DateField(_("date"), null=True, blank=True)
    issuer = models.CharField(_("issuer"), max_length=200, blank=True)
    title = models.TextField(_("title"))
    key = models.CharField(_("document key"), max_length=200, unique=True, editable=False)

    class Meta:
        ordering = ["date", "number"]
        verbose_name = _("legal document")
        verbose_name_plural = _("legal documents")

    def __str__(self) -> str:
        return f"{self.kind} {self.number}".strip()[:200]

    @staticmethod
    def key_for(kind: str, number: str, date, title: str) -> str:
        """What keeps a document once in the library, however often plans cite it: kind, number, date and
        the title without case or accents."""
        from attt.plans.parsing import fold

        return f"{kind}|{number}|{date}|{fold(title)[:120]}"[:200]

    def save(self, *args, **kwargs):
        if not self.key:  # a document added by hand or through the API
            self.key = self.key_for(self.kind, self.number, self.date, self.title)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("plans:legaldocument_detail", args=[self.pk])


__all__ = [
    "Assignment",
    "DeadlineKind",
    "Evidence",
    "Indicator",
    "IndicatorValue",
    "LegalDocument",
    "Objective",
    "Organization",
    "Plan",
    "PlanKind",
    "ProgressReport",
    "Section",
    "Status",
    "Task",
]
