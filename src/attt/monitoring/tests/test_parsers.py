"""Parsers: the RFC examples, EVTX-derived files of the Sigma regression data, and fuzzing (any input gives a
record or a ParseError, never another exception; what a sender escapes comes back unchanged)."""

import contextlib
import datetime as dt
import glob
import json
import sys
import uuid

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from attt.monitoring.normalise import SourceRef, normalise_file_text, normalise_lines
from attt.monitoring.parsers import (
    ParseError,
    cef_time,
    iter_json_objects,
    parse_cef,
    parse_json_line,
    parse_syslog,
)

REGRESSION = "/work/shared/testdata/sigma/regression_data/**/*.json"
NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_rfc5424_example_with_structured_data():
    record = parse_syslog(
        b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
        b'eventSource="Appli\\"cation" eventID="1011"][x@1 a="]"] An application event'
    )
    assert record["facility"] == 20 and record["severity"] == 5
    assert record["timestamp"] == dt.datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=dt.UTC)
    assert record["hostname"] == "mymachine.example.com" and record["procid"] is None and record["msgid"] == "ID47"
    assert record["structured_data"]["exampleSDID@32473"]["eventSource"] == 'Appli"cation'
    assert record["structured_data"]["x@1"] == {"a": "]"}
    assert record["message"] == "An application event"


def test_rfc3164_example_and_year_rollover():
    record = parse_syslog(b"<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed", now=NOW)
    assert (record["hostname"], record["app"], record["procid"]) == ("mymachine", "su", "42")
    assert record["timestamp"].year == 2025  # October read in March is last year's
    assert record["message"] == "'su root' failed"


def test_rfc3164_time_is_the_devices_local_time_across_new_year(settings):
    """No zone in the header: the device's clock, in the platform's zone (Vietnam, UTC+7), not UTC; the year is the
    one on the device's calendar, which turns seven hours before UTC's."""
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"
    new_year = dt.datetime(2025, 12, 31, 17, 30, tzinfo=dt.UTC)  # 00:30 on 1 January 2026 in Hà Nội
    first = parse_syslog(b"<34>Jan  1 00:10:00 fw app: x", now=new_year)["timestamp"]
    last = parse_syslog(b"<34>Dec 31 23:50:00 fw app: x", now=new_year)["timestamp"]
    assert (first, last) == (
        dt.datetime(2025, 12, 31, 17, 10, tzinfo=dt.UTC),
        dt.datetime(2025, 12, 31, 16, 50, tzinfo=dt.UTC),
    )
    settings.TIME_ZONE = "UTC"
    assert parse_syslog(b"<34>Dec 31 23:50:00 fw app: x", now=new_year)["timestamp"] == dt.datetime(
        2025, 12, 31, 23, 50, tzinfo=dt.UTC
    )


