"""Serializers of the registry API: strict (unknown fields refused), organisation and system references
resolvable only inside the requester's scope."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from attt.core.api.base import (
    KeptRelatedField,
    OrganizationField,
    ScopedRelatedField,
    StrictModelSerializer,
    StrictSerializerMixin,
)
from attt.core.models import Organization
from attt.registry.models import (
    SYSTEM_FIELDS,
    Component,
    Contact,
    Domain,
    InformationClass,
    InformationSystem,
    IPRange,
    NetworkZone,
    Server,
    default_information_classes,
)
from attt.registry.validators import normalise_cidr, normalise_domain

COUNTED = ("components", "servers", "domains", "ip_ranges", "contacts", "subsystems")


def inline_enum(choices, *, blank: bool = False) -> type[serializers.ChoiceField]:
    """A choice field class documented with its own inline enum: `zone` has the same values as
    `network_zones`, and two names for one choice set is a drf-spectacular warning (failing
    `check --deploy --fail-level WARNING`)."""
    values = [value for value, _label in choices] + ([""] if blank else [])

    @extend_schema_field({"type": "string", "enum": values})
    class InlineChoiceField(serializers.ChoiceField):
        pass

    return InlineChoiceField


ZoneField = inline_enum(NetworkZone.choices, blank=True)


class InformationSystemSerializer(StrictModelSerializer):
    organization = OrganizationField(help_text=_("The owner (chủ quản)."))
    operator = KeptRelatedField(
        queryset=Organization.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("The operating unit (đơn vị vận hành)."),
    )
    parent_system = ScopedRelatedField(queryset=InformationSystem.objects.all(), required=False, allow_null=True)
    information_classes = serializers.ListField(
        child=serializers.ChoiceField(choices=InformationClass.choices), required=False, max_length=4
    )
    network_zones = serializers.ListField(
        child=serializers.ChoiceField(choices=NetworkZone.choices), required=False, max_length=8
    )

    class Meta:
        model = InformationSystem
        fields = ["id", *SYSTEM_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_information_classes(self, value: list[str]) -> list[str]:
        return value or default_information_classes()  # none ticked is public, as in the form and the import

    def validate(self, attrs):
        """The model's own rules (same owner as the composite, no cycle), on the would-be state."""
        instance = self.instance or InformationSystem()
        probe = InformationSystem(
            **{f.attname: getattr(instance, f.attname) for f in InformationSystem._meta.concrete_fields}
        )
        probe._state.adding = self.instance is None
        for name, value in attrs.items():
            setattr(probe, name, value)
        try:
            probe.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        for name in ("information_classes", "network_zones"):
            if name in attrs and len(set(attrs[name])) != len(attrs[name]):
                raise serializers.ValidationError({name: [_("A value is listed twice.")]})
        return attrs


class InformationSystemDetailSerializer(InformationSystemSerializer):
    counts = serializers.SerializerMethodField(help_text=_("Number of records of each kind in this system."))

    class Meta(InformationSystemSerializer.Meta):
        fields = [*InformationSystemSerializer.Meta.fields, "counts"]

    def get_counts(self, obj) -> dict[str, int]:
        return {name: getattr(obj, name).count() for name in COUNTED}


class SystemPartSerializer(StrictModelSerializer):
    """A system's record: `system` within the requester's scope, `organization` (the owner) read-only."""

    system = ScopedRelatedField(queryset=InformationSystem.objects.all())
    organization = serializers.SerializerMethodField()

    def get_organization(self, obj) -> str:
        return str(obj.organization_id)


PART_FIELDS = ["id", "system", "organization"]
TIMES = ["created_at", "updated_at"]


class ComponentSerializer(SystemPartSerializer):
    class Meta:
        model = Component
        fields = [*PART_FIELDS, "kind", "vendor", "product", "version", "cpe23", "purl", "notes", *TIMES]
        read_only_fields = TIMES


class ServerSerializer(SystemPartSerializer):
    zone = ZoneField(choices=NetworkZone.choices, required=False, allow_blank=True)

    class Meta:
        model = Server
        fields = [*PART_FIELDS, "hostname", "ip_address", "os", "zone", "role", *TIMES]
        read_only_fields = TIMES


class DomainSerializer(SystemPartSerializer):
    class Meta:
        model = Domain
        fields = [*PART_FIELDS, "name", "ascii_name", *TIMES]
        read_only_fields = ["ascii_name", *TIMES]

    def validate_name(self, value: str) -> str:
        return normalise_domain(value)


class IPRangeSerializer(SystemPartSerializer):
    class Meta:
        model = IPRange
        fields = [*PART_FIELDS, "cidr", "description", *TIMES]
        read_only_fields = TIMES

    def validate_cidr(self, value: str) -> str:
        return normalise_cidr(value)


class ContactSerializer(SystemPartSerializer):
    class Meta:
        model = Contact
        fields = [*PART_FIELDS, "role", "name", "title", "email", "phone", *TIMES]
        read_only_fields = TIMES


class ImportRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    file = serializers.FileField(help_text=_("A CSV (UTF-8, comma or semicolon) or XLSX file, at most 10 MB."))
    dry_run = serializers.BooleanField(default=False, help_text=_("Check only: write nothing."))
    format = serializers.ChoiceField(
        choices=["csv", "xlsx"], required=False, help_text=_("Default: from the file name or its content.")
    )


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    ok = serializers.BooleanField()
    written = serializers.BooleanField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    bad_rows = serializers.ListField(child=serializers.IntegerField())
    errors = RowErrorSerializer(many=True)
