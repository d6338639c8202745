"""One lock order for every writer: the audit chain first, then rows (`audit.lock_chain`, `locks.lock_current`)."""

import pytest
from django.db import transaction

from attt.core.locks import lock_current
from attt.core.models import Organization
from attt.core.testing import at_once, build_tree, postgresql_only


def between_locks() -> None:
    """Where `at_once` holds each writer: after its first lock, before its next write."""


def _rename(pk, name: str) -> None:
    org = Organization.objects.get(pk=pk)
    org.name = name
    org.save(update_fields=["name", "updated_at"])


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_step_and_an_edit_crossing_on_one_row_take_turns_instead_of_deadlocking(monkeypatch):
    """A step locks a row, then writes it; meanwhile an edit writes another record, then the step's row. If the
    step's row lock came before the audit chain's lock, each would wait for the other's (the edit holds the
    chain from its first write) and PostgreSQL would end one with a deadlock error. Both must go through."""
    import sys

    tree = build_tree()
    a, b = tree.dept_a.pk, tree.dept_b.pk

    def step():
        with transaction.atomic():
            org = Organization.objects.get(pk=a)
            lock_current(org)
            between_locks()
            _rename(a, "Tên do bước đặt")

    def edit():
        with transaction.atomic():
            _rename(b, "Đơn vị B mới")
            between_locks()
            _rename(a, "Tên do người sửa đặt")

    outcomes = at_once(monkeypatch, sys.modules[__name__], "between_locks", step, edit)
    assert outcomes == [None, None], outcomes
    assert Organization.objects.get(pk=b).name == "Đơn vị B mới"
    assert Organization.objects.get(pk=a).name in ("Tên do bước đặt", "Tên do người sửa đặt")


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_edits_writing_two_rows_in_opposite_order_take_turns_instead_of_deadlocking(monkeypatch):
    """Each save takes the chain before its row (`pre_save`): were the row written first and the chain taken when
    the change is recorded, each edit would hold the row the other writes next."""
    import sys

    tree = build_tree()
    a, b = tree.dept_a.pk, tree.dept_b.pk

    def edit(first, second, name):
        def run():
            with transaction.atomic():
                _rename(first, name)
                between_locks()
                _rename(second, name)

        return run

    outcomes = at_once(monkeypatch, sys.modules[__name__], "between_locks", edit(a, b, "Một"), edit(b, a, "Hai"))
    assert outcomes == [None, None], outcomes
    assert Organization.objects.get(pk=a).name == Organization.objects.get(pk=b).name


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_role_sync_after_a_migrate_and_a_role_grant_take_turns(monkeypatch):
    """Each migrate re-writes the built-in roles (`update_or_create` locks a role, then saves it: the chain); a
    grant made meanwhile takes the chain, then refers to the role's row. The sync takes the chain first."""
    from attt.core.models import Role, RoleAssignment
    from attt.core.permissions import load_role_definitions, sync_built_in_roles
    from attt.core.testing import crossing, make_user

    tree = build_tree()
    person = make_user(tree.dept_a, None, username="grantee")
    role = Role.objects.get(code=load_role_definitions()[0]["code"])  # the first the sync writes
    outcomes = crossing(
        monkeypatch,
        sync_built_in_roles,
        lambda: RoleAssignment.objects.create(user=person, role=role, organization=tree.dept_a),
    )
    assert outcomes == [None, None], outcomes


def test_the_lock_order_check_finds_a_row_written_before_the_chain_and_nothing_else():
    """The check every test runs under (`core.testing.LockOrderWatch`): a transaction that updated, deleted or
    locked a row and then took the chain is reported; one that took the chain first, a write outside any of the
    test's transactions, a session's row, or a new transaction after a broken one's end are not."""
    from attt.core.testing import LockOrderWatch

    update = 'UPDATE "core_organization" SET "name" = %s WHERE "id" = %s'
    watch = LockOrderWatch()
    watch.statement(update, 0)  # the test's own statement, outside any transaction of its
    watch.begin(1)
    watch.chain_locked(1)
    watch.statement(update, 1)
    watch.begin(2)  # a savepoint inside: still the same transaction
    watch.begin(1)
    watch.statement('DELETE FROM "django_session" WHERE "session_key" = %s', 1)
    watch.statement('SELECT * FROM "incidents_deadline" WHERE "id" = %s', 1)
    watch.chain_locked(2)
    watch.verdict()
    for locking in (update, 'DELETE FROM "plans_assignment"', 'SELECT "id" FROM "x" WHERE 1 FOR NO KEY UPDATE'):
        watch.begin(1)
        watch.statement(locking, 1)
        watch.chain_locked(2)
        with pytest.raises(AssertionError, match="before the audit chain's lock"):
            watch.verdict()
        watch.broken.clear()