def test_a_bare_cef_line_is_an_event_timed_by_rt():
    """CEF without a syslog header (as some devices and collectors send it): read as CEF, its time from `rt`,
    without one the receive time."""
    source = SourceRef(uuid.uuid4(), uuid.uuid4(), "cef")
    lines = [
        b"CEF:0|Fortinet|FortiGate|7.0|13|deny|5|src=203.0.113.4 dst=10.0.0.1 rt=1767225600000 dvchost=fw1",
        b"CEF:0|Fortinet|FortiGate|7.0|13|deny|5|src=203.0.113.5",
        b"CEF:0|Fortinet|FortiGate|7.0|13|deny|5|rt=yesterday",
    ]
    events, rejected = normalise_lines(b"\n".join(lines), source, NOW)
    assert [e.timestamp for e in events] == [dt.datetime(2026, 1, 1, tzinfo=dt.UTC), NOW]
    assert events[0].ecs["observer"]["vendor"] == "Fortinet" and events[0].ecs["host"]["hostname"] == "fw1"
    assert "log" not in events[0].ecs and ("ipv4", "203.0.113.4") in events[0].observables
    assert [line for line, _ in rejected] == [3] and "CEF time 'yesterday'" in rejected[0][1]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1767225600000", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("Jan 01 2026 07:00:00", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),  # the devices' zone (UTC+7)
        ("Jan 01 2026 00:00:00.250 UTC", dt.datetime(2026, 1, 1, 0, 0, 0, 250000, tzinfo=dt.UTC)),
        ("Jan 01 2026 07:00:00 ICT", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("Jan 01 2026 08:00:00 GMT+08:00", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("Jan 01 2026 07:00:00 Asia/Ho_Chi_Minh", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("Feb 28 07:00:00", dt.datetime(2026, 2, 28, tzinfo=dt.UTC)),  # no year: this year's
        ("2026-01-01T00:00:00Z", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    ],
)
def test_cef_time_formats(value, expected, settings):
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"
    assert cef_time(value, NOW) == expected


@pytest.mark.parametrize(
    "value, reason",
    [
        ("Jan 01 2026 07:00:00 PST", "zone 'PST' unknown"),
        ("Feb 30 2026 00:00:00", "not a real date"),
        ("Jan 01 0000 00:00:00", "not a real date"),
        ("Jan 01 0001 00:00:00 ICT", "out of range"),
        ("100000000000000000", "out of range"),  # milliseconds since 1970, but beyond the year 9999
    ],
)
def test_cef_times_that_are_refused(value, reason):
    with pytest.raises(ParseError, match=reason):
        cef_time(value, NOW)


def test_cef_with_escapes_in_header_and_extension():
    record = parse_cef(
        r"CEF:0|Security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \= b msg=x y"
    )
    assert record["name"] == "detected a | in message"
    assert record["extensions"] == {"src": "10.0.0.1", "act": "blocked a = b", "msg": "x y"}


@pytest.mark.parametrize(
    "line, reason",
    [(b"no pri", "<PRI>"), (b"<999>1 x", "out of range"), (b"<13>1 notatime h a p m -", "RFC 3339")],
)
def test_bad_syslog_reasons(line, reason):
    with pytest.raises(ParseError, match=reason):
        parse_syslog(line)


def test_syslog_cef_becomes_ecs():
    source = SourceRef(uuid.uuid4(), uuid.uuid4(), "cef")
    events, rejected = normalise_lines(
        b"<134>Oct 11 22:14:15 fw CEF:0|Fortinet|FortiGate|7.2|13|deny|6|src=203.0.113.5 dst=10.0.0.8 "
        b"dpt=443 request=https://bad.example.vn/x act=deny\n<bad",
        source,
        NOW,
    )
    assert rejected == [(2, "syslog message must start with <PRI>")]
    ecs = events[0].ecs
    assert ecs["source"]["ip"] == "203.0.113.5" and ecs["observer"]["vendor"] == "Fortinet"
    assert ecs["event"]["original"].startswith("<134>")
    assert ("ipv4", "203.0.113.5") in events[0].observables and ("domain", "bad.example.vn") in events[0].observables
    assert events[0].fields["dpt"] == "443"


def test_every_regression_file_normalises():
    files = glob.glob(REGRESSION, recursive=True)
    if not files:
        pytest.skip("Sigma regression data missing")
    source = SourceRef(uuid.uuid4(), uuid.uuid4(), "evtx_json")
    total = 0
    for path in files:
        with open(path, encoding="utf-8") as handle:
            events, rejected = normalise_file_text(handle.read(), source)
        assert rejected == [], path
        total += len(events)
        for event in events:
            assert event.timestamp.tzinfo is not None
            assert event.ecs["event"]["original"] and "EventID" in event.fields
    assert total > len(files)  # some files hold several objects in a row


def test_several_pretty_printed_objects_in_a_row_and_a_broken_tail():
    found = list(iter_json_objects('{\n "a": 1\n}\n{\n "b": 2\n}\n{"c": '))
    assert [x for _, x in found[:2]] == [{"a": 1}, {"b": 2}]
    assert found[1][0] == 4 and isinstance(found[2][1], ParseError)


def test_ndjson_unknown_fields_kept_and_bad_lines_counted():
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    data = b'{"@timestamp": "2026-01-02T03:04:05+07:00", "vendor": {"x": [1, 2]}}\n\n{"time": "yesterday"}\n[1]\n'
    events, rejected = normalise_lines(data, source, NOW)
    assert events[0].ecs["vendor"] == {"x": [1, 2]} and events[0].fields["vendor.x"] == [1, 2]
    assert events[0].timestamp == dt.datetime(2026, 1, 1, 20, 4, 5, tzinfo=dt.UTC)
    assert [line for line, _ in rejected] == [3, 4]
    assert "not ISO 8601" in rejected[0][1]


def test_event_id_is_stable_per_source_and_line():
    a, b = SourceRef(uuid.uuid4(), uuid.uuid4()), SourceRef(uuid.uuid4(), uuid.uuid4())
    line = b'{"message": "x"}'
    first = normalise_lines(line, a, NOW)[0][0].id
    assert first == normalise_lines(line, a, NOW + dt.timedelta(days=1))[0][0].id
    assert first != normalise_lines(line, b, NOW)[0][0].id


# --- Fuzzing ---------------------------------------------------------------------------------------------------

safe_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda data: b"CEF:" + data),  # a CEF message alone
        st.builds(lambda data: b"CEF:0|V|P|1|2|n|3|rt=" + data, st.binary(max_size=40)),
        st.builds(lambda data: b"<13>Feb 29 12:00:00 " + data, st.binary(max_size=40)),
        st.builds(lambda data: b"<13>1 " + data, st.binary(max_size=60)),
    ),
    st.datetimes(timezones=st.just(dt.UTC)),  # any receive time: the year inference at datetime's edges
)
def test_fuzz_syslog_raises_only_parse_error(data, now):
    with contextlib.suppress(ParseError):
        parse_syslog(data, now=now)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"[A-Z][a-z]{2} \d{1,2}( \d{4})? \d{2}:\d{2}:\d{2}(\.\d{1,3})?( \S{1,12})?", fullmatch=True),
        st.integers(0, 10**30).map(str),
    ),
    st.datetimes(timezones=st.just(dt.UTC)),
)
def test_fuzz_cef_time_raises_only_parse_error(value, now):
    with contextlib.suppress(ParseError):
        assert cef_time(value, now).tzinfo is dt.UTC


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_cef_raises_only_parse_error(text):
    with contextlib.suppress(ParseError):
        parse_cef("CEF:" + text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_ndjson_batch_never_raises(data):
    events, rejected = normalise_lines(data, SourceRef(uuid.uuid4(), uuid.uuid4()), NOW)
    assert len(events) + len(rejected) == sum(1 for line in data.split(b"\n") if line.rstrip(b"\r").strip())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b'{"a": 1}', b'{"source": {"ip": "10.0.0.1"}}', b"", b" ", b"{bad", b'{"b": 2}\r'])))
