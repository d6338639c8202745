import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.core import scoping
from attt.core.models import Organization, OrganizationEvent, RoleAssignment, User
from attt.core.services import organizations
from attt.core.testing import build_tree, make_user


def assert_paths_consistent():
    for org in Organization.objects.all():
        assert org.path == org.compute_path(), org
        assert org.depth == (org.parent.depth + 1 if org.parent_id else 0)


def test_paths_and_subtrees(tree):
    assert set(tree.province_a.subtree().values_list("code", flat=True)) == {"tinh-a", "so-a", "tt-a"}
    assert list(tree.operator_a.ancestors()) == [tree.root, tree.province_a, tree.dept_a]
    assert tree.operator_a.is_descendant_of(tree.province_a)
    assert not tree.operator_a.is_descendant_of(tree.province_b)


def test_move_rewrites_the_whole_subtree_and_scope_follows(tree):
    b_admin = make_user(tree.province_b, "org_admin", username="b-admin")
    assert not scoping.can(b_admin, "view", tree.operator_a)
    organizations.move(tree.dept_a, tree.province_b, legal_basis="QĐ 12/2026")
    assert_paths_consistent()
    tree.operator_a.refresh_from_db()
    assert tree.operator_a.is_descendant_of(tree.province_b)
    scoping.forget_scope(b_admin)
    assert scoping.can(b_admin, "view", tree.operator_a)
    event = OrganizationEvent.objects.get(organization=tree.dept_a, kind="moved")
    assert event.details["to"] == str(tree.province_b.pk) and event.legal_basis == "QĐ 12/2026"


def test_cannot_move_under_itself(tree):
    with pytest.raises(ValidationError):
        organizations.move(tree.province_a, tree.operator_a)
    assert_paths_consistent()


def test_merge_keeps_every_record(tree):
    staff = make_user(tree.province_a, "org_admin", username="a-admin")
    held = RoleAssignment.objects.filter(organization=tree.province_a).count()
    counts = organizations.merge(
        tree.province_a,
        tree.province_b,
        effective_date=datetime.date(2025, 7, 1),
        legal_basis="Nghị quyết 202/2025/QH15",
    )
    assert counts["units_moved"] == 1 and counts["staff_moved"] == 1 and counts["role_assignments_ended"] == held
    tree.province_a.refresh_from_db()
    tree.dept_a.refresh_from_db()
    staff.refresh_from_db()
    assert not tree.province_a.is_active
    assert tree.province_a.merged_into == tree.province_b
    assert tree.dept_a.parent == tree.province_b
    assert staff.organization == tree.province_b
    assert organizations.resolve(tree.province_a) == tree.province_b
    assert_paths_consistent()
    kinds = set(OrganizationEvent.objects.values_list("organization__code", "kind"))
    assert {("tinh-a", "merged"), ("tinh-b", "absorbed")} <= kinds
    # The merged province stays in the tree (history resolves) but its old admin role is gone.
    assert tree.province_a.is_descendant_of(tree.province_b)
    assert not RoleAssignment.objects.filter(user=staff).exists()


def test_merge_refuses_cycles_and_repeats(tree):
    with pytest.raises(ValidationError):
        organizations.merge(tree.province_a, tree.dept_a)
    organizations.merge(tree.province_a, tree.province_b)
    with pytest.raises(ValidationError):
        organizations.merge(tree.province_a, tree.ministry)


def test_rename_keeps_history(tree):
    organizations.rename(tree.ministry, "Bộ M mới", legal_basis="NĐ 1/2025")
    event = OrganizationEvent.objects.get(organization=tree.ministry, kind="renamed")
    assert event.details == {"from": "Bộ M", "to": "Bộ M mới"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.booleans()), max_size=12))
def test_any_sequence_of_moves_and_merges_keeps_the_tree_sound(db, steps):
    """Property: whatever moves and merges are asked, paths stay consistent, no record is lost,
    and invalid requests are refused without changing anything."""
    from django.db import transaction

    with transaction.atomic():
        tree = build_tree()
        nodes = [tree.root, tree.province_a, tree.dept_a, tree.operator_a, tree.province_b, tree.dept_b, tree.ministry]
        for node in nodes[1:]:
            make_user(node, username=f"staff-{node.code}")
        for a, b, is_merge in steps:
            source, target = nodes[a], nodes[b]
            source.refresh_from_db()
            target.refresh_from_db()
            try:
                with transaction.atomic():
                    if is_merge:
                        organizations.merge(source, target)
                    else:
                        organizations.move(source, target)
            except ValidationError:
                pass
            assert_paths_consistent()
        assert Organization.objects.count() == 7
        assert User.objects.count() == 6
        assert all(u.organization.is_active for u in User.objects.select_related("organization"))
        transaction.set_rollback(True)
