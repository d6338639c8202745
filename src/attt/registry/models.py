"""The registry of state information systems and what they are made of.

A system belongs to its owner (*chủ quản*, the `organization` of ScopedModel), so the scoping layer,
mergers and the isolation matrix treat it like every other record. Its child records (components,
servers, domains, IP ranges, contacts) carry the same owner, copied from the system on save, so they
are scoped without a join.

The level facts are stored as plain fields with the value sets of docs/level-facts.md; the level
itself is computed by the regulation module from `services.level_facts()`.
"""

import datetime
import ipaddress
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from attt.core import audit
from attt.core.models import Organization, ScopedModel
from attt.registry import validators as v

MAX_COUNT = 2_000_000_000  # fits a 32-bit integer column on every database

# --- Value sets -------------------------------------------------------------------------------------------


class InformationClass(models.TextChoices):
    PUBLIC = "public", _("Public")
    PRIVATE = "private", _("Private")
    PERSONAL = "personal", _("Personal")
    STATE_SECRET = "state_secret", _("State secret")


class StateSecretGrade(models.TextChoices):
    NONE = "none", _("None")
    CONFIDENTIAL = "confidential", _("Confidential (Mật)")
    SECRET = "secret", _("Secret (Tối mật)")
    TOP_SECRET = "top_secret", _("Top secret (Tuyệt mật)")


class SecurityHarm(models.TextChoices):
    NONE = "none", _("None")
    HARM = "harm", _("Harm")
    SERIOUS = "serious", _("Serious harm")
    ESPECIALLY_SERIOUS = "especially_serious", _("Especially serious harm")


class SystemType(models.TextChoices):
    INTERNAL = "internal", _("Internal operations")
    CITIZEN_SERVICE = "citizen_service", _("Serving citizens and businesses")
    SHARED_INFRASTRUCTURE = "shared_infrastructure", _("Shared information infrastructure")
    INDUSTRIAL_CONTROL = "industrial_control", _("Industrial control system")
    OTHER = "other", _("Other")


class InfrastructureScope(models.TextChoices):
    NONE = "none", _("Not shared infrastructure")
    ONE_ORGANISATION = "one_organisation", _("One organisation")
    SECTOR_OR_PROVINCE = "sector_or_province", _("One sector, ministry or province, or several provinces")
    NATIONWIDE = "nationwide", _("Nationwide")
    INTERNATIONAL = "international", _("Interconnects Vietnam with international networks")


class ConstructionGrade(models.TextChoices):
    NONE = "none", _("None")
    GRADE_IV = "IV", _("Grade IV")
    GRADE_III = "III", _("Grade III")
    GRADE_II = "II", _("Grade II")
    GRADE_I = "I", _("Grade I")
    SPECIAL = "special", _("Special grade")
    NATIONAL_SECURITY = "national_security", _("Important to national security")


class Hosting(models.TextChoices):
    OWN_PREMISES = "own_premises", _("Own premises")
    DATA_CENTRE = "data_centre", _("Data centre")
    CLOUD = "cloud", _("Cloud")


class NetworkZone(models.TextChoices):
    INTERNAL = "internal", _("Internal users")
    PERIMETER = "perimeter", _("Perimeter")
    DMZ = "dmz", _("Demilitarised zone (DMZ)")
    INTERNAL_SERVERS = "internal_servers", _("Internal servers")
    WIRELESS = "wireless", _("Wireless")
    DATABASE = "database", _("Database")
    MANAGEMENT = "management", _("Management")
    DEVICE_MANAGEMENT = "device_management", _("Device management")


class PrioritySector(models.TextChoices):
    """The 11 priority sectors of Decision 632/QĐ-TTg (10 May 2017)."""

    TRANSPORT = "transport", _("Transport")
    ENERGY = "energy", _("Energy")
    NATURAL_RESOURCES = "natural_resources_environment", _("Natural resources and environment")
    INFORMATION = "information", _("Information")
    HEALTH = "health", _("Health")
    FINANCE = "finance", _("Finance")
    BANKING = "banking", _("Banking")
    DEFENCE = "defence", _("Defence")
    SECURITY_ORDER = "security_order", _("Security, social order and safety")
    URBAN = "urban", _("Urban")
    GOVERNMENT_DIRECTION = "government_direction", _("Government direction and administration")


class LifecycleStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    BUILDING = "building", _("Being built")
    OPERATING = "operating", _("In operation")
    UPGRADING = "upgrading", _("Being upgraded")
    RETIRED = "retired", _("Retired")


# Decree 331/2026/ND-CP comes into force on this date and replaces Decree 85/2016/ND-CP.
ND331_IN_FORCE = datetime.date(2026, 8, 19)