def test_a_batch_is_framed_as_received_only_when_its_lines_are_its_events_lines(lines):
    """The wire frame's body is the events' lines joined; the received batch is compressed as it is exactly when
    every line became an event unchanged (no blank, refused or CR-ended line), else the lines are joined again."""
    from unittest import mock

    from attt.monitoring import normalise

    data, source = b"\n".join(lines), SourceRef(uuid.uuid4(), uuid.uuid4())
    events, _ = normalise_lines(data, source, NOW)
    if events:
        with mock.patch.object(normalise, "encode_lines", wraps=normalise.encode_lines) as encode:
            frame = normalise.events_payload(events, source, data)
        assert normalise.decode_lines(frame)[2] == b"\n".join(e.original for e in events)
        as_received = all(line in (b'{"a": 1}', b'{"source": {"ip": "10.0.0.1"}}') for line in lines)
        assert (encode.call_args.args[2] is data) == as_received


def _cef_escape_header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|")


def _cef_escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")


keys = st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,10}", fullmatch=True)
values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=20
).filter(lambda v: v == v.strip() and "  " not in v)


@settings(max_examples=300, deadline=None)
@given(st.lists(safe_text, min_size=7, max_size=7), st.dictionaries(keys, values, max_size=5))
def test_fuzz_cef_round_trip(header, extensions):
    header[0] = "0"
    text = "CEF:" + "|".join(_cef_escape_header(h) for h in header) + "|"
    text += " ".join(f"{k}={_cef_escape_value(v)}" for k, v in extensions.items())
    record = parse_cef(text)
    assert [record[k] for k in ("device_vendor", "device_product", "device_version", "signature_id", "name")] == header[
        1:6
    ]
    assert record["severity"] == header[6]
    assert record["extensions"] == extensions


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[!-~]{1,20}", fullmatch=True).filter(lambda s: s != "-"),
    st.from_regex(r"[!-~]{1,20}", fullmatch=True).filter(lambda s: s != "-"),
    st.text(max_size=60),
)
def test_fuzz_rfc5424_round_trip(host, app, message):
    line = f"<14>1 2026-01-02T03:04:05.5+07:00 {host} {app} 123 - - {message}".encode()
    record = parse_syslog(line)
    assert (record["hostname"], record["app"], record["procid"]) == (host, app, "123")
    assert record["message"] == message


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(safe_text, st.integers(-(2**63), 2**63 - 1) | safe_text, max_size=5))
def test_fuzz_json_line_round_trip(obj):
    import orjson

    assert parse_json_line(orjson.dumps(obj)) == obj


