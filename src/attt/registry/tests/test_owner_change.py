"""The owner-change hook (`services.register_owner_change`): called once, in the save's transaction, whenever a
system's owner changes, on every path; never for a save that keeps the owner, nor for a merger."""

import pytest
from django.db import connection, transaction
from django.urls import reverse

from attt.core.services.organizations import merge
from attt.core.testing import make_user
from attt.registry import services
from attt.registry.models import Component, InformationSystem
from attt.registry.tests.factories import edit_form, make_system
from attt.registry.tests.test_api import SYSTEMS

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(monkeypatch):
    """The hooks replaced by one that records its calls: (system id, former owner, new owner, owner stored then)."""
    seen = []

    def count(system, former, new):
        stored = InformationSystem.objects.values_list("organization_id", flat=True).get(pk=system.pk)
        seen.append((system.pk, former, new, stored))

    monkeypatch.setattr(services, "_owner_change_callbacks", [])
    services.register_owner_change(count)
    services.register_owner_change(count)  # registered once, however often ready() runs
    return seen


@pytest.fixture
def mover(tree):
    return make_user(tree.root, "system_owner", username="chu-quan-quoc-gia")


def test_a_change_of_owner_calls_each_hook_once_after_the_system_and_its_records_moved(tree, calls):
    system = make_system(tree.dept_a)
    part = Component.objects.create(system=system, product="nginx")
    system.organization = tree.dept_b
    system.save()
    assert calls == [(system.pk, tree.dept_a.pk, tree.dept_b.pk, tree.dept_b.pk)]
    assert Component.objects.get(pk=part.pk).organization == tree.dept_b
    from attt.core.models import AuditEvent

    (moved,) = AuditEvent.objects.filter(object_type="registry.component", changes__step="follow_owner")
    assert moved.object_id == str(part.pk) and moved.changes["after"] == {"organization_id": str(tree.dept_b.pk)}


def test_the_edit_page_and_the_api_call_the_hook(client, api, tree, calls, mover):
    system = make_system(tree.dept_a, code="cong-dvc")
    client.force_login(mover)
    form = edit_form(system, organization=str(tree.dept_b.pk))
    assert client.post(reverse("registry:system_edit", args=[system.pk]), form).status_code == 302
    api.force_authenticate(mover)
    moved = api.patch(f"{SYSTEMS}{system.pk}/", {"organization": str(tree.ministry.pk)}, format="json")
    assert moved.status_code == 200, moved.content
    unchanged = api.patch(f"{SYSTEMS}{system.pk}/", {"organization": str(tree.ministry.pk)}, format="json")
    assert unchanged.status_code == 200
    assert [call[1:3] for call in calls] == [(tree.dept_a.pk, tree.dept_b.pk), (tree.dept_b.pk, tree.ministry.pk)]


def test_a_save_that_keeps_the_owner_calls_no_hook_and_reads_the_owner_once(tree, calls, django_assert_num_queries):
    """A full save reads the stored owner once (what a change is detected by) besides what every audited save
    costs: the audit's before-image, the UPDATE, the event (the chain's last event and the insert, in a
    savepoint); on PostgreSQL also the chain's lock, taken before the owner is read, then again by the audit's
    pre_save and by its record. A save of named fields without the owner reads no owner."""
    system = make_system(tree.dept_a)
    postgres = connection.vendor == "postgresql"
    system.name = "Tên mới"
    with django_assert_num_queries(10 if postgres else 7):
        system.save()
    system.description = "Mô tả mới"
    with django_assert_num_queries(8 if postgres else 6):
        system.save(update_fields=["description", "updated_at"])
    with django_assert_num_queries(5 if postgres else 3):
        system.save()  # nothing changed: no event
    assert calls == []


def test_a_failing_hook_undoes_the_change_of_owner(tree, monkeypatch):
    def refuse(system, former, new):
        raise RuntimeError("refused")

    monkeypatch.setattr(services, "_owner_change_callbacks", [])
    services.register_owner_change(refuse)
    system = make_system(tree.dept_a)
    part = Component.objects.create(system=system, product="nginx")
    system.organization = tree.dept_b
    with pytest.raises(RuntimeError), transaction.atomic():
        system.save()
    assert InformationSystem.objects.get(pk=system.pk).organization == tree.dept_a
    assert Component.objects.get(pk=part.pk).organization == tree.dept_a


def test_a_merger_calls_no_hook(tree, calls):
    """A merger moves every record itself (one UPDATE per model); the systems whose code clashes are saved, by
    name, without the owner."""
    clash = make_system(tree.dept_b, code="cong-dvc")
    system = make_system(tree.dept_a, code="cong-dvc")
    merge(tree.dept_a, tree.dept_b)
    system.refresh_from_db()
    assert system.organization == tree.dept_b and system.code == "so-a-cong-dvc" and clash.code == "cong-dvc"
    assert calls == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_save_outside_any_transaction_is_one_with_its_hooks(tree, monkeypatch):
    """A service that saves without opening a transaction (autocommit): the system's row and what the hooks wrote
    are still one transaction, so a failing hook leaves the system with its former owner."""

    def refuse(system, former, new):
        raise RuntimeError("refused")

    monkeypatch.setattr(services, "_owner_change_callbacks", [])
    services.register_owner_change(refuse)
    system = make_system(tree.dept_a)
    system.organization = tree.dept_b
    assert connection.get_autocommit()
    with pytest.raises(RuntimeError):
        system.save()
    assert InformationSystem.objects.get(pk=system.pk).organization == tree.dept_a
