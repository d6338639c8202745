"""The organisation tree every record hangs from.

The tree is data: ministries and provinces merge, move and are renamed, so each node keeps a
materialised path (its ancestors' ids) that the scoping layer filters on with one prefix match.
"""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    NATIONAL_AUTHORITY = "national_authority", _("National authority")
    MINISTRY = "ministry", _("Ministry or central agency")
    PROVINCE = "province", _("Province or city")
    DEPARTMENT = "department", _("Department")
    UNIT = "unit", _("Unit")
    SYSTEM_OWNER = "system_owner", _("System owner")
    OPERATOR = "operator", _("Operating unit")
    SECTOR_CERT = "sector_cert", _("Sector CERT")
    SOC_PROVIDER = "soc_provider", _("SOC provider")
    SERVICE_PROVIDER = "service_provider", _("Service provider")
    ENTERPRISE = "enterprise", _("Enterprise")
    OTHER = "other", _("Other")


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(
        _("code"), max_length=64, unique=True, help_text=_("Short stable identifier, e.g. 'tinh-tuyen-quang'.")
    )
    name = models.CharField(_("name"), max_length=255)
    short_name = models.CharField(_("short name"), max_length=64, blank=True)
    name_en = models.CharField(_("English name"), max_length=255, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=OrganizationKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=2048, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="absorbed",
    )
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path = "path"

    class Meta:
        ordering = ["path"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.path:
            self.path = self.compute_path()
            self.depth = self.path.count("/") - 2
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("core:organization_detail", args=[self.pk])

    @property
    def organization(self) -> "Organization":
        """An organisation is scoped by its own place in the tree."""
        return self

    @staticmethod
    def segment(pk: uuid.UUID) -> str:
        return pk.hex + "/"

    def compute_path(self) -> str:
        return (self.parent.path if self.parent_id else "/") + self.segment(self.pk)

    def is_descendant_of(self, other: "Organization") -> bool:
        return self.path.startswith(other.path)

    @property
    def lineage_ids(self) -> list[uuid.UUID]:
        """The ids from the top of the tree down to this organisation, read from its path (no query)."""
        return [uuid.UUID(part) for part in self.path.strip("/").split("/") if part]

    def ancestors(self) -> models.QuerySet["Organization"]:
        return Organization.objects.filter(pk__in=self.lineage_ids[:-1]).order_by("depth")

    def subtree(self) -> models.QuerySet["Organization"]:
        return Organization.objects.filter(path__startswith=self.path)


class OrganizationEvent(models.Model):
    """History of the tree itself: renames, moves and mergers, with the instrument that decided them."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        RENAMED = "renamed", _("Renamed")
        MOVED = "moved", _("Moved")
        MERGED = "merged", _("Merged into another organisation")
        ABSORBED = "absorbed", _("Absorbed another organisation")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    effective_date = models.DateField(_("effective date"))
    legal_basis = models.CharField(_("legal basis"), max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_date", "-created_at"]
        verbose_name = _("organisation history event")
        verbose_name_plural = _("organisation history events")

    def __str__(self) -> str:
        return f"{self.organization} {self.get_kind_display()} {self.effective_date}"


class ScopedModel(models.Model):
    """Base for every record that belongs to an organisation and is listed through the scoping layer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