def test_enrichment_looks_each_value_up_once_per_batch_and_gives_each_event_its_own_block():
    from attt.monitoring.enrich import EnrichmentIndex, SystemInfo

    info = SystemInfo(uuid.uuid4(), uuid.uuid4(), "Cổng dịch vụ công", "government", 3)
    index = EnrichmentIndex.build([("10.1.0.0/16", info)], [("tinh1.gov.vn", info)])
    calls = []
    real = index.address
    index.address = lambda text: calls.append(text) or real(text)
    lines = [b'{"source": {"ip": "10.1.2.3"}, "n": %d}' % i for i in range(3)]
    lines += [b'{"host": {"name": "www.tinh1.gov.vn"}}', b'{"source": {"ip": "203.0.113.9"}}']
    events, _ = normalise_lines(b"\n".join(lines), SourceRef(uuid.uuid4(), uuid.uuid4()))
    index.enrich(events)
    assert calls == ["10.1.2.3", "203.0.113.9"]
    assert [e.system_id for e in events] == [info.system_id] * 4 + [None]
    assert events[0].ecs["attt"]["system"]["level"] == 3 and "attt" not in events[4].ecs
    events[0].ecs["attt"]["system"]["name"] = "changed by a consumer"
    assert events[1].ecs["attt"]["system"]["name"] == "Cổng dịch vụ công"


def test_system_blocks_kept_for_reuse_stay_bounded_as_the_registry_changes():
    """A worker runs for months and each rebuild of the index brings renamed or re-levelled systems: the blocks it
    keeps for reuse must not grow with every version of every system ever seen."""
    from attt.monitoring import enrich

    system, organization = uuid.uuid4(), uuid.uuid4()
    for version in range(70_000):
        enrich.SystemInfo(system, organization, f"Hệ thống, phiên bản {version}", "government", 3).block()
    assert enrich._block.cache_info().currsize <= 65_536


def test_observables_read_nested_and_dotted_fields():
    from attt.monitoring.normalise import observables_of

    doc = {
        "source.ip": "2001:db8::1",
        "destination": {"ip": ["10.0.0.1", None, {"x": 1}], "domain": "Example.VN."},
        "url": {"original": "https://user@Portal.example.vn:8443/a"},
        "file": {"hash": {"sha256": "AB" * 32}},
        "related": {"hash": ["a" * 40, "short"]},
        "dns.question.name": "cdn.example.com",
    }
    assert observables_of(doc) == [
        ("ipv6", "2001:db8::1"),
        ("ipv4", "10.0.0.1"),
        ("domain", "example.vn"),
        ("sha1", "a" * 40),
        ("url", "https://user@Portal.example.vn:8443/a"),
        ("domain", "portal.example.vn"),
        ("domain", "cdn.example.com"),
        ("sha256", "ab" * 32),
    ]