# Field groups of a system, shared by the form, the detail page, the API and the level facts.
SYSTEM_IDENTITY_FIELDS = (
    "organization",
    "code",
    "name",
    "description",
    "operator",
    "parent_system",
    "lifecycle_status",
    "regime",
    "user_count",
)
# The facts of docs/level-facts.md, in its order (what the level engine reads).
LEVEL_FACT_FIELDS = (
    "information_classes",
    "state_secret_grade",
    "security_harm",
    "system_type",
    "online_public_service_level",
    "resolves_administrative_procedures",
    "conditional_business_line",
    "users_with_private_data",
    "data_subjects_basic",
    "data_subjects_sensitive",
    "infrastructure_scope",
    "operates_24x7",
    "national_egovernment",
    "construction_grade",
    "central_national_data",
    "decided_level",
)
SYSTEM_HOSTING_FIELDS = ("hosting", "hosting_provider", "internet_facing", "network_zones")
SYSTEM_IMPORTANCE_FIELDS = ("priority_sector", "national_important", "national_security_important")
SYSTEM_FIELDS = (*SYSTEM_IDENTITY_FIELDS, *LEVEL_FACT_FIELDS, *SYSTEM_HOSTING_FIELDS, *SYSTEM_IMPORTANCE_FIELDS)


def default_regime(on: datetime.date | None = None) -> str:
    """The legal regime a system registered on `on` (default: today) falls under.

    A placeholder rule by date only: the regulation app's service (regimes as versioned data, with the
    transitional rules of Decree 331 Art 39) will replace it, and compliance fills the field from there.
    """
    on = on or timezone.localdate()
    return "ND85_2016" if on < ND331_IN_FORCE else "ND331_2026"


def default_information_classes() -> list[str]:
    return [InformationClass.PUBLIC.value]


# --- Information system -----------------------------------------------------------------------------------


