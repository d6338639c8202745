"""Hypothesis fuzzing of the importers: whatever the input, a list, a STIX bundle or a MISP event either
parses or raises ValueError with a sentence; nothing else escapes."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.intel import store
from attt.intel.services import parse_misp_event, parse_stix_bundle, to_misp_event, to_stix_bundle
from attt.intel.tests.factories import make_report

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
STIX_KEYS = [
    "type",
    "id",
    "pattern",
    "objects",
    "object_refs",
    "created",
    "modified",
    "valid_from",
    "valid_until",
    "hashes",
    "value",
    "labels",
    "object_marking_refs",
    "external_references",
    "created_by_ref",
    "pattern_type",
    "name",
]
MISP_KEYS = ["Event", "info", "Attribute", "Object", "Tag", "uuid", "date", "timestamp", "type", "value", "to_ids"]


def _mutations(keys):
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=6)


def _ok_or_sentence(func, data):
    try:
        func(data)
    except ValueError as exc:
        assert str(exc).strip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values | _mutations(STIX_KEYS))
def test_stix_parser_on_anything(data):
    _ok_or_sentence(parse_stix_bundle, data)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=20), st.sampled_from(STIX_KEYS), json_values)
def test_stix_parser_on_damaged_bundles(position, key, value):
    bundle = to_stix_bundle(make_report())
    objects = bundle["objects"]
    objects[position % len(objects)][key] = value
    _ok_or_sentence(parse_stix_bundle, bundle)


@settings(max_examples=300, deadline=None)
@given(json_values | _mutations(MISP_KEYS))
def test_misp_parser_on_anything(data):
    _ok_or_sentence(parse_misp_event, data)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=20), st.sampled_from(MISP_KEYS), json_values)
def test_misp_parser_on_damaged_events(position, key, value):
    event = to_misp_event(make_report())
    attributes = event["Event"]["Attribute"]
    attributes[position % len(attributes)][key] = value
    _ok_or_sentence(parse_misp_event, event)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(store.FORMATS))
def test_file_parser_on_bytes(data, fmt):
    try:
        store.parse_file(data, fmt)
    except ValueError as exc:
        assert str(exc).strip()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60), max_size=20))
def test_list_parser_reports_each_bad_line(lines):
    found, errors = store.parse_list("\n".join(lines))
    assert all(message.strip() for _where, message in errors)
    assert all(o.value for o in found)


def test_json_round_trip_through_text():
    bundle = json.loads(json.dumps(to_stix_bundle(make_report())))
    assert len(parse_stix_bundle(bundle)[0].observables) == 10


@pytest.mark.parametrize("fmt", ["stix", "misp"])
def test_json_nested_deeper_than_python_reads_is_refused(fmt):
    with pytest.raises(ValueError, match="too deeply"):
        store.parse_file(b"[" * 100_000, fmt)
