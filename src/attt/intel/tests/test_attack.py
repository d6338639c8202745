"""The ATT&CK loader on malformed bundles: a sentence (and exit 2 from `attt intel attack-load`), never a traceback,
and nothing half-loaded. Run on PostgreSQL too: SQLite keeps over-long ids and NUL characters."""

import copy
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.intel import attack
from attt.intel.models import Tactic, Technique

TACTIC = {
    "type": "x-mitre-tactic",
    "id": "x-mitre-tactic--69da72d2-f550-41c5-ab9e-e8255707f28a",
    "name": "Initial Access",
    "x_mitre_shortname": "initial-access-ics",
    "x_mitre_domains": ["ics-attack"],
    "external_references": [{"source_name": "mitre-attack", "external_id": "TA0108"}],
}
TECHNIQUE = {
    "type": "attack-pattern",
    "id": "attack-pattern--3f1f4ccb-9be2-4ff8-8f69-dd972221169b",
    "name": "Internet Accessible Device",
    "x_mitre_domains": ["ics-attack"],
    "kill_chain_phases": [{"kill_chain_name": "mitre-ics-attack", "phase_name": "initial-access-ics"}],
    "external_references": [
        {"source_name": "mitre-attack", "external_id": "T0883", "url": "https://attack.mitre.org/techniques/T0883"}
    ],
}
MATRIX = {"type": "x-mitre-matrix", "id": "x-mitre-matrix--575f48f4-8897-4468-897b-48bb364af6c7",
          "tactic_refs": [TACTIC["id"]]}  # fmt: skip


def _bundle(*objects) -> dict:
    return {"type": "bundle", "id": "bundle--1", "objects": [TACTIC, TECHNIQUE, MATRIX, *objects]}


def test_a_good_bundle_loads(db):
    assert attack.load(_bundle()) == (1, 1)
    technique = Technique.objects.get(external_id="T0883")
    assert [t.external_id for t in technique.tactics.all()] == ["TA0108"] and Tactic.objects.get().order == 0


@pytest.mark.parametrize(
    "bad, message",
    [
        ({**TECHNIQUE, "id": None}, "T0883 has no STIX id"),
        ({k: v for k, v in TECHNIQUE.items() if k != "id"}, "T0883 has no STIX id"),
        ({**TECHNIQUE, "id": {"a": 1}}, "T0883 has no STIX id"),
        ({**TECHNIQUE, "id": "attack-pattern--" + "a" * 100}, "longer than 100"),
        ({**MATRIX, "tactic_refs": 5}, "not a list of ids"),
        ({**MATRIX, "tactic_refs": [{"a": 1}]}, "not a list of ids"),
        ({**MATRIX, "tactic_refs": ["x"] * 1001}, "more than 1000"),
        ({**TECHNIQUE, "external_references": [{"source_name": "mitre-attack", "external_id": "T" * 20}]}, "not one"),
        ({**TACTIC, "external_references": [{"source_name": "mitre-attack", "external_id": "T0883"}]}, "not one"),
        ({**TACTIC, "x_mitre_shortname": "s" * 101}, "longer than 100"),
        ({**TECHNIQUE, "description": "a\x00b"}, "NUL character"),
        ({**TACTIC, "name": "a\x00b"}, "NUL character"),
    ],
)
def test_malformed_objects_are_refused_with_a_sentence_and_exit_2(tmp_path, db, bad, message):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_bundle(bad)))
    with pytest.raises(CommandError, match=message) as caught:
        call_command("intel", "attack-load", str(path))
    assert caught.value.returncode == 2
    assert not Technique.objects.exists() and not Tactic.objects.exists()  # nothing half-loaded


@pytest.mark.parametrize(
    "content",
    [b"", b"[" * 100_000, b"\xff\xfe", b'{"type": "bundle"}', b'{"type": "bundle", "objects": {}}', b"[]"],
)
def test_a_file_that_is_not_a_bundle_is_refused(tmp_path, content):
    path = tmp_path / "bundle.json"
    path.write_bytes(content)
    with pytest.raises(ValueError) as caught:
        attack.read_bundle(path)
    assert str(caught.value).endswith(".")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
KEYS = ["type", "id", "name", "description", "x_mitre_shortname", "x_mitre_domains", "x_mitre_deprecated", "revoked",
        "kill_chain_phases", "external_references", "tactic_refs"]  # fmt: skip
REFERENCE_KEYS = ["source_name", "external_id", "url"]


@st.composite
def damaged_bundles(draw):
    """A small valid bundle with some of its objects, or their ATT&CK references, damaged."""
    bundle = copy.deepcopy(_bundle())
    for _ in range(draw(st.integers(1, 4))):
        obj = bundle["objects"][draw(st.integers(0, 2))]
        references = obj.get("external_references")
        if draw(st.booleans()) and isinstance(references, list) and references and isinstance(references[0], dict):
            references[0][draw(st.sampled_from(REFERENCE_KEYS))] = draw(json_values)
        else:
            obj[draw(st.sampled_from(KEYS))] = draw(json_values)
    if draw(st.booleans()):
        bundle["objects"].append(draw(json_values))
    return bundle


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bundle=damaged_bundles() | json_values)
def test_load_on_damaged_bundles_loads_or_says_why(db, tmp_path_factory, bundle):
    path = tmp_path_factory.mktemp("attack") / "bundle.json"
    path.write_text(json.dumps(bundle))
    try:
        tactics, techniques = attack.load(attack.read_bundle(path))
    except ValueError as exc:
        assert str(exc).strip()
    else:
        assert techniques >= 1 and Technique.objects.count() >= techniques and Tactic.objects.count() >= tactics


@pytest.mark.parametrize("data", [None, [], {"type": "bundle"}, {"type": "bundle", "objects": 5}, {"objects": []}])
def test_load_refuses_what_is_not_a_bundle(db, data):
    with pytest.raises(ValueError, match="not a STIX bundle"):
        attack.load(data)
