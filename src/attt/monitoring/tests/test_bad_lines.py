"""Bad input never costs the good input around it: every line or object of a batch or file is accepted or rejected
with a reason (nesting beyond a parser's depth, times beyond datetime's range, unreadable objects in a file, bytes
that are not UTF-8), and nothing raises out of a batch."""

import datetime as dt
import json
import uuid

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from attt.monitoring import services
from attt.monitoring.normalise import MAX_NESTING, SourceRef, normalise_file_text, normalise_lines, parse_time
from attt.monitoring.parsers import ParseError, iter_json_objects
from attt.monitoring.tests.factories import make_source
from attt.monitoring.tests.test_parsers import EDGE_TIME

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
GOOD = b'{"@timestamp": "2026-01-01T00:00:00Z", "source": {"ip": "198.51.100.7"}, "message": "login"}'
INGEST = "/api/v1/ingest/events"


def nested(depth: int, opener: str = "[") -> str:
    """A JSON value `depth` lists (or objects) deep."""
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


def _ndjson() -> SourceRef:
    return SourceRef(uuid.uuid4(), uuid.uuid4())


# --- NDJSON batches --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [990, 1010, 1030, 5000, 100_000])
def test_a_deeply_nested_line_is_rejected_and_its_neighbours_accepted(depth):
    deep = b'{"x": ' + nested(depth).encode() + b"}"
    other = GOOD.replace(b"login", b"x")
    events, rejected = normalise_lines(GOOD + b"\n" + deep + b"\n" + other, _ndjson(), NOW)
    if depth < 1024:  # msgspec gives up before this depth (Python's recursion limit); orjson reads up to 1023 levels
        assert not rejected and [e.original for e in events] == [GOOD, deep, other]
    else:
        assert [line for line, _ in rejected] == [2] and "depth limit exceeded" in rejected[0][1]
        assert [e.original for e in events] == [GOOD, other]


EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59-00:01",
]


@pytest.mark.parametrize("stamp", EDGE_TIMES)
def test_a_time_beyond_the_range_of_datetime_in_utc_is_rejected_on_every_path(stamp):
    evtx = {"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": stamp}}, "EventID": 1}}}
    lines = [
        json.dumps({"@timestamp": stamp, "source": {"ip": "10.0.0.1"}}),  # typed path
        json.dumps({"@timestamp": stamp, "source.ip": "10.0.0.1"}),  # general path
        json.dumps(evtx),
    ]
    events, rejected = normalise_lines(GOOD + b"\n" + "\n".join(lines).encode(), _ndjson(), NOW)
    assert [e.original for e in events] == [GOOD]
    assert rejected == [(line, f"timestamp {stamp!r} out of range") for line in (2, 3, 4)]
    file_events, file_rejected = normalise_file_text("\n".join(lines), _ndjson(), NOW)
    assert not file_events and file_rejected == [(line, f"timestamp {stamp!r} out of range") for line in (1, 2, 3)]


@pytest.mark.parametrize("value", [10**400, -(10**400), float("inf"), float("nan")])
def test_a_number_beyond_any_time_is_a_parse_error(value):
    with pytest.raises(ParseError, match="out of range"):
        parse_time(value)


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-01:00"])
def test_an_rfc5424_time_beyond_the_range_of_datetime_in_utc_is_rejected(stamp):
    source = SourceRef(uuid.uuid4(), uuid.uuid4(), "syslog")
    events, rejected = normalise_lines(f"<13>1 {stamp} h a - - - x\n<13>1 - h a - - - y".encode(), source, NOW)
    assert len(events) == 1 and rejected == [(1, f"RFC 5424 timestamp {stamp!r} out of range")]


def test_an_evtx_event_nested_too_deep_to_store_is_rejected():
    """Its document is written as JSON by the store, which refuses 254 levels: accepted, it would fail its batch in
    the store on every retry."""
    data = {"System": {"EventID": 1, "Computer": "pc"}, "EventData": {"x": json.loads(nested(300, "{"))}}
    shallow = {"System": {"EventID": 2, "Computer": "pc"}, "EventData": {"x": json.loads(nested(20, "{"))}}
    lines = "\n".join(json.dumps({"Event": event}) for event in (data, shallow)).encode()
    events, rejected = normalise_lines(lines, _ndjson(), NOW)
    assert rejected == [(1, f"event nested deeper than {MAX_NESTING} levels")]
    orjson.dumps(events[0].ecs)  # what the store does with it


