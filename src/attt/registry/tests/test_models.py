import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from attt.core.services.organizations import merge
from attt.registry.models import Component, Contact, Domain, InformationSystem, IPRange, Server, default_regime
from attt.registry.tests.factories import make_system


def test_records_of_a_system_carry_its_owner(tree):
    system = make_system(tree.dept_a)
    records = [
        Component.objects.create(system=system, product="nginx"),
        Server.objects.create(system=system, hostname="web01"),
        Domain.objects.create(system=system, name="a.example.gov.vn"),
        IPRange.objects.create(system=system, cidr="192.0.2.0/24"),
        Contact.objects.create(system=system, role="technical", name="Trần Thị Lan"),
    ]
    assert {r.organization_id for r in records} == {tree.dept_a.pk}

    system.organization = tree.dept_b
    system.full_clean()
    system.save()
    for record in records:
        record.refresh_from_db()
        assert record.organization_id == tree.dept_b.pk


def test_moving_a_record_to_another_system_moves_its_scope(tree):
    a, b = make_system(tree.dept_a), make_system(tree.dept_b)
    component = Component.objects.create(system=a, product="php")
    component.system = b
    component.save()
    assert Component.objects.get(pk=component.pk).organization_id == tree.dept_b.pk


def test_a_merger_reassigns_systems_and_their_records_together(tree):
    system = make_system(tree.dept_b)
    Component.objects.create(system=system, product="php")
    merge(tree.dept_b, tree.dept_a)
    system.refresh_from_db()
    assert system.organization_id == tree.dept_a.pk
    assert Component.objects.get(system=system).organization_id == tree.dept_a.pk


@pytest.mark.parametrize(
    ("day", "regime"),
    [
        (datetime.date(2016, 7, 1), "ND85_2016"),
        (datetime.date(2026, 8, 18), "ND85_2016"),
        (datetime.date(2026, 8, 19), "ND331_2026"),
        (datetime.date(2027, 1, 1), "ND331_2026"),
    ],
)
def test_default_regime_by_date(day, regime):
    assert default_regime(day) == regime


def test_new_systems_get_the_regime_of_today(tree):
    assert make_system(tree.dept_a).regime == default_regime()


def test_composite_rules(tree):
    parent = make_system(tree.dept_a)
    child = make_system(tree.dept_a, parent_system=parent)
    other_owner = make_system(tree.dept_b)

    stranger = InformationSystem(organization=tree.dept_b, code="x", name="x", parent_system=parent)
    with pytest.raises(ValidationError) as caught:
        stranger.full_clean()
    assert "parent_system" in caught.value.message_dict

    parent.parent_system = child  # a cycle
    with pytest.raises(ValidationError):
        parent.full_clean()
    parent.parent_system = parent
    with pytest.raises(ValidationError):
        parent.full_clean()

    parent.parent_system = None
    parent.organization = tree.dept_b  # its part would have another owner
    with pytest.raises(ValidationError) as caught:
        parent.full_clean()
    assert "organization" in caught.value.message_dict
    assert other_owner.subsystems.count() == 0


def test_code_is_unique_per_owner_only(tree):
    make_system(tree.dept_a, code="cong-dvc")
    make_system(tree.dept_b, code="cong-dvc")
    with pytest.raises(ValidationError):
        InformationSystem(organization=tree.dept_a, code="cong-dvc", name="Bis").full_clean()


def test_fact_value_sets_are_enforced(tree):
    system = make_system(tree.dept_a)
    system.information_classes = ["public", "top_secret"]
    system.network_zones = ["dmz", "kitchen"]
    system.online_public_service_level = 5
    system.decided_level = 6
    with pytest.raises(ValidationError) as caught:
        system.full_clean()
    assert set(caught.value.message_dict) == {
        "information_classes",
        "network_zones",
        "online_public_service_level",
        "decided_level",
    }


def test_domain_and_network_are_stored_normalised(tree):
    system = make_system(tree.dept_a)
    domain = Domain.objects.create(system=system, name="Cổng.Example.gov.vn.")
    assert domain.name == "cổng.example.gov.vn"
    assert domain.ascii_name.startswith("xn--")
    network = IPRange.objects.create(system=system, cidr="2001:DB8:0::/48")
    assert network.cidr == "2001:db8::/48"
    assert network.first_address < network.last_address


def test_lists_are_displayed_with_their_labels(tree):
    system = make_system(tree.dept_a, information_classes=["public", "personal"], network_zones=["dmz", "database"])
    with translation.override("en"):
        assert system.get_information_classes_display() == "Public, Personal"
        assert system.get_network_zones_display() == "Demilitarised zone (DMZ), Database"
