from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction

from attt.core.models import AuditEvent, Organization
from attt.registry.models import CHILD_MODELS, Component, Contact, Domain, InformationSystem, IPRange, Server
from attt.registry.validators import parse_network

DOCUMENTATION_NETWORKS = [
    parse_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


def _load(seed: int = 2026) -> dict:
    """Load the core and registry demo at 5 % scale, read what it made, and roll it back."""
    with transaction.atomic():
        call_command("demo", "--only", "core", "registry", "--scale", "0.05", "--seed", str(seed), verbosity=0)
        result = {
            "systems": sorted(
                InformationSystem.objects.values_list(
                    "id", "organization__code", "code", "name", "system_type", "information_classes", "decided_level"
                )
            ),
            "components": sorted(Component.objects.values_list("id", "system_id", "cpe23", "purl")),
            "contacts": sorted(Contact.objects.values_list("system_id", "name", "email")),
            "ranges": sorted(IPRange.objects.values_list("system_id", "cidr")),
        }
        transaction.set_rollback(True)
    return result


def test_same_seed_same_systems(db):
    first = _load()
    assert len(first["systems"]) == round(3418 * 0.05)
    assert first == _load()
    assert _load(seed=7)["systems"] != first["systems"]


@pytest.mark.django_db
def test_demo_data_is_valid_and_safe():
    call_command("demo", "--only", "core", "registry", "--scale", "0.05", verbosity=0)
    systems = list(InformationSystem.objects.all())
    assert systems
    for record in [*systems, *(r for model in CHILD_MODELS for r in model.objects.all())]:
        try:
            record.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:  # pragma: no cover - shows which record is wrong
            pytest.fail(f"{record._meta.model_name} {record}: {exc}")
    counts = Counter(s.system.pk for s in Component.objects.select_related("system"))
    assert min(counts.values()) >= 5 and max(counts.values()) <= 30 and len(counts) == len(systems)
    for network in IPRange.objects.values_list("cidr", flat=True):
        assert any(
            parse_network(network).subnet_of(doc)
            for doc in DOCUMENTATION_NETWORKS
            if parse_network(network).version == doc.version
        ), network
    for address in Server.objects.values_list("ip_address", flat=True):
        assert any(parse_network(address).subnet_of(doc) for doc in DOCUMENTATION_NETWORKS[:3]), address
    assert not Contact.objects.exclude(email__endswith="@demo.attt.invalid").exists()
    assert not Contact.objects.exclude(phone="").exists()
    assert all(d.endswith(".gov.vn") for d in Domain.objects.values_list("name", flat=True))
    assert not InformationSystem.objects.filter(organization__is_active=False).exists()
    # The bulk load is recorded as one summary event per owner.
    owners = set(InformationSystem.objects.values_list("organization_id", flat=True))
    events = AuditEvent.objects.filter(object_type="registry.informationsystem", action="create")
    assert set(events.values_list("organization_id", flat=True)) == owners
    assert Organization.objects.filter(pk__in=owners).count() == len(owners)
