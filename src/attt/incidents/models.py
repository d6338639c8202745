"""Incidents, their coordination tasks, observables, statutory deadlines and timeline; the response network.

Every record is owned by an organisation and goes through the scoping layer. An incident belongs to the
owner of the affected system (public reports: the national coordinator, the root). A coordination task
belongs to its assignee, so a network member sees its tasks, and through a task the incident's shareable
part at the TLP allowed, without a second scoping layer.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from attt.core.models import ScopedModel
from attt.intel.sharing import ObservableKind
from attt.intel.sharing import Tlp as TLP
from attt.registry.services import PrioritySector


class Source(models.TextChoices):
    OPERATOR = "operator", _("System operator")
    SOC = "soc", _("SOC")
    MEMBER = "member", _("Network member")
    FOREIGN_CERT = "foreign_cert", _("Foreign CERT")
    PUBLIC = "public", _("Public")
    STIX = "stix", _("STIX import")


class State(models.TextChoices):
    RECEIVED = "received", _("Received")
    CLASSIFIED = "classified", _("Verified and classified")
    COORDINATING = "coordinating", _("Being coordinated")
    RESPONDED = "responded", _("Responded")
    CLOSURE_REPORTED = "closure_reported", _("Closure report received")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected (not an incident)")


OPEN_STATES = (State.RECEIVED, State.CLASSIFIED, State.COORDINATING, State.RESPONDED, State.CLOSURE_REPORTED)


class Severity(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary")
    SERIOUS = "serious", _("Serious")


class Incident(ScopedModel):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.OPERATOR)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RECEIVED)
    regime = models.CharField(_("legal regime"), max_length=16)
    category = models.CharField(_("type (RSIT)"), max_length=64, blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, blank=True)
    severity_computed = models.CharField(_("computed severity"), max_length=8, choices=Severity.choices, blank=True)
    severity_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tlp = models.CharField(_("TLP"), max_length=12, choices=TLP.choices, default="amber")
    impacts = models.JSONField(_("impacts"), default=list, blank=True)
    beyond_capacity = models.BooleanField(_("beyond the owner's capacity"), default=False)
    national_security = models.BooleanField(_("signs of harm to national security or public order"), default=False)
    systems = models.ManyToManyField(
        "registry.InformationSystem", verbose_name=_("affected systems"), blank=True, related_name="+"
    )
    techniques = models.JSONField(_("ATT&CK techniques"), default=list, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_name = models.CharField(_("reporter name"), max_length=200, blank=True)
    reporter_contact = models.CharField(_("reporter contact"), max_length=200, blank=True)
    reporter_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    discovered_at = models.DateTimeField(_("discovered"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("duplicate of")
    )

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [
            models.Index(fields=["organization", "state"]),
            models.Index(fields=["-received_at"]),
            models.Index(fields=["state", "-received_at"]),
            models.Index(fields=["discovered_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} — {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:incident_detail", args=[self.pk])


class IncidentTask(ScopedModel):
    """Work asked of one organisation (a network member, an operator); `organization` is the assignee."""

    class Kind(models.TextChoices):
        TASK = "task", _("Task")
        SUPPORT = "support", _("Request for support")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DONE = "done", _("Done")
        DECLINED = "declined", _("Declined")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("incident"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.TASK)
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)

    class Meta:
        ordering = ["due_date", "created_at"]
        verbose_name = _("coordination task")
        verbose_name_plural = _("coordination tasks")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("incidents:incidenttask_detail", args=[self.pk])


class Observable(ScopedModel):
    """An indicator seen in one incident; the same (kind, value) in other incidents are its sightings."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="observables")
    kind = models.CharField(_("kind"), max_length=16, choices=ObservableKind.choices)
    value = models.CharField(_("value"), max_length=2048)
    shareable = models.BooleanField(_("shareable"), default=True)
    comment = models.CharField(_("comment"), max_length=255, blank=True)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = _("observable")
        verbose_name_plural = _("observables")
        constraints = [models.UniqueConstraint(fields=["incident", "kind", "value"], name="incidents_observable_once")]
        indexes = [
            models.Index(fields=["value"]),
            models.Index(fields=["kind", "value"], name="incidents_observable_list"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


TIMELINE_ACTIONS = {
    "received": _("Received"),
    "classified": _("Verified and classified"),
    "reject": _("Rejected"),
    "task_added": _("Task assigned"),
    "task_acknowledged": _("Task acknowledged"),
    "task_done": _("Task done"),
    "task_declined": _("Task declined"),
    "respond": _("Response finished"),
    "closure_report": _("Closure report received"),
    "close": _("Closed"),
    "observable_added": _("Observable added"),
    "techniques": _("ATT&CK techniques tagged"),
    "attachment": _("File attached"),
    "report_sent": _("Report sent"),
    "shared": _("Shared"),
    "duplicate": _("Marked as a duplicate"),
    "duplicate_linked": _("A duplicate report was linked"),
}


class TimelineEntry(ScopedModel):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=32)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "created_at"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    @property
    def label(self) -> str:
        return str(TIMELINE_ACTIONS.get(self.action, self.action))


class Deadline(ScopedModel):
    """A statutory time limit of one incident, from its regime's data; met when the report is recorded."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="deadlines")
    code = models.CharField(_("deadline"), max_length=32)
    due_at = models.DateTimeField(_("due"))
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    late = models.BooleanField(_("met late"), default=False, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("statutory deadline")
        verbose_name_plural = _("statutory deadlines")
        constraints = [models.UniqueConstraint(fields=["incident", "code"], name="incidents_deadline_once")]
        indexes = [models.Index(fields=["met_at", "due_at"]), models.Index(fields=["late"])]

    def __str__(self) -> str:
        return f"{self.code} {self.due_at:%Y-%m-%d %H:%M}"


class Attachment(ScopedModel):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attachments")
    task = models.ForeignKey(IncidentTask, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="incidents/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField("SHA-256", max_length=64)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


# A member's own facts, in the order forms, pages and the API show them.
MEMBER_FIELDS = ("kind", "country", "sector", "contact_name", "contact_email", "contact_phone", "on_call")


class NetworkMember(ScopedModel):
    """A member of the national incident-response network: a unit of the hierarchy (`organization` is the
    unit itself) or an external CERT (`organization` is the coordinator that keeps its record)."""

    class Kind(models.TextChoices):
        MANDATORY = "mandatory", _("Mandatory member")
        VOLUNTARY = "voluntary", _("Voluntary member")
        EXTERNAL = "external", _("External CERT")

    name = models.CharField(_("name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.MANDATORY)
    country = models.CharField(_("country"), max_length=2, default="VN")
    sector = models.CharField(_("priority sector"), max_length=32, choices=PrioritySector.choices, blank=True)
    contact_name = models.CharField(_("contact point"), max_length=200, blank=True)
    contact_email = models.EmailField(_("incident e-mail"), blank=True)
    contact_phone = models.CharField(_("24/7 phone"), max_length=40, blank=True)
    on_call = models.TextField(_("on-call arrangements"), blank=True)
    contact_updated_at = models.DateTimeField(_("contact details updated"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("network member")
        verbose_name_plural = _("network members")
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="incidents_member_once")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("incidents:networkmember_detail", args=[self.pk])


class MemberReport(ScopedModel):
    """A network member's periodic report (half-year / annual), with the figures it was generated from."""

    member = models.ForeignKey(NetworkMember, on_delete=models.CASCADE, related_name="reports")
    period = models.CharField(_("period"), max_length=16)
    year = models.PositiveSmallIntegerField(_("year"))
    due_date = models.DateField(_("due date"))
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-year", "due_date"]
        verbose_name = _("member report")
        verbose_name_plural = _("member reports")
        constraints = [models.UniqueConstraint(fields=["member", "period", "year"], name="incidents_report_once")]

    def __str__(self) -> str:
        return f"{self.member} {self.period} {self.year}"