class InformationSystem(ScopedModel):
    """A state information system; `organization` is its owner (*chủ quản*, ND85 Art 5; TT12 Art 4)."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The owner (chủ quản): the system belongs to its scope."),
    )
    code = models.SlugField(
        _("code"), max_length=64, help_text=_("Short identifier, unique within the owner, e.g. 'cong-dvc'.")
    )
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(
        _("description and purpose"),
        blank=True,
        help_text=_("What the system does and for whom: scope, scale and users served (TT12 Art 8.1)."),
    )
    operator = models.ForeignKey(
        Organization,
        verbose_name=_("operating unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The unit that operates the system (đơn vị vận hành, TT12 Art 5)."),
    )
    parent_system = models.ForeignKey(
        "self",
        verbose_name=_("part of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subsystems",
        help_text=_(
            "For a component system of a composite one: the composite takes the highest level of its "
            "parts (ND85 Art 5; ND331 Art 8.2)."
        ),
    )
    lifecycle_status = models.CharField(
        _("lifecycle status"), max_length=16, choices=LifecycleStatus.choices, default=LifecycleStatus.OPERATING
    )
    regime = models.CharField(
        _("legal regime"),
        max_length=32,
        blank=True,
        default=default_regime,
        validators=[RegexValidator(r"^[A-Za-z0-9_.\-]*$", _("Letters, digits, '_', '.', '-' only."))],
        help_text=_("The decree the system is classified under, e.g. ND85_2016 or ND331_2026."),
    )

    # Level facts (docs/level-facts.md).
    system_type = models.CharField(
        _("system type"),
        max_length=32,
        choices=SystemType.choices,
        default=SystemType.INTERNAL,
        help_text=_("System type by function (ND85 Art 6.2 a–đ; ND331 Art 9.2)."),
    )
    information_classes = models.JSONField(
        _("information classes"),
        default=default_information_classes,
        blank=True,
        validators=[v.ChoiceListValidator(InformationClass.values)],
        help_text=_("Classes of information processed (ND85 Art 6.1; ND331 Art 9.1)."),
    )
    state_secret_grade = models.CharField(
        _("state secret grade"),
        max_length=16,
        choices=StateSecretGrade.choices,
        default=StateSecretGrade.NONE,
        help_text=_("Highest secrecy grade processed (informative: the decrees do not map grades to levels)."),
    )
    security_harm = models.CharField(
        _("harm to defence and security"),
        max_length=24,
        choices=SecurityHarm.choices,
        default=SecurityHarm.NONE,
        help_text=_(
            "For systems processing state secrets or serving defence or security: harm to national defence or "
            "security if sabotaged (ND85 Art 9.1.b, 10.1.b, 11.1.b; ND331 Art 13–15)."
        ),
    )
    user_count = models.PositiveIntegerField(
        _("number of users"),
        default=0,
        validators=[MaxValueValidator(MAX_COUNT)],
        help_text=_("Users served, for the system overview of the level dossier (TT12 Art 8.1)."),
    )
    users_with_private_data = models.PositiveIntegerField(
        _("users with private or personal data"),
        default=0,
        validators=[MaxValueValidator(MAX_COUNT)],
        help_text=_("Users whose private or personal information is processed (ND85 Art 8–9: threshold 10,000)."),
    )
    data_subjects_basic = models.PositiveIntegerField(
        _("data subjects with basic personal data"),
        default=0,
        validators=[MaxValueValidator(MAX_COUNT)],
        help_text=_("ND331 Art 12.2.b, 13.2.c: threshold 100,000."),
    )
    data_subjects_sensitive = models.PositiveIntegerField(
        _("data subjects with sensitive personal data"),
        default=0,
        validators=[MaxValueValidator(MAX_COUNT)],
        help_text=_("ND331 Art 12.2.b, 13.2.c: threshold 10,000."),
    )
    online_public_service_level = models.PositiveSmallIntegerField(
        _("online public service level"),
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(4)],
        help_text=_("0 = none, 1–4 per Circular 32/2017 (ND85 Art 8.2, 9.2 only)."),
    )
    resolves_administrative_procedures = models.BooleanField(
        _("resolves administrative procedures"), default=False, help_text=_("ND331 Art 13.2.b.")
    )
    conditional_business_line = models.BooleanField(
        _("online service on the conditional business lines list"),
        default=False,
        help_text=_("The list of conditional investment and business lines (ND85 Art 8.2, 9.2; ND331 Art 12.2, 13.2)."),
    )
    infrastructure_scope = models.CharField(
        _("infrastructure scope"),
        max_length=24,
        choices=InfrastructureScope.choices,
        default=InfrastructureScope.NONE,
        help_text=_("For shared infrastructure: whom it serves (ND85 Art 8.3–11.3; ND331 Art 12.3–15.3)."),
    )
    operates_24x7 = models.BooleanField(
        _("operates 24/7"),
        default=False,
        help_text=_("Must run 24/7 and accepts no unplanned stop (ND85 Art 10.2–10.3; ND331 Art 14.2)."),
    )
    national_egovernment = models.BooleanField(
        _("national e-government system"), default=False, help_text=_("ND85 Art 10.2; ND331 Art 14.2.")
    )
    construction_grade = models.CharField(
        _("construction works grade"),
        max_length=24,
        choices=ConstructionGrade.choices,
        default=ConstructionGrade.NONE,
        help_text=_("For industrial control systems: grade of the construction works controlled (ND85 Art 9.4–11.4)."),
    )
    central_national_data = models.BooleanField(
        _("centralised especially important national data"),
        default=False,
        help_text=_("ND85 Art 11.2; ND331 Art 15.2."),
    )
    decided_level = models.PositiveSmallIntegerField(
        _("decided level"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_(
            "A level decided by the Prime Minister or placed by a risk-framework assessment "
            "(ND85 Art 11.5; ND331 Art 11.2, 12.4, 13.5, 14.4, 15.5)."
        ),
    )

    # Hosting and exposure.
    hosting = models.CharField(_("hosting"), max_length=16, choices=Hosting.choices, blank=True)
    hosting_provider = models.CharField(_("hosting provider"), max_length=255, blank=True)
    internet_facing = models.BooleanField(_("internet-facing"), default=False)
    network_zones = models.JSONField(
        _("network zones"),
        default=list,
        blank=True,
        validators=[v.ChoiceListValidator(NetworkZone.values)],
        help_text=_("Zones the system's network is divided into (TT12 Annexes: minimum zones per level)."),
    )

    # National importance.
    priority_sector = models.CharField(
        _("priority sector"),
        max_length=32,
        choices=PrioritySector.choices,
        blank=True,
        help_text=_("One of the 11 priority sectors of Decision 632/QĐ-TTg."),
    )
    national_important = models.BooleanField(
        _("national important information system"), default=False, help_text=_("Annex of Decision 632/QĐ-TTg.")
    )
    national_security_important = models.BooleanField(
        _("important to national security"),
        default=False,
        help_text=_("On the list approved by the Prime Minister (ND331 Art 16–18)."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("information system")
        verbose_name_plural = _("information systems")
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="registry_system_code_per_owner"),
            models.CheckConstraint(
                condition=models.Q(online_public_service_level__lte=4), name="registry_system_osl_0_4"
            ),
            models.CheckConstraint(
                condition=models.Q(decided_level__isnull=True) | models.Q(decided_level__gte=1, decided_level__lte=5),
                name="registry_system_decided_level_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "lifecycle_status"]),
            # the list's order and the API's other one: a page reads an index instead of sorting every system
            models.Index(fields=["name"], name="registry_system_name"),
            models.Index(fields=["created_at"], name="registry_system_created"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("registry:system_detail", args=[self.pk])

    def get_information_classes_display(self) -> str:
        labels = dict(InformationClass.choices)
        return ", ".join(str(labels.get(c, c)) for c in self.information_classes or [])

    def get_network_zones_display(self) -> str:
        labels = dict(NetworkZone.choices)
        return ", ".join(str(labels.get(z, z)) for z in self.network_zones or [])

    def clean(self) -> None:
        """A component system has the same owner as its composite, and composition has no cycle."""
        errors = {}
        parent = self.parent_system
        if parent is not None:
            if parent.pk == self.pk:
                errors["parent_system"] = _("A system cannot be part of itself.")
            elif parent.organization_id != self.organization_id:
                errors["parent_system"] = _("A component system has the same owner as the system it is part of.")
            else:
                seen = {self.pk}
                node = parent
                while node is not None:
                    if node.pk in seen:
                        errors["parent_system"] = _("This would make the system part of itself.")
                        break
                    seen.add(node.pk)
                    node = node.parent_system
        moved = not self._state.adding and self._stored_owner() not in (None, self.organization_id)
        if moved and self.subsystems.exists():
            errors["organization"] = _(
                "This system has component systems, which keep the same owner: change their owner first."
            )
        if errors:
            raise ValidationError(errors)

    def _stored_owner(self) -> uuid.UUID | None:
        """The owner as stored now (None for a system not stored yet)."""
        return InformationSystem._base_manager.filter(pk=self.pk).values_list("organization_id", flat=True).first()

    def save(self, *args, **kwargs) -> None:
        """A change of owner moves the system's records with it and calls the modules' owner-change hooks
        (`services.register_owner_change`), in the same transaction as the system's row."""
        update_fields = kwargs.get("update_fields")
        may_move = not self._state.adding and (
            update_fields is None or {"organization", "organization_id"} & set(update_fields)
        )
        with transaction.atomic(savepoint=False):
            former = None
            if may_move:
                # Under the audit chain's lock, which every writer of a system's owner takes first (its save's
                # pre_save, a merger), so the owner read is the one this save replaces.
                audit.lock_chain()
                former = self._stored_owner()
            super().save(*args, **kwargs)
            if former is not None and former != self.organization_id:
                from attt.registry.services import announce_owner_change, move_with_system

                # Child records follow their system's owner, so they stay in the same scope; each move audited.
                for model in CHILD_MODELS:
                    move_with_system(model.objects.filter(system=self), self, self.organization_id)
                announce_owner_change(self, former, self.organization_id)


