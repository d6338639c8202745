"""Pushing objects into a collection (TAXII add-objects): what STIX allows fits the columns, what the database
cannot keep is a failure of that object in the status, never a server error, and every object is either stored
(a success) or not (a failure). Run on PostgreSQL too: SQLite keeps over-long text and NUL characters."""

import base64
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.core.testing import PASSWORD, make_user
from attt.intel import collections, services
from attt.intel.models import Collection, StixObject, TaxiiStatus
from attt.intel.tests.factories import make_report

TAXII = "application/taxii+json;version=2.1"
STAMP = "2025-01-01T00:00:00.000Z"


def _custom(kind: str, **extra) -> dict:
    return {"type": kind, "spec_version": "2.1", "id": f"{kind}--{uuid.uuid4()}", "created": STAMP, "modified": STAMP,
            "name": "x", **extra}  # fmt: skip


def push(client, collection, objects: list, username: str = "resp-a"):
    """A TAXII add-objects request to `collection` with `username`'s password."""
    auth = "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return client.post(
        f"/taxii2/national/collections/{collection.pk}/objects/",
        data=json.dumps({"objects": objects}),
        content_type=TAXII,
        HTTP_ACCEPT=TAXII,
        HTTP_AUTHORIZATION=auth,
    )


def test_the_columns_hold_what_stix_allows():
    assert StixObject._meta.get_field("type").max_length >= collections.MAX_TYPE_LENGTH == 250
    assert StixObject._meta.get_field("stix_id").max_length >= collections.MAX_ID_LENGTH


def test_taxii_push_of_long_types_and_unstorable_values(tree, client):
    """A custom type of 122 or 250 characters is stored (it gave a 500 on PostgreSQL with a 100-character
    column); 251 characters, a NUL character or a NaN are failures of their object in the status."""
    make_user(tree.province_a, "incident_responder", username="resp-a")
    collection = collections.default_collection(tree.province_a)
    fits = [_custom("x-" + "a" * 120), _custom("x-" + "b" * 248)]
    refused = {
        "longer than 250 characters": _custom("x-" + "c" * 249),
        "NUL character": _custom("x-nul", name="a\x00b"),
        "not finite": _custom("x-nan", x_score=float("nan")),
    }
    response = push(client, collection, [*fits, *refused.values()])  # NaN travels as JSON's common extension
    assert response.status_code == 202
    status = response.json()
    assert {s["id"] for s in status["successes"]} == {o["id"] for o in fits}
    assert [f["id"] for f in status["failures"]] == [o["id"] for o in refused.values()]
    for (reason, _obj), failure in zip(refused.items(), status["failures"], strict=True):
        assert reason in failure["message"]
    assert set(StixObject.objects.filter(collection=collection).values_list("stix_id", flat=True)) == {
        o["id"] for o in fits
    }


def test_an_id_the_database_cannot_keep_is_named_by_position(tree):
    collection = collections.default_collection(tree.province_a)
    status = collections.add_objects(collection, [{"type": "x-a", "id": "x-a--\x00"}]).status
    assert status.failures[0]["id"] == "#0" and not status.successes


# --- property test --------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
KEYS = ["type", "id", "spec_version", "created", "modified", "pattern", "pattern_type", "valid_from", "value",
        "name", "description", "object_marking_refs", "object_refs", "x_custom"]  # fmt: skip
VALID = services.to_stix_bundle(make_report())["objects"]


@st.composite
def pushed_objects(draw):
    """Objects of a push: valid ones of a shared report, custom ones of any type length, damaged ones, garbage."""
    kind = draw(st.sampled_from(["valid", "custom", "damaged", "garbage"]))
    if kind == "garbage":
        return draw(json_values)
    if kind == "custom":
        name = "x-" + draw(st.text(alphabet="abc-", min_size=1, max_size=258)).strip("-") + "z"
        return _custom(name, **draw(st.dictionaries(st.sampled_from(["name", "x_value", "x_list"]), json_values)))
    obj = dict(draw(st.sampled_from(VALID)))
    if kind == "damaged":
        obj[draw(st.sampled_from(KEYS))] = draw(json_values)
    return obj


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(objects=st.lists(pushed_objects(), max_size=5))
def test_a_push_stores_each_object_or_reports_it(tree, client, objects):
    """Whatever a partner pushes: 202, one success or failure per object, the successes stored (with the
    indicators they carry) and nothing else."""
    collection = Collection.objects.create(organization=tree.province_a, title="Đẩy thử")
    make_user(tree.province_a, "incident_responder", username=f"push-{collection.pk}")
    response = push(client, collection, objects, username=f"push-{collection.pk}")
    assert response.status_code == 202, response.content[:300]
    status = TaxiiStatus.objects.get(pk=response.json()["id"])
    assert len(status.successes) + len(status.failures) == len(objects)
    assert all(failure["message"].strip() for failure in status.failures)
    stored = set(StixObject.objects.filter(collection=collection).values_list("stix_id", flat=True))
    assert stored == {entry["id"] for entry in status.successes}


@pytest.mark.parametrize("garbage", [None, 5, "x", [], {"type": 5}, {"type": "x-a"}])
def test_add_objects_refuses_what_is_not_an_object(tree, garbage):
    collection = collections.default_collection(tree.province_a)
    status = collections.add_objects(collection, [garbage]).status
    assert status.failures[0]["id"] == "#0" and not StixObject.objects.filter(collection=collection).exists()


def test_a_damaged_copy_of_a_stored_object_in_the_same_push_is_a_failure(tree, client):
    """Two objects with one id, the second damaged: the first is stored, the second fails, the indicators come
    from what was stored (the damaged copy used to reach the indicator import and raise)."""
    make_user(tree.province_a, "incident_responder", username="resp-a")
    collection = collections.default_collection(tree.province_a)
    good = next(o for o in VALID if o["type"] == "indicator")
    response = push(client, collection, [good, {**good, "type": ["indicator"]}])
    assert response.status_code == 202
    assert (response.json()["success_count"], response.json()["failure_count"]) == (1, 1)