# Lines that broke whole batches: nesting around every parser's depth limit, times at datetime's edges with any
# offset, numbers beyond a float; mixed with good lines and random bytes.
_LINE = st.one_of(
    st.just(GOOD),
    st.binary(max_size=40),
    st.builds(
        lambda depth, opener: b'{"x": ' + nested(depth, opener).encode() + b"}",
        st.integers(1, 5000),
        st.sampled_from("[{"),
    ),
    st.builds(
        lambda key, value: json.dumps({key: value, "source": {"ip": "10.0.0.1"}}).encode(),
        st.sampled_from(["@timestamp", "timestamp", "time", "ts"]),
        EDGE_TIME | st.sampled_from([10**400, -(10**400), 2**70]),
    ),
    st.builds(
        lambda stamp: json.dumps(
            {"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": stamp}}}}}
        ).encode(),
        EDGE_TIME,
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, max_size=8))
@example([GOOD, b'{"x": ' + nested(5000).encode() + b"}", b'{"@timestamp": "0001-01-01T00:00:00+14:00"}', GOOD])
def test_fuzz_a_batch_of_edge_lines_accounts_for_every_line(lines):
    data = b"\n".join(lines)
    events, rejected = normalise_lines(data, _ndjson(), NOW)
    accepted = _line_numbers(data, events)
    assert sorted([n for n, _ in rejected] + accepted) == [
        n for n, line in enumerate(data.split(b"\n"), 1) if line.rstrip(b"\r").strip()
    ]
    assert {n for n, line in enumerate(data.split(b"\n"), 1) if line == GOOD} <= set(accepted)


def _line_numbers(data: bytes, events) -> list[int]:
    """The line numbers of a batch's events: each event's line is the next line equal to its original."""
    lines, found, at = data.split(b"\n"), [], 0
    for event in events:
        while lines[at].rstrip(b"\r") != event.original:
            at += 1
        found.append(at + 1)
        at += 1
    return found


# --- Files of JSON objects (`attt ingest file`, EVTX-derived JSON) -------------------------------------------------

_SAFE = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
_OBJECTS = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=6).map(lambda k: "k" + k), st.integers(-1000, 1000) | _SAFE, max_size=4
)
_BREAKS = ("truncated", "trailing comma", "deep", "not utf-8", "NaN")


def _broken(text: str, how: str, cut: int) -> bytes:
    """An object's text made unreadable in one of the ways senders' files are."""
    if how == "truncated":
        return text[: 1 + cut % (len(text) - 1)].encode()
    if how == "trailing comma":
        return (text[:-1].rstrip() + ",\n}").encode()
    if how == "deep":
        return ('{"x": ' + nested(2000) + "}").encode()
    if how == "NaN":
        return b'{"x": NaN}'
    return b'{"x": "Nguy\xe1\xbb n \xff"}'


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_OBJECTS, st.sampled_from((None, *_BREAKS)), st.integers(0, 10_000)), min_size=1, max_size=8),
    st.booleans(),
)
@example([({"ka": 1}, None, 0), ({"kb": 2}, "truncated", 3), ({"kc": 3}, None, 0)], True)
def test_fuzz_a_file_with_bad_objects_gets_every_other_object_read(objects, pretty):
    """Each bad object is rejected on the line it starts, and reading goes on with the next object: every object of
    the file is accepted or rejected."""
    parts, starts, line = [], [], 1
    for obj, how, cut in objects:
        text = json.dumps(obj, indent=2 if pretty else None, ensure_ascii=False)
        part = text.encode() if how is None else _broken(text, how, cut)
        parts.append(part)
        starts.append(line)
        line += part.count(b"\n") + 1
    events, rejected = normalise_file_text(b"\n".join(parts), _ndjson(), NOW)
    assert [orjson.loads(e.original) for e in events] == [obj for obj, how, _ in objects if how is None]
    assert [n for n, _ in rejected] == [n for n, (_, how, _) in zip(starts, objects, strict=True) if how]
    assert not any("\ufffd" in e.original.decode() for e in events)


def test_a_file_rejection_says_which_lines_were_not_read():
    pretty = json.dumps({"Event": {"System": {"EventID": 1}}}, indent=2)
    text = pretty + "\n" + pretty[:-1] + ",}\n" + pretty + "\n" + '{"cut": "here\nno more objects\n'
    found = list(iter_json_objects(text))
    assert [line for line, _ in found] == [1, 8, 15, 22]
    assert isinstance(found[1][1], ParseError) and str(found[1][1]).endswith("(lines 8–14 not read)")
    assert str(found[3][1]).endswith("(lines 22–23 not read)")


