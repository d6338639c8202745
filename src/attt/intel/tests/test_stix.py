import json
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_instance, validate_string

from attt.intel import stix
from attt.intel.services import parse_stix_bundle, to_stix_bundle
from attt.intel.sharing import TLP_LEVELS
from attt.intel.tests.factories import make_report

TESTDATA = Path(__file__).resolve().parents[5] / "shared" / "testdata"


def _errors(bundle: dict) -> list[str]:
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    return [str(e) for e in result.errors]


@pytest.mark.parametrize("tlp", TLP_LEVELS)
def test_bundle_is_valid_stix_for_every_tlp(tlp):
    bundle = to_stix_bundle(make_report(tlp=tlp))
    assert _errors(bundle) == []
    assert validate_string(json.dumps(bundle), ValidationOptions(version="2.1")).is_valid
    marking = next(o for o in bundle["objects"] if o["type"] == "marking-definition")
    assert marking["id"] == stix.TLP2_MARKING_IDS[tlp]
    assert marking["extensions"][stix.TLP2_EXTENSION_ID]["tlp_2_0"] == tlp


def test_official_tlp2_marking_ids():
    assert stix.TLP2_MARKING_IDS["clear"] == "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
    assert stix.TLP2_MARKING_IDS["red"] == "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


def test_bundle_shape_and_stable_ids():
    report = make_report()
    bundle = to_stix_bundle(report)
    assert bundle == to_stix_bundle(make_report())  # re-export gives the same objects
    types = [o["type"] for o in bundle["objects"]]
    assert types.count("indicator") == 8 and types.count("attack-pattern") == 2
    assert "ipv6-addr" in types and "x-attt-bank-account" in types
    rep = next(o for o in bundle["objects"] if o["type"] == "report")
    assert rep["id"] == f"report--{report.id}"
    ids = {o["id"] for o in bundle["objects"]}
    assert set(rep["object_refs"]) <= ids
    patterns = {o["pattern"] for o in bundle["objects"] if o["type"] == "indicator"}
    assert "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']" in patterns
    assert "[x-attt-phone-number:value = '+84912345678']" in patterns
    refs = [o["external_references"][0] for o in bundle["objects"] if o["type"] == "attack-pattern"]
    assert {(r["source_name"], r["external_id"]) for r in refs} == {
        ("mitre-ics-attack", "T0883"),
        ("mitre-attack", "T1566.001"),
    }


def test_round_trip():
    report = make_report()
    (back,) = parse_stix_bundle(to_stix_bundle(report))
    assert back.id == report.id and back.title == report.title and back.description == report.description
    assert back.tlp == "amber" and back.labels == ["phishing"] and back.techniques == report.techniques
    assert back.producer == report.producer
    assert {(o.kind, o.value, o.to_detect) for o in back.observables} == {
        (o.kind, o.value, o.to_detect) for o in report.observables
    }


def test_quotes_in_patterns_survive():
    report = make_report(observables=[make_report().observables[3].__class__("url", "http://example.com/a'b\\c")])
    bundle = to_stix_bundle(report)
    assert _errors(bundle) == []
    (back,) = parse_stix_bundle(bundle)
    assert back.observables[0].value == "http://example.com/a'b\\c"


def test_reads_medallion_test_data():
    data = json.loads((TESTDATA / "taxii" / "default_data.json").read_text())
    objects = [o for c in data["trustgroup1"]["collections"] for o in c["objects"]]
    reports = parse_stix_bundle(
        {"type": "bundle", "id": "bundle--8fbe8d1c-4bd1-4d8b-9e3d-bc1a3a3e9f30", "objects": objects}
    )
    (loose,) = reports
    values = {(o.kind, o.value) for o in loose.observables}
    assert ("sha256", "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c") in values
    assert ("url", "http://x4z9arb.cn/4712") in values  # newest version of the indicator wins
    assert ("url", "http://z4z10farb.cn/4712") not in values


def test_attack_bundle_has_no_indicators():
    data = json.loads((TESTDATA / "attack" / "ics-attack.json").read_text())
    assert parse_stix_bundle(data) == []


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "not a STIX bundle"),
        ({"type": "report"}, "not a STIX bundle"),
        ({"type": "bundle", "objects": {}}, "not a list"),
        ({"type": "bundle", "objects": [{"id": "x"}]}, "no type or id"),
        ({"type": "bundle", "objects": [{"type": "indicator", "id": "report--1"}]}, "not of its type"),
        (
            {
                "type": "bundle",
                "objects": [{"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '999.1.1.1']"}],
            },
            "999.1.1.1",
        ),
    ],
)
def test_bad_bundles_raise_a_sentence(data, message):
    with pytest.raises(ValueError, match=message):
        parse_stix_bundle(data)


def test_unknown_tlp_refused():
    with pytest.raises(ValueError, match="not a TLP level"):
        to_stix_bundle(make_report(tlp="purple"))


def test_only_attack_ids_are_read_as_techniques():
    """A partner's attack-pattern may name anything under a MITRE source; only ATT&CK ids become techniques (an
    incident imported with "hello" as a technique could not be exported again)."""
    bundle = to_stix_bundle(make_report())
    pattern = next(o for o in bundle["objects"] if o["type"] == "attack-pattern")
    pattern["external_references"] = [
        {"source_name": "mitre-attack", "external_id": "hello"},
        {"source_name": "mitre-attack", "external_id": "T1059.001"},
    ]
    (back,) = parse_stix_bundle(bundle)
    assert "hello" not in back.techniques and "T1059.001" in back.techniques
    to_stix_bundle(back)  # exports again


@pytest.mark.parametrize(
    "older, newer",
    [
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.500Z"),
        ("2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00.51Z"),
        ("2026-01-01T07:00:00+07:00", "2026-01-01T00:00:00.001Z"),
    ],
)
def test_the_newest_version_wins_whatever_its_precision(older, newer):
    """Versions were compared as text: a `modified` without fractional seconds sorted after one with them
    (“Z” > “.”), so a bundle carrying both kept the older indicator and imported its outdated value."""
    stamps = {older: "http://old.example.com/", newer: "http://new.example.com/"}
    object_id = "indicator--6d5c5a4e-3a2b-4c1d-8e9f-0a1b2c3d4e5f"
    objects = [
        {"type": "indicator", "id": object_id, "modified": stamp, "pattern": f"[url:value = '{url}']"}
        for stamp, url in stamps.items()
    ]
    for order in (objects, objects[::-1]):
        (loose,) = parse_stix_bundle({"type": "bundle", "objects": order})
        assert [o.value for o in loose.observables] == ["http://new.example.com/"]
