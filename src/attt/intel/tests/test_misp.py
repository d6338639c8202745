import json
from pathlib import Path

import pytest
from pymisp import MISPEvent

from attt.intel.services import parse_misp_event, to_misp_event
from attt.intel.tests.factories import make_report, tagged_event

MISP = Path(__file__).resolve().parents[5] / "shared" / "testdata" / "misp"
# PyMISP's test events → how many observables each holds (file names, text and patterns are not observables).
EXPECTED = {
    "attribute.json": 0,
    "attribute_del.json": 0,
    "def_param.json": 3,
    "event.json": 0,
    "event_obj_attr_tag.json": 1,
    "event_obj_def_param.json": 0,
    "event_obj_tag.json": 0,
    "event_tags.json": 0,
    "existing_event.json": 68,
    "existing_event_edited.json": 68,
    "malware.json": 0,
    "misp_custom_obj.json": 0,
    "proposals.json": 0,
    "shadow.json": 0,
}
NOT_EVENTS = ["galaxy.json", "malware_exist.json", "sighting.json", "simple.json"]


def _load(name):
    return json.loads((MISP / name).read_text())


def test_every_test_file_is_accounted_for():
    assert sorted(p.name for p in MISP.glob("*.json")) == sorted([*EXPECTED, *NOT_EVENTS])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_pymisp_test_event_parses(name):
    assert len(parse_misp_event(_load(name)).observables) == EXPECTED[name]


@pytest.mark.parametrize("name", NOT_EVENTS)
def test_files_that_are_not_events_are_refused(name):
    with pytest.raises(ValueError, match="not a MISP event"):
        parse_misp_event(_load(name))


def test_existing_event():
    report = parse_misp_event(_load("existing_event.json"))
    assert report.tlp == "clear"  # tlp:white is TLP 2.0's clear
    kinds = {o.kind for o in report.observables}
    assert kinds == {"domain", "sha1", "ipv4"}
    assert sum(o.kind == "sha1" for o in report.observables) == 37
    assert any(label.startswith("misp-galaxy:threat-actor") for label in report.labels)


def test_objects_attributes_are_read():
    report = parse_misp_event(_load("event_obj_attr_tag.json"))
    assert [(o.kind, o.value) for o in report.observables] == [("url", "https://www.circl.lu/")]


def test_deleted_attributes_are_skipped():
    data = {
        "info": "t",
        "Attribute": [{"type": "domain", "value": "gone.example.com", "deleted": True, "to_ids": True}],
    }
    assert parse_misp_event(data).observables == []


@pytest.mark.parametrize("name", ["existing_event.json", "event_obj_attr_tag.json", "def_param.json"])
def test_round_trip_through_pymisp(name):
    report = parse_misp_event(_load(name))
    exported = to_misp_event(report)
    event = MISPEvent()
    event.from_dict(**exported)
    attributes = {(a.type, a.value, bool(a.to_ids)) for a in event.attributes}
    again = parse_misp_event(json.loads(event.to_json()))
    assert {(o.kind, o.value, o.to_detect) for o in again.observables} == {
        (o.kind, o.value, o.to_detect) for o in report.observables
    }
    assert len(attributes) == len({(o.kind, o.value) for o in report.observables})
    assert again.tlp == report.tlp and again.id == report.id


def test_our_report_round_trip():
    report = make_report()
    event = MISPEvent()
    event.from_dict(**to_misp_event(report))
    back = parse_misp_event(json.loads(event.to_json()))
    assert back.id == report.id and back.description == report.description and back.tlp == "amber"
    assert back.techniques == report.techniques and back.labels == report.labels
    assert {(o.kind, o.value, o.to_detect) for o in back.observables} == {
        (o.kind, o.value, o.to_detect) for o in report.observables
    }


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "JSON object"),
        ({"Event": "x"}, "not a MISP event"),
        ({"foo": 1}, "not a MISP event"),
        ({"info": "x", "Attribute": {}}, "must be lists"),
        ({"info": "x", "Attribute": [{"type": "ip-dst"}]}, "no type or value"),
        ({"info": "x", "Attribute": [{"type": "ip-dst", "value": "10.0.0"}]}, "“10.0.0”"),
        ({"info": "x", "uuid": "nope"}, "not a UUID"),
        ({"info": "x", "date": "yesterday"}, "not a date"),
    ],
)
def test_bad_events_raise_a_sentence(data, message):
    with pytest.raises(ValueError, match=message):
        parse_misp_event(data)