# --- Child records ----------------------------------------------------------------------------------------


class SystemPart(ScopedModel):
    """A record belonging to one system (its `system` field): scoped by the system's owner, copied on save."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.system_id:
            self.organization_id = self.system.organization_id
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse(f"registry:{self._meta.model_name}_detail", args=[self.pk])


class Component(SystemPart):
    class Kind(models.TextChoices):
        APPLICATION = "application", _("Application")
        OS = "os", _("Operating system")
        DATABASE = "database", _("Database")
        MIDDLEWARE = "middleware", _("Middleware")
        NETWORK_DEVICE = "network_device", _("Network device")
        HARDWARE = "hardware", _("Hardware")
        SERVICE = "service", _("Service")

    system = models.ForeignKey(
        InformationSystem,
        verbose_name=_("information system"),
        on_delete=models.CASCADE,
        related_name="components",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.APPLICATION)
    vendor = models.CharField(_("vendor"), max_length=128, blank=True)
    product = models.CharField(_("product"), max_length=255)
    version = models.CharField(_("version"), max_length=64, blank=True)
    cpe23 = models.CharField(
        _("CPE 2.3 name"),
        max_length=512,
        blank=True,
        db_index=True,
        validators=[v.validate_cpe23],
        help_text=_(
            "Formatted string, e.g. cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:* (vulnerability matching)."
        ),
    )
    purl = models.CharField(
        _("package URL"),
        max_length=512,
        blank=True,
        db_index=True,
        validators=[v.validate_purl],
        help_text=_("For libraries and packages, e.g. pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1."),
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["kind", "vendor", "product", "version"]
        indexes = [models.Index(fields=["kind", "vendor", "product", "version"], name="registry_component_order")]
        verbose_name = _("component")
        verbose_name_plural = _("components")

    def __str__(self) -> str:
        return " ".join(part for part in (self.vendor, self.product, self.version) if part)

    def save(self, *args, **kwargs) -> None:
        # CPE names are case-insensitive and NVD writes them in lower case: a new CVE's lookup by name finds it so
        self.cpe23 = self.cpe23.lower()
        super().save(*args, **kwargs)


class Server(SystemPart):
    system = models.ForeignKey(
        InformationSystem, verbose_name=_("information system"), on_delete=models.CASCADE, related_name="servers"
    )
    hostname = models.CharField(_("host name"), max_length=253, validators=[v.validate_hostname])
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True, db_index=True)
    os = models.CharField(_("operating system"), max_length=128, blank=True)
    zone = models.CharField(_("network zone"), max_length=24, choices=NetworkZone.choices, blank=True)
    role = models.CharField(_("role"), max_length=128, blank=True, help_text=_("e.g. web, application, database."))

    class Meta:
        ordering = ["hostname"]
        indexes = [models.Index(fields=["hostname"], name="registry_server_hostname")]
        verbose_name = _("server")
        verbose_name_plural = _("servers")

    def __str__(self) -> str:
        return self.hostname + (f" ({self.ip_address})" if self.ip_address else "")


class Domain(SystemPart):
    system = models.ForeignKey(
        InformationSystem, verbose_name=_("information system"), on_delete=models.CASCADE, related_name="domains"
    )
    name = models.CharField(
        _("domain name"),
        max_length=253,
        validators=[v.validate_domain],
        help_text=_("Vietnamese (IDN) names are accepted, e.g. dichvucong.example.gov.vn."),
    )
    ascii_name = models.CharField(_("ASCII form"), max_length=253, editable=False, db_index=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"], name="registry_domain_name")]
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
        constraints = [models.UniqueConstraint(fields=["system", "name"], name="registry_domain_once_per_system")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name = v.normalise_domain(self.name)
        self.ascii_name = v.to_ascii_hostname(self.name)
        super().save(*args, **kwargs)


def network_bounds(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[str, str]:
    """First and last address as 32 hex digits (IPv4 mapped into IPv6), so containment is a string range."""

    def key(address) -> str:
        if address.version == 4:
            address = ipaddress.IPv6Address("::ffff:" + str(address))
        return f"{int(address):032x}"

    return key(network.network_address), key(network.broadcast_address)


class IPRange(SystemPart):
    system = models.ForeignKey(
        InformationSystem, verbose_name=_("information system"), on_delete=models.CASCADE, related_name="ip_ranges"
    )
    cidr = models.CharField(
        _("network (CIDR)"),
        max_length=49,
        validators=[v.validate_cidr],
        help_text=_("IPv4 or IPv6 network, e.g. 192.0.2.0/24 or 2001:db8::/48."),
    )
    description = models.CharField(_("description"), max_length=255, blank=True)
    first_address = models.CharField(max_length=32, editable=False, db_index=True)
    last_address = models.CharField(max_length=32, editable=False)

    class Meta:
        ordering = ["cidr"]
        indexes = [models.Index(fields=["cidr"], name="registry_iprange_cidr")]
        verbose_name = _("IP range")
        verbose_name_plural = _("IP ranges")
        constraints = [models.UniqueConstraint(fields=["system", "cidr"], name="registry_iprange_once_per_system")]

    def __str__(self) -> str:
        return self.cidr

    def save(self, *args, **kwargs) -> None:
        network = v.parse_network(self.cidr)
        self.cidr = str(network)
        self.first_address, self.last_address = network_bounds(network)
        super().save(*args, **kwargs)


class Contact(SystemPart):
    class Role(models.TextChoices):
        OWNER_REPRESENTATIVE = "owner_representative", _("Owner's representative")
        OPERATOR = "operator", _("Operating unit")
        SECURITY_OFFICER = "security_officer", _("Security officer")
        TECHNICAL = "technical", _("Technical contact")
        VENDOR = "vendor", _("Vendor")

    system = models.ForeignKey(
        InformationSystem, verbose_name=_("information system"), on_delete=models.CASCADE, related_name="contacts"
    )
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    name = models.CharField(_("name"), max_length=128)
    title = models.CharField(_("job title"), max_length=128, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[v.validate_phone])

    class Meta:
        ordering = ["role", "name"]
        indexes = [models.Index(fields=["role", "name"], name="registry_contact_order")]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


CHILD_MODELS: tuple[type[SystemPart], ...] = (Component, Server, Domain, IPRange, Contact)