# --- the typed reader agrees with the general path -----------------------------------------------------------------

_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "10.1.2.3", "2001:db8::1", "Evil.Example.", "http://u:p@Host.vn:8080/a", "a" * 32, "B" * 64]),
    st.text(max_size=12),
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_OBSERVED = st.one_of(_SCALAR, st.lists(_SCALAR, max_size=3), _VALUE)
_GROUP_KEYS = {
    "source": ["ip", "domain", "port"],
    "destination": ["ip", "domain"],
    "client": ["ip"],
    "server": ["domain"],
    "host": ["name", "hostname", "ip"],
    "related": ["ip", "hosts", "hash"],
    "url": ["original", "full", "domain"],
    "dns": ["question"],
    "file": ["hash"],
    "event": ["dataset", "module", "kind"],
}


# Times at datetime's edges, with any offset: some have no UTC time at all.
EDGE_TIME = st.builds(
    lambda stamp, sign, minutes: f"{stamp}{sign}{minutes // 60:02d}:{minutes % 60:02d}",
    st.sampled_from(["0001-01-01T00:00:00", "0001-01-01T13:59:59", "9999-12-31T23:59:59", "9999-12-31 10:00:00"]),
    st.sampled_from("+-"),
    st.integers(0, 24 * 60 - 1),
)


@st.composite
def _ecs_like(draw) -> dict:
    doc: dict = {}
    for group in draw(st.lists(st.sampled_from(sorted(_GROUP_KEYS)), unique=True, max_size=6)):
        if draw(st.integers(0, 9)) == 0:
            doc[group] = draw(_VALUE)  # not an object at all
            continue
        inner = {key: draw(_OBSERVED) for key in draw(st.lists(st.sampled_from(_GROUP_KEYS[group]), unique=True))}
        if group == "dns" and draw(st.booleans()):
            inner["question"] = {"name": draw(_OBSERVED)}
        if group == "file" and draw(st.booleans()):
            inner["hash"] = {kind: draw(_OBSERVED) for kind in ("md5", "sha1", "sha256") if draw(st.booleans())}
        doc[group] = inner
    for key in draw(st.lists(st.sampled_from(["@timestamp", "timestamp", "time", "ts"]), unique=True, max_size=2)):
        doc[key] = draw(
            st.one_of(
                st.sampled_from(["2026-11-20T08:00:00Z", "2026-11-20 08:00:00+07:00", "not a time"]),
                _SCALAR,
                EDGE_TIME,
                st.sampled_from([1e300, -1e300, 2**63 - 1]),  # orjson reads no number beyond a double
            )
        )
    if draw(st.integers(0, 7)) == 0:
        doc[draw(st.sampled_from(["source.ip", "url.original", "dns.question.name", "related.ip"]))] = draw(_OBSERVED)
    if draw(st.integers(0, 9)) == 0:
        doc["Event"] = draw(st.one_of(_VALUE, st.just({"System": {"EventID": 1, "Computer": "pc1"}})))
    doc.update(draw(st.dictionaries(st.text(max_size=6), _VALUE, max_size=3)))
    return doc


