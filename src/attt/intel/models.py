"""Threat intelligence: the indicator store (scoped), TAXII collections with their grants and stored STIX
objects (scoped to the collection's owner), and ATT&CK (reference data, the same for everyone)."""

import uuid

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from attt.core.models import Organization, ScopedModel
from attt.intel.sharing import ObservableKind as Kind
from attt.intel.sharing import Tlp


class Source(models.TextChoices):
    INCIDENT = "incident", _("Incident")
    MISP = "misp", _("MISP import")
    STIX = "stix", _("STIX import")
    LIST = "list", _("Plain list")
    TAXII = "taxii", _("TAXII")
    MANUAL = "manual", _("Entered by hand")


# What the indicator's page and the API show, in that order.
INDICATOR_FIELDS = (
    "kind",
    "value",
    "organization",
    "tlp",
    "source",
    "source_reference",
    "confidence",
    "comment",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "active",
)


class Indicator(ScopedModel):
    """One observable an organisation watches for. Unique per owner, kind and canonical value: importing
    it again refreshes `last_seen` and keeps the first source."""

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=2048)
    tlp = models.CharField(_("TLP"), max_length=16, choices=Tlp.choices, default=Tlp.AMBER)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    source_reference = models.CharField(_("source reference"), max_length=255, blank=True)
    confidence = models.PositiveSmallIntegerField(_("confidence"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    first_seen = models.DateTimeField(_("first seen"), null=True, blank=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        ordering = ["-last_seen", "kind", "value"]
        verbose_name = _("threat indicator")
        verbose_name_plural = _("threat indicators")
        indexes = [
            models.Index(fields=["kind", "value"], name="intel_indicator_kind_value"),
            models.Index(fields=["-last_seen", "kind", "value"], name="intel_indicator_list"),  # the lists' order
        ]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "value"], name="intel_indicator_unique"),
            models.CheckConstraint(
                condition=models.Q(confidence__isnull=True) | models.Q(confidence__lte=100),
                name="intel_indicator_confidence_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"

    def get_absolute_url(self) -> str:
        return reverse("intel:indicator_detail", args=[self.pk])


class Collection(ScopedModel):
    """A TAXII 2.1 collection owned by an organisation. Users holding `intel.collection.view` on the owner
    read it, `intel.collection.write` write it; grants open it to other organisations (and their subtrees)."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    alias = models.SlugField(_("alias"), max_length=100, unique=True, null=True, blank=True)
    is_default = models.BooleanField(
        _("default sharing collection"), default=False, help_text=_("Where the organisation's published reports go.")
    )

    class Meta:
        ordering = ["title"]
        verbose_name = _("collection")
        verbose_name_plural = _("collections")
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=models.Q(is_default=True), name="intel_one_default_collection"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("intel:collection_detail", args=[self.pk])


class CollectionGrant(ScopedModel):
    """Read (and optionally write) rights on a collection for another organisation (and, unless told otherwise,
    its subtree), up to a TLP level. Owned, like the collection, by the collection's organisation."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="grants")
    grantee = models.ForeignKey(
        Organization, verbose_name=_("organisation granted"), on_delete=models.CASCADE, related_name="+"
    )
    include_subtree = models.BooleanField(
        _("includes the units below"), default=True, help_text=_("Off: only the organisation itself.")
    )
    can_read = models.BooleanField(_("can read"), default=True)
    can_write = models.BooleanField(_("can write"), default=False)
    max_tlp = models.CharField(_("highest TLP served"), max_length=16, choices=Tlp.choices, default=Tlp.GREEN)

    class Meta:
        ordering = ["collection", "grantee__name"]
        verbose_name = _("collection grant")
        verbose_name_plural = _("collection grants")
        constraints = [models.UniqueConstraint(fields=["collection", "grantee"], name="intel_grant_unique")]

    def __str__(self) -> str:
        return f"{self.collection} → {self.grantee}"


class StixObject(ScopedModel):
    """One version of one STIX object in a collection, as TAXII serves it."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="stix_objects")
    stix_id = models.CharField(max_length=300)  # <type>--<UUID>: up to 288 characters
    type = models.CharField(max_length=250)  # the STIX 2.1 limit
    spec_version = models.CharField(max_length=8, default="2.1")
    version = models.DateTimeField()
    date_added = models.DateTimeField(db_index=True)
    tlp = models.CharField(max_length=16, choices=Tlp.choices, blank=True)
    data = models.JSONField()

    class Meta:
        ordering = ["date_added", "stix_id", "version"]
        verbose_name = _("STIX object")
        verbose_name_plural = _("STIX objects")
        indexes = [models.Index(fields=["collection", "stix_id"], name="intel_stix_coll_id")]
        constraints = [
            models.UniqueConstraint(fields=["collection", "stix_id", "version"], name="intel_stix_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.stix_id} @ {self.version}"


class TaxiiStatus(ScopedModel):
    """The outcome of one TAXII add-objects request (kept so the client can ask again)."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="statuses")
    request_timestamp = models.DateTimeField()
    successes = models.JSONField(default=list)
    failures = models.JSONField(default=list)

    class Meta:
        ordering = ["-request_timestamp"]
        verbose_name = _("TAXII status")
        verbose_name_plural = _("TAXII statuses")

    def __str__(self) -> str:
        return str(self.pk)


class Tactic(models.Model):
    """An ATT&CK tactic (reference data loaded from the ATT&CK STIX bundle)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(_("ATT&CK id"), max_length=16, unique=True)
    short_name = models.CharField(_("short name"), max_length=100)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    domain = models.CharField(_("ATT&CK matrix"), max_length=32)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["domain", "order", "external_id"]
        verbose_name = _("tactic")
        verbose_name_plural = _("tactics")

    def __str__(self) -> str:
        return f"{self.external_id} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("intel:tactic_detail", args=[self.external_id])


class Technique(models.Model):
    """An ATT&CK technique (or sub-technique) with the tactics it serves."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(_("ATT&CK id"), max_length=16, unique=True)
    stix_id = models.CharField(max_length=100)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    domain = models.CharField(_("ATT&CK matrix"), max_length=32)
    tactic_names = models.JSONField(_("tactics"), default=list)
    tactics = models.ManyToManyField(Tactic, related_name="techniques", blank=True)
    url = models.URLField(blank=True)
    deprecated = models.BooleanField(default=False)

    class Meta:
        ordering = ["external_id"]
        verbose_name = _("technique")
        verbose_name_plural = _("techniques")

    def __str__(self) -> str:
        return f"{self.external_id} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("intel:technique_detail", args=[self.external_id])
