"""TLP is never lowered on the way in: the strictest marking of a MISP event wins, an attribute (or a STIX object)
marked stricter than its report keeps its marking in the store, in the collection it is shared to and so in
what a partner reading that collection at a lower TLP receives."""

import base64
import json
import uuid

import pytest

from attt.core.testing import PASSWORD, make_user
from attt.intel import collections, services, stix, store
from attt.intel.models import CollectionGrant, Indicator, StixObject
from attt.intel.tests.factories import make_report, tagged_event

TAXII = "application/taxii+json;version=2.1"
RED_IP, GREEN_DOMAIN = "203.0.113.7", "plain.example.vn"


def _stored(org) -> dict[str, str]:
    return dict(Indicator.objects.filter(organization=org).values_list("value", "tlp"))


@pytest.mark.parametrize("tags", [["tlp:red", "tlp:clear"], ["tlp:clear", "tlp:red"]])
def test_a_misp_event_tagged_red_and_clear_is_stored_red(tree, tags):
    store.import_data(tree.dept_a, json.dumps(tagged_event(tags)).encode(), fmt="misp", name="e.json")
    assert _stored(tree.dept_a) == {RED_IP: "red", GREEN_DOMAIN: "red"}


def test_an_attribute_marked_red_in_a_green_event_is_stored_red(tree):
    store.import_data(tree.dept_a, json.dumps(tagged_event(["tlp:green"], ["tlp:red"])).encode(), fmt="misp", name="e")
    assert _stored(tree.dept_a) == {RED_IP: "red", GREEN_DOMAIN: "green"}
    # the same event again without the attribute's marking does not lower what is stored
    store.import_data(tree.dept_a, json.dumps(tagged_event(["tlp:green"])).encode(), fmt="misp", name="e")
    assert _stored(tree.dept_a) == {RED_IP: "red", GREEN_DOMAIN: "green"}


def test_a_stix_indicator_marked_stricter_than_its_report_keeps_its_marking(tree):
    report = services.parse_misp_event(tagged_event(["tlp:green"], ["tlp:amber+strict"]))
    bundle = services.to_stix_bundle(report)
    store.import_data(tree.dept_a, json.dumps(bundle).encode(), fmt="stix", name="b.json")
    assert _stored(tree.dept_a) == {RED_IP: "amber+strict", GREEN_DOMAIN: "green"}


def test_taxii_readers_below_the_attributes_tlp_do_not_receive_it(tree, client):
    """Shared through the owner's collection, the red attribute is marked red there: a partner granted up to
    TLP:GREEN reads the green indicator and never the red one."""
    report = services.parse_misp_event(tagged_event(["tlp:green"], ["tlp:red"]))
    services.publish(report, organization=tree.province_a)
    assert _stored(tree.province_a) == {RED_IP: "red", GREEN_DOMAIN: "green"}
    collection = collections.default_collection(tree.province_a)
    by_pattern = {o.data["pattern"]: o.tlp for o in StixObject.objects.filter(collection=collection, type="indicator")}
    assert by_pattern == {
        f"[ipv4-addr:value = '{RED_IP}']": "red",
        f"[domain-name:value = '{GREEN_DOMAIN}']": "green",
    }
    CollectionGrant.objects.create(
        organization=tree.province_a, collection=collection, grantee=tree.province_b, max_tlp="green"
    )
    make_user(tree.province_b, "incident_responder", username="resp-b")
    auth = "Basic " + base64.b64encode(f"resp-b:{PASSWORD}".encode()).decode()
    response = client.get(
        f"/taxii2/national/collections/{collection.pk}/objects/", HTTP_ACCEPT=TAXII, HTTP_AUTHORIZATION=auth
    )
    assert response.status_code == 200
    patterns = [o.get("pattern") for o in response.json()["objects"] if o["type"] == "indicator"]
    assert patterns == [f"[domain-name:value = '{GREEN_DOMAIN}']"]


def test_an_observable_is_never_exported_below_its_report():
    """A report's own marking is the floor: an observable marked looser is exported at the report's TLP."""
    report = make_report(tlp="red")
    report.observables[0].tlp = "clear"
    bundle = services.to_stix_bundle(report)
    marked = {o["id"]: o.get("object_marking_refs") for o in bundle["objects"] if o["type"] == "indicator"}
    red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    assert set(map(tuple, marked.values())) == {(red,)}
    (again,) = services.parse_stix_bundle(bundle)
    assert {again.tlp_of(o) for o in again.observables} == {"red"}
    event = services.to_misp_event(report)
    assert all("Tag" not in a for a in event["Event"]["Attribute"])
    assert services.parse_misp_event(event).tlp == "red"


def _granular_red(pattern: str) -> dict:
    """A green indicator whose pattern alone is marked TLP:RED (a granular marking, STIX 2.1 section 7.2.3)."""
    stamp = "2026-01-01T00:00:00.000Z"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": stamp,
        "modified": stamp,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": stamp,
        "object_marking_refs": [stix.TLP2_MARKING_IDS["green"]],
        "granular_markings": [{"marking_ref": stix.TLP2_MARKING_IDS["red"], "selectors": ["pattern"]}],
    }


def test_a_granular_marking_makes_the_object_as_strict_as_its_marked_part(tree, client):
    """A partner marks an indicator's pattern TLP:RED with a granular marking: the object was stored unmarked at
    the top level only, so a reader granted up to TLP:GREEN received the red pattern, and the owner's store
    kept the value at TLP:GREEN."""
    collection = collections.default_collection(tree.province_a)
    CollectionGrant.objects.create(
        organization=tree.province_a, collection=collection, grantee=tree.province_b, max_tlp="green"
    )
    make_user(tree.province_a, "incident_responder", username="resp-a")
    make_user(tree.province_b, "incident_responder", username="resp-b")
    url = f"/taxii2/national/collections/{collection.pk}/objects/"
    red = _granular_red(f"[ipv4-addr:value = '{RED_IP}']")
    pushed = client.post(
        url,
        data=json.dumps({"objects": [red]}),
        content_type=TAXII,
        HTTP_ACCEPT=TAXII,
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"resp-a:{PASSWORD}".encode()).decode(),
    )
    assert pushed.json()["success_count"] == 1
    assert StixObject.objects.get(stix_id=red["id"]).tlp == "red"
    assert _stored(tree.province_a) == {RED_IP: "red"}
    auth = "Basic " + base64.b64encode(f"resp-b:{PASSWORD}".encode()).decode()
    assert client.get(url, HTTP_ACCEPT=TAXII, HTTP_AUTHORIZATION=auth).json() == {}
    bundle = {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [_granular_red("[domain-name:value = 'x.example.vn']")],
    }
    store.import_data(tree.dept_a, json.dumps(bundle).encode(), fmt="stix", name="b.json")
    assert _stored(tree.dept_a) == {"x.example.vn": "red"}