@settings(max_examples=1500, deadline=None)
@given(doc=_ecs_like(), depth=st.one_of(st.just(0), st.integers(1, 5000), st.integers(900, 1100)))
@example(doc={"event": {"module": "zeek"}, "host": {"hostname": "pc1", "ip": ["10.0.0.1", "::1"]}}, depth=0)
@example(
    doc={"ts": 1_763_625_600_000, "url": {"original": "https://a.vn/x", "domain": "A.vn."}, "file": {"hash": {}}},
    depth=0,
)
@example(
    doc={"source": {"ip": "10.1.2.3"}, "destination": {"ip": None, "domain": ""}, "dns": {"question": None}}, depth=0
)
@example(doc={"@timestamp": "0001-01-01T00:00:00+14:00", "source": {"ip": "10.1.2.3"}}, depth=0)
@example(doc={"source": {"ip": "10.1.2.3"}}, depth=5000)
def test_typed_reader_gives_the_general_paths_event(doc: dict, depth: int) -> None:
    """`depth`: a field nested that deep is added, around the depth where msgspec and orjson give up."""
    from attt.monitoring.normalise import _read, _read_fast

    line = json.dumps(doc, ensure_ascii=False).encode()  # integers beyond 64 bits too (orjson cannot write them)
    if depth:
        line = line[:-1] + (b", " if doc else b"") + b'"deep": ' + b"[" * depth + b"]" * depth + b"}"
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    with _default_recursion_limit():
        fast = _read_fast(line, source, NOW)
    try:
        general = _read(line, source, NOW)
    except (AttributeError, TypeError, ValueError):
        assert fast is None  # only the general path words a rejection
        return
    if fast is None or depth:  # comparing documents hundreds of levels deep would exceed the recursion limit
        return
    assert (fast.id, fast.timestamp, fast.observables, fast.dataset, fast.host) == (
        general.id,
        general.timestamp,
        general.observables,
        general.dataset,
        general.host,
    )
    assert fast.ecs == general.ecs and dict(fast.fields) == dict(general.fields)  # a key "" flattens too


@contextlib.contextmanager
def _default_recursion_limit():
    """Python's own recursion limit, which hypothesis raises while it runs a test: how deep msgspec reads depends on
    it (see `_read_fast`)."""
    raised = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(raised)


@pytest.mark.parametrize("depth", [*range(900, 1100, 10), 1023, 1024, 5000])
def test_the_typed_reader_accepts_no_line_nested_deeper_than_the_general_path_reads(depth):
    """An accepted line's document is read back with orjson (`_load_original`), which stops at 1024 levels."""
    import orjson

    from attt.monitoring.normalise import _read_fast

    line = b'{"source": {"ip": "10.1.2.3"}, "x": ' + b"[" * depth + b"]" * depth + b"}"
    if _read_fast(line, SourceRef(uuid.uuid4(), uuid.uuid4()), NOW) is not None:
        orjson.loads(line)


@pytest.mark.parametrize(
    "line",
    [
        b'{"source": {"ip": "10.1.2.3"}, "x": "\xff"}',  # invalid UTF-8 where the typed reader skips
        b'{"source.ip": "10.1.2.3"}',
        b'{"source": {"ip": 7}}',
        b'{"Event": {"System": {"EventID": 4624}}}',
        b'{"@timestamp": "yesterday"}',
        b'{"url.full": null, "url": {"full": "https://a.vn/"}}',  # a dotted key of any value, even null
        b'{"file.hash.sha256": {}}',
        b'{"Event": 0}',
    ],
)
def test_lines_the_typed_reader_leaves_to_the_general_path(line: bytes) -> None:
    from attt.monitoring.normalise import _read_fast

    assert _read_fast(line, SourceRef(uuid.uuid4(), uuid.uuid4()), NOW) is None


def test_a_number_beyond_a_double_in_an_unread_field_is_kept_and_read_back() -> None:
    """orjson refuses 1e400; the typed reader does not read that field, so the line is accepted and its document
    is read with the standard library (infinity)."""
    events, rejected = normalise_lines(
        b'{"source": {"ip": "10.1.2.3"}, "gauge": 1e400}', SourceRef(uuid.uuid4(), uuid.uuid4()), NOW
    )
    assert not rejected and events[0].observables == [("ipv4", "10.1.2.3")]
    assert events[0].ecs["gauge"] == float("inf")