@pytest.mark.parametrize(
    "tags, level",
    [
        (["tlp:red", "tlp:clear"], "red"),  # the last tag used to win: TLP:RED stored as CLEAR
        (["tlp:clear", "tlp:red"], "red"),
        (["tlp:amber+strict", "tlp:white", "tlp:green"], "amber+strict"),
        (["TLP:GREEN", "tlp:unknown"], "green"),
        ([], "amber"),
    ],
)
def test_the_strictest_event_tlp_tag_wins(tags, level):
    report = parse_misp_event(tagged_event(tags))
    assert report.tlp == level
    assert {report.tlp_of(o) for o in report.observables} == {level}


@pytest.mark.parametrize(
    "event_tags, attribute_tags, level",
    [
        (["tlp:green"], ["tlp:red"], "red"),  # an attribute marked stricter than its event keeps its marking
        (["tlp:red"], ["tlp:clear"], "red"),  # never looser than the event
        (["tlp:clear"], ["tlp:amber", "tlp:green"], "amber"),
        ([], ["tlp:amber+strict"], "amber+strict"),
    ],
)
def test_each_observable_carries_the_strictest_of_event_and_attribute(event_tags, attribute_tags, level):
    report = parse_misp_event(tagged_event(event_tags, attribute_tags))
    tagged, plain = report.observables
    assert report.tlp_of(tagged) == level
    assert report.tlp_of(plain) == report.tlp


def test_attribute_tlp_survives_export_and_pymisp():
    report = parse_misp_event(tagged_event(["tlp:green"], ["tlp:red"]))
    exported = to_misp_event(report)
    tags = {a["value"]: [t["name"] for t in a.get("Tag", [])] for a in exported["Event"]["Attribute"]}
    assert tags == {"203.0.113.7": ["tlp:red"], "plain.example.vn": []}
    event = MISPEvent()
    event.from_dict(**exported)
    again = parse_misp_event(json.loads(event.to_json()))
    assert {o.value: again.tlp_of(o) for o in again.observables} == {
        "203.0.113.7": "red",
        "plain.example.vn": "green",
    }


@pytest.mark.parametrize("tag", [{"Tag": {}}, {"Tag": [{"name": 5}]}, {"Tag": ["tlp:red"]}])
def test_bad_attribute_tags_raise_a_sentence(tag):
    event = tagged_event(["tlp:green"])
    event["Event"]["Attribute"][0].update(tag)
    with pytest.raises(ValueError, match="attribute"):
        parse_misp_event(event)


def test_a_uri_that_is_a_path_is_not_an_observable():
    """MISP's `uri` type often holds a path alone (“/wp-admin/x.php”): read as a URL it refused the whole event,
    so the analyst could import none of its addresses. A full URL in a `uri` attribute is still read."""
    event = tagged_event(["tlp:green"])
    event["Event"]["Attribute"] += [
        {"type": "uri", "value": "/wp-admin/x.php", "to_ids": True},
        {"type": "uri", "value": "http://c2.example.com/gate.php", "to_ids": True},
    ]
    found = {(o.kind, o.value) for o in parse_misp_event(event).observables}
    assert found == {
        ("ipv4", "203.0.113.7"),
        ("domain", "plain.example.vn"),
        ("url", "http://c2.example.com/gate.php"),
    }
