"""TLP marking definitions minted under their producer's own ids (STIX 2.0-style `definition_type: tlp`, or the
TLP 2.0 extension on a marking of one's own): an object marked TLP:RED that way counted as unmarked, so it was
served to every reader of a collection and imported as TLP:AMBER."""

import uuid

from attt.core.testing import make_user
from attt.intel import collections, stix
from attt.intel.models import Indicator, StixObject
from attt.intel.tests.test_collections import push

STAMP = "2026-01-01T00:00:00.000Z"


def _marking(level: str, **shape) -> dict:
    """A STIX 2.0-style TLP definition under an id of its own (which the STIX 2.1 validator refuses to store)."""
    shape = shape or {"definition_type": "tlp", "definition": {"tlp": level}}
    return {"type": "marking-definition", "spec_version": "2.1", "id": f"marking-definition--{uuid.uuid4()}",
            "created": STAMP, **shape}  # fmt: skip


def _indicator(address: str, *markings: dict) -> dict:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": STAMP,
            "modified": STAMP, "pattern": f"[ipv4-addr:value = '{address}']", "pattern_type": "stix",
            "valid_from": STAMP, "object_marking_refs": [m["id"] for m in markings]}  # fmt: skip


def _tlp2(level: str) -> dict:
    """A TLP 2.0 definition under an id of its own (stored: valid STIX 2.1)."""
    return _marking("", extensions={stix.TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}})


def test_the_levels_a_producers_own_marking_definitions_state():
    shapes = {
        "white": _marking("white"),
        "red": _marking("red"),
        "amber": _tlp2("amber"),
        "amber+strict": _marking(
            "", definition_type="statement", definition={"statement": "x"}, name="TLP:AMBER+STRICT"
        ),
        "purple": _marking("purple"),
        "statement": _marking("", definition_type="statement", definition={"statement": "© Bộ Công an"}),
    }
    official = {**_marking("red"), "id": stix.TLP2_MARKING_IDS["clear"]}
    found = stix.marking_levels([*shapes.values(), official])
    assert {name: found.get(m["id"]) for name, m in shapes.items()} == {
        "white": "clear",
        "red": "red",
        "amber": "amber",
        "amber+strict": "amber+strict",
        "purple": "red",  # a level no one here knows is kept to the owner
        "statement": None,
    }
    assert official["id"] not in found  # an official id means what it is published as


def test_a_bundle_marked_red_by_its_own_definition_is_imported_as_red():
    red = _marking("red")
    indicator = _indicator("198.51.100.7", red)
    report = {"type": "report", "spec_version": "2.1", "id": f"report--{uuid.uuid4()}", "created": STAMP,
              "modified": STAMP, "name": "Chiến dịch", "published": STAMP, "object_refs": [indicator["id"]],
              "object_marking_refs": [red["id"]]}  # fmt: skip
    (shared,) = stix.parse_bundle({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [red, indicator,
                                                                                                  report]})  # fmt: skip
    assert shared.tlp == "red" and [o.tlp for o in shared.observables] == ["red"]


def _push(client, collection, objects) -> set[str]:
    """The ids the push refused."""
    response = push(client, collection, objects)
    assert response.status_code == 202
    return {failure["id"] for failure in response.json()["failures"]}


def _served_and_imported(collection, indicator) -> tuple[set, set]:
    rows = StixObject.objects.filter(collection=collection, stix_id=indicator["id"])
    served = set(rows.values_list("tlp", flat=True))
    imported = set(Indicator.objects.filter(value="198.51.100.7").values_list("tlp", flat=True))
    return served, imported


def test_a_push_marked_red_by_its_own_definition_stays_red(tree, client):
    """The STIX 2.0-style definition is refused (the validator's rule), yet what it marks stays red."""
    make_user(tree.province_a, "incident_responder", username="resp-a")
    collection = collections.default_collection(tree.province_a)
    red = _marking("red")
    indicator = _indicator("198.51.100.7", red)
    assert _push(client, collection, [red, indicator]) == {red["id"]}
    assert _served_and_imported(collection, indicator) == ({"red"}, {"red"})


def test_a_definition_pushed_before_the_objects_it_marks_counts(tree, client):
    make_user(tree.province_a, "incident_responder", username="resp-a")
    collection = collections.default_collection(tree.province_a)
    red = _tlp2("red")
    assert _push(client, collection, [red]) == set()
    indicator = _indicator("198.51.100.7", red)
    _push(client, collection, [indicator])
    assert _served_and_imported(collection, indicator) == ({"red"}, {"red"})


def test_a_definition_pushed_after_the_objects_it_marks_raises_them(tree, client):
    """Objects and their marking may come in separate pushes, in either order."""
    make_user(tree.province_a, "incident_responder", username="resp-a")
    collection = collections.default_collection(tree.province_a)
    red = _tlp2("red")
    indicator = _indicator("198.51.100.7", red)
    _push(client, collection, [indicator])
    assert _served_and_imported(collection, indicator) == ({""}, {"amber"})
    _push(client, collection, [red])
    assert _served_and_imported(collection, indicator) == ({"red"}, {"red"})


def test_a_definition_sent_again_reads_only_the_objects_that_name_it(tree, client, monkeypatch):
    """A producer that sends its definition with every push made each push read the whole collection."""
    make_user(tree.province_a, "incident_responder", username="resp-a")
    collection = collections.default_collection(tree.province_a)
    red = _tlp2("red")
    _push(client, collection, [_indicator(f"198.51.100.{n}") for n in range(1, 30)])
    marked = _indicator("198.51.100.7", red)
    _push(client, collection, [marked])
    read = []
    monkeypatch.setattr(stix, "tlp_of", lambda obj, markings=None: read.append(obj["id"]) or "red")
    assert collections.marked_late(collection, {red["id"]: "red"}) == [marked]
    assert read == [marked["id"]]


def test_a_refused_definition_pushed_alone_still_raises_what_it_marks(tree, client):
    """A push holding nothing the validator takes (a STIX 2.0-style definition alone) still raises the objects
    stored before that it marks, and their indicators."""
    make_user(tree.province_a, "incident_responder", username="resp-a")
    collection = collections.default_collection(tree.province_a)
    red = _marking("red")
    indicator = _indicator("198.51.100.7", red)
    _push(client, collection, [indicator])
    assert _push(client, collection, [red]) == {red["id"]}
    assert _served_and_imported(collection, indicator) == ({"red"}, {"red"})