def test_enrichment_remembers_answers_across_batches_up_to_a_limit(monkeypatch):
    from attt.monitoring import enrich
    from attt.monitoring.enrich import EnrichmentIndex, SystemInfo

    info = SystemInfo(uuid.uuid4(), uuid.uuid4(), "Cổng dịch vụ công", "government", 3)
    index = EnrichmentIndex.build([("10.1.0.0/16", info)])
    calls = []
    real = index.address
    index.address = lambda text: calls.append(text) or real(text)
    source = SourceRef(uuid.uuid4(), uuid.uuid4())

    def batch(*addresses):
        lines = b"\n".join(b'{"source": {"ip": "%s"}}' % a.encode() for a in addresses)
        events, _ = normalise_lines(lines, source, NOW)
        index.enrich(events)
        return [e.system_id for e in events]

    assert batch("10.1.2.3", "192.0.2.1") == [info.system_id, None]
    assert batch("10.1.2.3", "192.0.2.1") == [info.system_id, None] and calls == ["10.1.2.3", "192.0.2.1"]
    monkeypatch.setattr(enrich, "MEMO_LIMIT", 2)
    assert batch("10.1.9.9") == [info.system_id]  # the memo was full: forgotten, then this one remembered
    assert batch("10.1.2.3") == [info.system_id] and calls[-2:] == ["10.1.9.9", "10.1.2.3"]


def test_an_event_dated_beyond_two_days_ahead_takes_its_receive_time():
    """A device clock far ahead would keep its events past retention: they take the receive time, on every path
    (typed, general, EVTX, syslog) and when the document is rebuilt; the line keeps the device's time."""
    from attt.monitoring.normalise import derived_document

    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    ahead, near = NOW + dt.timedelta(days=400), NOW + dt.timedelta(days=1)
    evtx = {"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": ahead.isoformat()}}, "EventID": 1}}}
    lines = [
        json.dumps({"@timestamp": ahead.isoformat(), "source": {"ip": "10.0.0.1"}}).encode(),  # typed path
        json.dumps({"@timestamp": ahead.isoformat(), "source.ip": "10.0.0.1"}).encode(),  # general path
        json.dumps(evtx).encode(),
        json.dumps({"@timestamp": near.isoformat()}).encode(),
    ]
    events, rejected = normalise_lines(b"\n".join(lines), source, NOW)
    assert not rejected
    assert [e.timestamp for e in events] == [NOW, NOW, NOW, near]
    assert events[0].ecs["@timestamp"] == events[1].ecs["@timestamp"] == NOW.isoformat().replace("+00:00", "Z")
    assert ahead.isoformat() in events[0].ecs["event"]["original"]
    rebuilt = derived_document(events[0].original, source.id, source.organization_id, NOW)
    assert rebuilt["@timestamp"] == events[0].ecs["@timestamp"]
    syslog = SourceRef(uuid.uuid4(), uuid.uuid4(), "syslog")
    line = f"<134>1 {ahead.isoformat()} fw app - - - far ahead".encode()
    (event,), _ = normalise_lines(line, syslog, NOW)
    assert event.timestamp == NOW


@pytest.mark.parametrize("address", ["10.1.2.3\\u0000", "::1\\u0000", "10.1.2.3 ", "not an address"])
def test_an_address_field_holding_anything_enriches_to_nothing_without_failing_the_batch(address):
    """A sender may put any text in `source.ip` (a NUL included): the batch is enriched, that event maps to no
    system, the others to theirs."""
    from attt.monitoring.enrich import EnrichmentIndex, SystemInfo

    info = SystemInfo(uuid.uuid4(), uuid.uuid4(), "Cổng dịch vụ công", "government", 3)
    index = EnrichmentIndex.build([("10.1.0.0/16", info), ("::/0", info)])
    lines = b'{"source": {"ip": "%s"}}\n{"source": {"ip": "10.1.9.9"}}' % address.encode()
    events, rejected = normalise_lines(lines, SourceRef(uuid.uuid4(), uuid.uuid4()), NOW)
    assert not rejected
    index.enrich(events)
    assert [e.system_id for e in events] == [None, info.system_id]