def test_a_list_of_objects_with_a_bad_item_keeps_its_other_items():
    text = '[\n  {"a": 1},\n  {"b": ,\n   "c": 2},\n  {"d": 3}\n]\n{"e": 4}\n[{"f": 5}'
    found = list(iter_json_objects(text))
    objects = [(line, obj) for line, obj in found if isinstance(obj, dict)]
    assert objects == [(2, {"a": 1}), (5, {"d": 3}), (7, {"e": 4}), (8, {"f": 5})]
    assert [(line, str(obj)) for line, obj in found if isinstance(obj, ParseError)] == [
        (3, "invalid JSON: Expecting value at line 3 column 9 (lines 3–4 not read)"),
        (8, "the list opened on this line is not closed: the file may be cut short"),
    ]


def test_a_byte_order_mark_is_not_an_unreadable_object():
    assert list(iter_json_objects('\ufeff{"a": 1}')) == [(1, {"a": 1})]


# --- Through the gateways (HTTP, `attt ingest file`) ---------------------------------------------------------------


@pytest.mark.django_db
def test_http_batch_with_a_deep_line_is_accepted_but_for_that_line(api, tree):
    _, token = make_source(tree.dept_a)
    deep = b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = api.post(
        INGEST,
        GOOD + b"\n" + deep + b"\n" + GOOD.replace(b"login", b"x"),
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 202, response.content
    assert (response.json()["accepted"], [e["line"] for e in response.json()["errors"]]) == (2, [2])
    assert services.store().total() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("log_format, name", [("ndjson", "export.json"), ("evtx_json", "sysmon.ndjson")])
def test_replaying_a_file_with_bad_objects_accounts_for_every_object(tree, tmp_path, log_format, name):
    src, _ = make_source(tree.dept_a, log_format=log_format)
    objects = [json.dumps({"Event": {"System": {"EventID": i, "Computer": "pc"}}, "n": i}, indent=2) for i in range(10)]
    objects[2] = objects[2][:40]  # cut short
    objects[6] = objects[6][:-1] + ",}"  # a trailing comma
    path = tmp_path / name
    path.write_text("\n".join(objects))
    ack = services.replay_file(src, path)
    assert (ack["accepted"], ack["rejected"]) == (8, 2)
    starts = [1 + sum(o.count("\n") + 1 for o in objects[:i]) for i in range(10)]
    assert [e["line"] for e in ack["errors"]] == [starts[2], starts[6]]
    assert services.store().total() == 8


@pytest.mark.django_db
def test_a_json_file_object_that_is_not_utf8_is_rejected_like_its_ndjson_line(tree, tmp_path):
    src, _ = make_source(tree.dept_a)
    body = b'{"n": 1}\n{"@timestamp": "2026-01-01T00:00:00Z", "user": {"name": "Nguy\xe1\xbb n"}}\n{"n": 3}\n'
    acks = []
    for name in ("e.json", "e.ndjson"):
        (tmp_path / name).write_bytes(body)
        acks.append(services.replay_file(src, tmp_path / name))
    for ack in acks:
        assert (ack["accepted"], [e["line"] for e in ack["errors"]]) == (2, [2])
        assert ack["errors"][0]["reason"].startswith("not valid UTF-8: byte 0xE1 at ")
    assert not any("\ufffd" in e["event"]["original"] for e in services.store().recent(None, limit=10))


@pytest.mark.parametrize("error", [RecursionError, OverflowError])
@pytest.mark.parametrize("log_format", ["ndjson", "syslog", "file"])
def test_an_error_any_reading_step_may_raise_rejects_only_its_line(monkeypatch, error, log_format):
    """Whatever a parser or a mapping raises for one line (nesting beyond a depth, a time beyond datetime's range),
    the batch goes on: that line is rejected with the reason, the others accepted."""
    from attt.monitoring import normalise

    def reading(real):
        def read(line_or_obj, *args, **kwargs):
            if b"bad" in (line_or_obj if isinstance(line_or_obj, bytes) else orjson.dumps(line_or_obj)):
                raise error("too far")
            return real(line_or_obj, *args, **kwargs)

        return read

    for name in ("_read", "normalise_syslog", "normalise_object"):
        monkeypatch.setattr(normalise, name, reading(getattr(normalise, name)))
    monkeypatch.setattr(normalise, "_read_fast", lambda *args: None)
    source = SourceRef(uuid.uuid4(), uuid.uuid4(), "syslog" if log_format == "syslog" else "ndjson")
    lines = [b'{"n": 1}', b'{"n": "bad"}', b'{"n": 3}']
    if log_format == "syslog":
        lines = [b"<13>1 - h a - - - " + line for line in lines]
    data = b"\n".join(lines)
    if log_format == "file":
        events, rejected = normalise_file_text(data, source, NOW)
    else:
        events, rejected = normalise_lines(data, source, NOW)
    assert len(events) == 2 and rejected == [(2, "unexpected structure: too far")]
