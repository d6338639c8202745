import re
import uuid
from pathlib import Path

import pytest

from attt.core.testing import make_user
from attt.registry import services
from attt.registry.models import Component, Domain, IPRange, Server
from attt.registry.tests.factories import make_system

LEVEL_FACTS_DOC = Path(__file__).resolve().parents[4] / "docs" / "level-facts.md"


def documented_facts() -> dict[str, str]:
    """Keys and defaults of the table in docs/level-facts.md."""
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", LEVEL_FACTS_DOC.read_text(encoding="utf-8"), re.M)
    return {key: default.strip() for key, default in rows}


def test_level_facts_has_exactly_the_documented_keys_and_defaults(tree):
    facts = services.level_facts(make_system(tree.dept_a))
    documented = documented_facts()
    assert set(facts) == set(documented)
    for key, default in documented.items():
        expected = default.strip("`")
        value = facts[key]
        shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        assert shown.replace("'", '"') == expected, key


def test_level_facts_of_a_composite_system(tree):
    parent = make_system(tree.dept_a, system_type="shared_infrastructure", infrastructure_scope="sector_or_province")
    make_system(tree.dept_a, parent_system=parent, information_classes=["private", "personal"], decided_level=3)
    grandchild_parent = make_system(tree.dept_a, parent_system=parent)
    make_system(tree.dept_a, parent_system=grandchild_parent, construction_grade="I")
    facts = services.level_facts(parent)
    assert facts["infrastructure_scope"] == "sector_or_province"
    assert len(facts["components"]) == 2
    assert {c["decided_level"] for c in facts["components"]} == {3, None}
    nested = [c for c in facts["components"] if c["components"]]
    assert nested[0]["components"][0]["construction_grade"] == "I"


def test_visible_systems_follow_the_scope(tree):
    inside, outside = make_system(tree.dept_a), make_system(tree.dept_b)
    officer = make_user(tree.province_a, "security_officer")
    assert list(services.visible_systems(officer)) == [inside]
    assert services.get_visible_system(officer, inside.pk) == inside
    assert services.get_visible_system(officer, str(outside.pk)) is None
    assert services.get_visible_system(officer, uuid.uuid4()) is None
    assert services.get_visible_system(officer, "not-a-uuid") is None
    soc = make_user(tree.province_a, "soc_analyst")
    assert not services.visible_systems(soc).exists()


def test_systems_of_organization_and_components(tree):
    own, below, other = make_system(tree.province_a), make_system(tree.dept_a), make_system(tree.dept_b)
    assert set(services.systems_of_organization(tree.province_a)) == {own, below}
    assert list(services.systems_of_organization(tree.province_a, include_subtree=False)) == [own]
    assert other not in services.systems_of_organization(tree.province_a)
    component = Component.objects.create(system=own, product="PostgreSQL", version="15.4")
    assert list(services.components_of(own)) == [component]


def test_counting_by_branch_is_one_aggregated_query(tree, national_admin, django_assert_num_queries):
    for org, n in [(tree.root, 1), (tree.province_a, 2), (tree.dept_a, 3), (tree.operator_a, 1), (tree.dept_b, 4)]:
        for _ in range(n):
            make_system(org)
    services.visible_systems(national_admin).exists()  # load the scope first
    with django_assert_num_queries(2):  # the counts, then the names
        branches = services.count_by_branch(national_admin, tree.root)
    assert [(o.code, n) for o, n in branches] == [("tinh-a", 6), ("tinh-b", 4), ("root", 1)]
    with django_assert_num_queries(1):
        counts = services.count_in_subtrees(national_admin, [tree.province_a, tree.dept_a, tree.ministry])
    assert counts == {tree.province_a.pk: 6, tree.dept_a.pk: 4, tree.ministry.pk: 0}


def test_counts_are_scoped(tree):
    make_system(tree.dept_a)
    make_system(tree.dept_b)
    officer = make_user(tree.province_a, "security_officer")
    assert [(o.code, n) for o, n in services.count_by_branch(officer, tree.root)] == [("tinh-a", 1)]
    assert services.summary(officer)["total"] == 1


def test_summary_is_one_query(tree, national_admin, django_assert_num_queries):
    make_system(tree.dept_a, internet_facing=True, lifecycle_status="building")
    make_system(tree.dept_b, national_security_important=True)
    services.visible_systems(national_admin).exists()
    with django_assert_num_queries(1):
        figures = services.summary(national_admin)
    assert figures["total"] == 2
    assert figures["internet_facing"] == 1
    assert figures["national_security_important"] == 1
    assert figures["by_status"]["building"] == 1
    assert services.summary(national_admin, within=tree.province_b)["total"] == 1


@pytest.mark.parametrize(
    ("address", "found"),
    [("192.0.2.77", True), ("192.0.2.200", False), ("198.51.100.5", True), ("2001:db8:5::1", True), ("junk", False)],
)
def test_systems_for_address(tree, address, found):
    system = make_system(tree.dept_a)
    IPRange.objects.create(system=system, cidr="192.0.2.64/26")
    IPRange.objects.create(system=system, cidr="2001:db8:5::/48")
    Server.objects.create(system=system, hostname="web", ip_address="198.51.100.5")
    assert list(services.systems_for_address(address)) == ([system] if found else [])


def test_systems_for_domain_match_parent_domains(tree):
    system = make_system(tree.dept_a)
    Domain.objects.create(system=system, name="dichvucong.example.gov.vn")
    assert list(services.systems_for_domain("www.dichvucong.example.gov.vn")) == [system]
    assert list(services.systems_for_domain("DICHVUCONG.example.gov.vn.")) == [system]
    assert not services.systems_for_domain("example.gov.vn").exists()
    assert not services.systems_for_domain("not a name").exists()


def test_merging_owners_with_the_same_system_code_keeps_both(tree):
    from attt.core.services.organizations import merge
    from attt.registry.models import InformationSystem
    from attt.registry.tests.factories import make_system

    make_system(tree.province_a, code="cong-dvc", operator=tree.province_a)
    make_system(tree.province_b, code="cong-dvc")
    merge(tree.province_a, tree.province_b)
    codes = sorted(InformationSystem.objects.filter(organization=tree.province_b).values_list("code", flat=True))
    assert codes == ["cong-dvc", "tinh-a-cong-dvc"]
    assert InformationSystem.objects.get(code="tinh-a-cong-dvc").operator == tree.province_b
