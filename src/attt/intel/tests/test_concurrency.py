"""Two pushes of the same thing at the same moment, on PostgreSQL (SQLite takes its write lock at BEGIN, so two
writers never overlap there): each thread has its own connection, and a barrier holds both just before they write,
after each has looked for what is already stored."""

import uuid

import pytest
from django.db import transaction

from attt.core.testing import at_once, build_tree, postgresql_only
from attt.intel import collections, stix, store
from attt.intel.models import Collection, Indicator, StixObject, TaxiiStatus

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def collection(db):
    tree = build_tree()
    return Collection.objects.create(organization=tree.province_a, title="Chia sẻ")


def _taxii_push(collection, objects):
    """What the TAXII add-objects endpoint does: store the objects, then their indicators, in one transaction."""
    with transaction.atomic():
        status = collections.add_objects(collection, objects).status
        store.import_objects(collection.organization, objects)
    return status


def test_same_sco_pushed_twice_at_once_is_stored_once(monkeypatch, collection):
    sco = {"type": "ipv4-addr", "spec_version": "2.1", "id": f"ipv4-addr--{uuid.uuid4()}", "value": "198.51.100.7"}
    outcomes = at_once(
        monkeypatch, stix, "tlp_of", lambda: _taxii_push(collection, [sco]), lambda: _taxii_push(collection, [sco])
    )
    assert all(isinstance(o, TaxiiStatus) and not o.failures for o in outcomes), outcomes
    (stored,) = StixObject.objects.filter(collection=collection, stix_id=sco["id"])
    assert {o.successes[0]["version"] for o in outcomes} == {stix.timestamp(stored.version, exact=True)}


def test_same_list_imported_twice_at_once(monkeypatch, collection):
    """Two users upload the same list at the same moment: both imports succeed, each value is stored once."""
    owner = collection.organization
    data = b"198.51.100.7\nc2.example.com\n"

    def upload():
        return store.import_data(owner, data, fmt="csv")

    outcomes = at_once(monkeypatch, Indicator.objects, "bulk_create", upload, upload)
    assert all(isinstance(o, store.ImportResult) for o in outcomes), outcomes
    assert sorted((o.created, o.updated) for o in outcomes) == [(0, 2), (2, 0)]
    assert Indicator.objects.filter(organization=owner).count() == 2


def test_same_versioned_object_pushed_twice_at_once(monkeypatch, collection):
    """The same version of the same object: stored once, both pushes report it as a success."""
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[domain-name:value = 'c2.example.com']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    outcomes = at_once(
        monkeypatch, stix, "tlp_of", lambda: _taxii_push(collection, [obj]), lambda: _taxii_push(collection, [obj])
    )
    assert all(isinstance(o, TaxiiStatus) and not o.failures for o in outcomes), outcomes
    assert [o.successes[0]["version"] for o in outcomes] == ["2026-01-01T00:00:00.000Z"] * 2
    assert StixObject.objects.filter(collection=collection, stix_id=obj["id"]).count() == 1
    assert Indicator.objects.filter(organization=collection.organization, value="c2.example.com").count() == 1


def test_first_uses_of_the_default_collection_at_once_give_the_same_one(monkeypatch, collection):
    """Two first publications of an organisation at once: one creates its sharing collection, the other finds it
    (the one-default constraint refused the second, a 500)."""
    owner = collection.organization

    def first_use():
        with transaction.atomic():
            return collections.default_collection(owner).pk

    outcomes = at_once(monkeypatch, Collection.objects, "create", first_use, first_use)
    assert outcomes[0] == outcomes[1] and isinstance(outcomes[0], uuid.UUID), outcomes
    assert Collection.objects.filter(organization=owner, is_default=True).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_taxii_push_with_a_password_and_a_two_step_login_take_turns(monkeypatch):
    """A TAXII push signed in by password clears the person's failed attempts (their rows), then writes to the
    collection (the audit chain); the second step of a web login saves the user (the chain), then clears the
    same attempts. Clearing takes the chain first."""
    import base64

    from django.test import RequestFactory

    from attt.core.auth import lockout
    from attt.core.locks import lock_current
    from attt.core.testing import PASSWORD, crossing, make_user
    from attt.intel.taxii import views as taxii

    tree = build_tree()
    user = make_user(tree.dept_a, "incident_responder", username="responder-taxii")
    collection = collections.default_collection(tree.dept_a)
    lockout.register_failure(user.username, "192.0.2.1")  # one earlier typo
    basic = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()

    def taxii_push():  # what `_add_objects` does first: sign in, then the collection's lock
        taxii._user(RequestFactory().post("/taxii2/", HTTP_AUTHORIZATION=f"Basic {basic}"))
        lock_current(collection)

    def second_step():  # what login_verify_view does after a right code
        person = type(user).objects.get(pk=user.pk)
        person.totp_last_step = 123
        person.save(update_fields=["totp_last_step"])
        lockout.clear_failures(person.username)

    assert crossing(monkeypatch, taxii_push, second_step) == [None, None]
