"""The detection engine: Sigma semantics on tiny hand-written rules, index ≡ naive, the regression suite,
the EVTX JSON extractor and the indicator index."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sigma.types import SpecialChars

from attt.detection.engine import IndicatorIndex, RuleSet, conformance, fields_from_evtx_json, iter_json_objects
from attt.detection.engine.compiler import glob_regex
from attt.detection.engine.evaluator import compile_node, lower_fields

SIGMA = Path(__file__).resolve().parents[5] / "shared" / "testdata" / "sigma"
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def rule(detection: str, category: str = "process_creation", rule_id: str = uid(1)) -> RuleSet:
    text = f"""
title: test rule
id: {rule_id}
author: tester
logsource:
    product: windows
    category: {category}
detection:
{detection}
level: high
"""
    return RuleSet.from_texts([("t.yml", text)])


def proc(**fields) -> dict:
    return {"Channel": SYSMON, "EventID": 1} | fields


def fires(ruleset: RuleSet, event: dict) -> bool:
    indexed = [r.id for r in ruleset.match(event)]
    assert indexed == [r.id for r in ruleset.match_naive(event)]
    return bool(indexed)


# --- modifiers and condition semantics ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detection", "event", "expected"),
    [
        ("    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel", {"Image": "C:\\Windows\\CMD.EXE"}, True),
        ("    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel", {"Image": "C:\\x\\notcmd.exe"}, False),
        ("    sel:\n        CommandLine|contains: ' -EnC '\n    condition: sel", {"CommandLine": "ps -enc AAA"}, True),
        ("    sel:\n        CommandLine|startswith: 'net '\n    condition: sel", {"CommandLine": "NET user"}, True),
        ("    sel:\n        CommandLine: 'a?c*z'\n    condition: sel", {"CommandLine": "ABCxyz"}, True),
        ("    sel:\n        CommandLine: 'a?c*z'\n    condition: sel", {"CommandLine": "ac z"}, False),
        (
            "    sel:\n        CommandLine|contains|all: ['a1', 'b2']\n    condition: sel",
            {"CommandLine": "b2 a1"},
            True,
        ),
        ("    sel:\n        CommandLine|contains|all: ['a1', 'b2']\n    condition: sel", {"CommandLine": "a1"}, False),
        ("    sel:\n        CommandLine|re: 'ab+c'\n    condition: sel", {"CommandLine": "xABBC"}, False),
        ("    sel:\n        CommandLine|re|i: 'ab+c'\n    condition: sel", {"CommandLine": "xABBC"}, True),
        ("    sel:\n        CommandLine|windash|contains: ' -f '\n    condition: sel", {"CommandLine": "x /f y"}, True),
        (
            "    sel:\n        CommandLine|base64offset|contains: 'http'\n    condition: sel",
            {"CommandLine": "x aHR0cDovL y"},
            True,
        ),
        ("    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel", {"DestinationIp": "10.2.3.4"}, True),
        (
            "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel",
            {"DestinationIp": "11.2.3.4"},
            False,
        ),
        ("    sel:\n        ParentImage|exists: false\n    condition: sel", {"Image": "x"}, True),
        ("    sel:\n        ParentImage|exists: true\n    condition: sel", {"Image": "x"}, False),
        ("    sel:\n        TerminalSessionId|gt: 2\n    condition: sel", {"TerminalSessionId": 3}, True),
        ("    sel:\n        TerminalSessionId|lte: 2\n    condition: sel", {"TerminalSessionId": 3}, False),
        ("    sel:\n        Image|fieldref: ParentImage\n    condition: sel", {"Image": "A", "ParentImage": "a"}, True),
        ("    sel:\n        ParentImage: null\n    condition: sel", {"Image": "a"}, True),
        ("    sel:\n        Image|cased: 'Cmd.exe'\n    condition: sel", {"Image": "cmd.exe"}, False),
        ("    sel:\n        TerminalSessionId: 3\n    condition: sel", {"TerminalSessionId": 3}, True),
        ("    keywords:\n        - 'mimikatz'\n    condition: keywords", {"CommandLine": "run MimiKatz now"}, True),
        (
            "    a:\n        Image: x\n    b:\n        User: u\n    condition: a and not b",
            {"Image": "X", "User": "U"},
            False,
        ),
        ("    a:\n        Image: x\n    b:\n        User: u\n    condition: a and not b", {"Image": "X"}, True),
        ("    s_1:\n        Image: x\n    s_2:\n        User: u\n    condition: 1 of s_*", {"User": "U"}, True),
        ("    s_1:\n        Image: x\n    s_2:\n        User: u\n    condition: all of s_*", {"User": "U"}, False),
        (
            "    s_1:\n        Image: x\n    s_2:\n        User: u\n    condition: all of them",
            {"Image": "x", "User": "u"},
            True,
        ),
        (
            "    a:\n        Image: x\n    b:\n        User: u\n    c:\n        Computer: c\n"
            "    condition: (a or b) and c",
            {"User": "u", "Computer": "C"},
            True,
        ),
    ],
)
def test_sigma_semantics(detection: str, event: dict, expected: bool) -> None:
    ruleset = rule(detection)
    assert not ruleset.unsupported
    assert fires(ruleset, proc(**event)) is expected


def test_log_source_restricts_rules() -> None:
    ruleset = rule("    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel")
    assert fires(ruleset, proc(Image="c:\\cmd.exe"))
    assert not fires(ruleset, {"Channel": SYSMON, "EventID": 7, "Image": "c:\\cmd.exe"})
    assert not fires(ruleset, {"Channel": "Security", "EventID": 1, "Image": "c:\\cmd.exe"})


def test_security_4688_is_seen_under_sysmon_names() -> None:
    ruleset = rule("    sel:\n        Image|endswith: '\\whoami.exe'\n        User|contains: admin\n    condition: sel")
    event = {"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\Windows\\whoami.exe"}
    assert fires(ruleset, event | {"SubjectUserName": "Administrator"})
    assert not fires(ruleset, event | {"SubjectUserName": "nv001"})
    assert ruleset.rules[0].matches(event | {"SubjectUserName": "admin"})


def test_unsupported_rules_are_reported_not_raised() -> None:
    head = "logsource: {product: windows}\ndetection:\n"
    items = [
        (
            "agg.yml",
            f"title: a\nid: {uid(1)}\n{head}  s: {{A: b}}\n  condition: s | count() > 5\n",
        ),
        ("corr.yml", f"title: c\nid: {uid(2)}\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 1h\n"),
        (
            "ph.yml",
            f"title: p\nid: {uid(3)}\n{head}  s: {{A|expand: '%x%'}}\n  condition: s\n",
        ),
        ("bad.yml", "title: [unclosed"),
        (
            "undef.yml",
            f"title: u\nid: {uid(4)}\n{head}  s: {{A: b}}\n  condition: t\n",
        ),
    ]
    ruleset = RuleSet.from_texts(items)
    reasons = dict(ruleset.unsupported)
    assert set(reasons) == {uid(1), uid(2), uid(3), "bad.yml", uid(4)}
    assert "aggregation" in reasons[uid(1)] and "correlation" in reasons[uid(2)] and "placeholder" in reasons[uid(3)]
    assert ruleset.rules == []


def test_attribution_is_kept() -> None:
    compiled = rule("    sel:\n        Image: x\n    condition: sel", rule_id=uid(9)).rules[0]
    assert (compiled.id, compiled.author, compiled.level, compiled.title) == (uid(9), "tester", "high", "test rule")


# --- properties --------------------------------------------------------------------------------------------

_TEXT = st.text(alphabet="abcAB\\. -*?", max_size=12)
_FIELDS = ("Image", "CommandLine", "User")
_MODIFIERS = ("", "|contains", "|startswith", "|endswith", "|contains|all", "|re")


@st.composite
def random_rule(draw) -> str:
    selections = []
    for number in range(draw(st.integers(1, 3))):
        lines = []
        for name in draw(st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=2, unique=True)):
            modifier = draw(st.sampled_from(_MODIFIERS))
            alphabet = "abc." if modifier == "|re" else "abcAB\\. -*?"
            values = draw(st.lists(st.text(alphabet=alphabet, min_size=1, max_size=5), min_size=1, max_size=3))
            lines.append(f"        {name}{modifier}: {json.dumps(values)}")
        selections.append(f"    sel_{number}:\n" + "\n".join(lines))
    condition = draw(st.sampled_from(["1 of sel_*", "all of sel_*", "not sel_0", "sel_0 or not 1 of sel_*"]))
    return "\n".join(selections) + f"\n    condition: {condition}"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(random_rule(), min_size=1, max_size=4),
    events=st.lists(st.dictionaries(st.sampled_from(_FIELDS), _TEXT), min_size=1, max_size=5),
)
def test_index_equals_naive_evaluation(rules: list[str], events: list[dict]) -> None:
    texts = [
        (
            f"r{n}.yml",
            f"title: t\nid: {uid(n)}\nlogsource: {{product: windows, category: process_creation}}\n"
            f"detection:\n{body}\n",
        )
        for n, body in enumerate(rules)
    ]
    ruleset = RuleSet.from_texts(texts)
    for event in events:
        fields = proc(**event)
        assert [r.id for r in ruleset.match(fields)] == [r.id for r in ruleset.match_naive(fields)]
        low = lower_fields(fields)
        for compiled in ruleset.rules:  # generated code ≡ the closure tree
            assert compiled.predicate(fields, low) == compile_node(compiled.tree)(fields, low)


@given(pattern=st.text(alphabet="ab*?.", max_size=8), text=st.text(alphabet="abAB.", max_size=8))
def test_wildcards_match_like_fnmatch(pattern: str, text: str) -> None:
    tokens = [
        SpecialChars.WILDCARD_MULTI if c == "*" else SpecialChars.WILDCARD_SINGLE if c == "?" else c for c in pattern
    ]
    ours = re.fullmatch(glob_regex(tokens), text.lower(), re.DOTALL) is not None
    assert ours == fnmatch.fnmatchcase(text.lower(), pattern)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=15,
)


@given(system=_JSON, data=_JSON, user_data=_JSON)
def test_evtx_extractor_never_raises(system, data, user_data) -> None:
    fields = fields_from_evtx_json({"Event": {"System": system, "EventData": data, "UserData": user_data}})
    assert isinstance(fields, dict)
    assert all(isinstance(key, str) for key in fields)


def test_evtx_shapes() -> None:
    obj = {
        "Event": {
            "System": {"EventID": {"#text": "4688"}, "Channel": "Security", "Provider": {"#attributes": {"Name": "P"}}},
            "EventData": {"Data": [{"#attributes": {"Name": "NewProcessName"}, "#text": "C:\\a.exe"}]},
        }
    }
    assert fields_from_evtx_json(obj) == {
        "EventID": 4688,
        "Channel": "Security",
        "Provider_Name": "P",
        "NewProcessName": "C:\\a.exe",
    }
    defender = {"Event": {"System": {"EventID": 1119}, "EventData": {"Threat Name": "EICAR"}}}
    assert fields_from_evtx_json(defender)["ThreatName"] == "EICAR"
    assert [o["a"] for o in iter_json_objects('{"a": 1}\n{"a": 2}  ')] == [1, 2]


# --- the SigmaHQ regression suite --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def windows_rules(tmp_path_factory) -> RuleSet:
    if not SIGMA.is_dir():
        pytest.skip("shared Sigma test data not present")
    return RuleSet.from_paths(conformance.rule_paths(SIGMA), cache_dir=tmp_path_factory.mktemp("sigma-cache"))


def test_regression_suite_conformance(windows_rules: RuleSet) -> None:
    assert len(windows_rules.rules) >= 2400
    tests, skipped = conformance.load_tests(SIGMA / "regression_data")
    assert len(tests) == 202 and len(skipped) == 1
    report = conformance.run(windows_rules, tests)
    assert report.pass_rate >= 0.975, report.failures
    for name in (
        "rules/windows/process_creation/proc_creation_win_sc_stop_service",
        "rules/windows/builtin/wmi/win_wmi_activity_nteventlogfile_cleareventlog",
        "rules-emerging-threats/2026/Exploits/RedSun/win_defender_exploit_redsun_tiering_engine_detected_as_eicar",
        "rules/windows/builtin/taskscheduler/win_taskscheduler_susp_schtasks_delete_or_disable",
    ):
        assert name in report.passed, report.failures.get(name)
    # unrelated rules fire rarely: at most a few per test on average
    assert sum(report.other_rule_hits.values()) < 2 * len(tests)


def test_regression_index_equals_naive(windows_rules: RuleSet) -> None:
    tests, _ = conformance.load_tests(SIGMA / "regression_data")
    for test in tests[::4]:
        for fields in test.events:
            assert [r.id for r in windows_rules.match(fields)] == [r.id for r in windows_rules.match_naive(fields)]


def test_rule_cache_round_trip(tmp_path: Path) -> None:
    text = f"title: t\nid: {uid(5)}\nlogsource: {{product: windows, category: process_creation}}\n"
    text += "detection:\n  s: {Image|endswith: '\\\\x.exe'}\n  condition: s\n"
    first = RuleSet.from_texts([("c.yml", text)], cache_dir=tmp_path)
    second = RuleSet.from_texts([("c.yml", text)], cache_dir=tmp_path)
    assert list(tmp_path.glob("*/*.pickle"))
    event = proc(Image="C:\\X.EXE")
    assert [r.id for r in first.match(event)] == [r.id for r in second.match(event)] == [uid(5)]


# --- indicators --------------------------------------------------------------------------------------------


def test_indicator_kinds() -> None:
    index = IndicatorIndex.build(
        [
            ("ipv4", "203.0.113.7", "ip"),
            ("ipv4", "10.0.0.0/8", "net8"),
            ("ipv4", "10.1.0.0/16", "net16"),
            ("ipv6", "2001:db8::/32", "v6"),
            ("domain", "evil.example", "dom"),
            ("url", "HTTP://Evil.Example:80/a?b=1#frag", "url"),
            ("sha256", "A" * 64, "hash"),
            ("email", "Bad@Evil.Example", "mail"),
            ("phone", "+84 912 345 678", "phone"),
            ("bank_account", "0123-4567-89", "bank"),
            ("md5", "not-a-hash", "rejected"),
        ]
    )
    assert index.rejected == [("md5", "not-a-hash")]
    assert index.match([("ipv4", "10.1.2.3")]) == ["net16", "net8"]
    assert index.match([("ipv4", "203.0.113.7"), ("ipv6", "2001:db8::1")]) == ["ip", "v6"]
    assert index.match([("domain", "a.b.EVIL.example."), ("domain", "notevil.example")]) == ["dom"]
    assert index.match([("url", "http://evil.example/a?b=1")]) == ["url"]
    assert index.match([("sha256", "a" * 64), ("email", "bad@evil.example")]) == ["hash", "mail"]
    assert index.match([("phone", "0912345678"), ("bank_account", "0123456789")]) == ["phone", "bank"]


_NETWORK = st.builds(
    lambda address, prefix: ipaddress.ip_network(f"{ipaddress.IPv4Address(address)}/{prefix}", strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)


@settings(max_examples=200, deadline=None)
@given(networks=st.lists(_NETWORK, min_size=1, max_size=12), probes=st.lists(st.integers(0, 2**32 - 1), max_size=12))
def test_cidr_containment_matches_ipaddress(networks, probes) -> None:
    index = IndicatorIndex.build(("ipv4", str(network), position) for position, network in enumerate(networks))
    for probe in probes + [int(n.network_address) for n in networks] + [int(n.broadcast_address) for n in networks]:
        address = ipaddress.IPv4Address(probe)
        expected = {position for position, network in enumerate(networks) if address in network}
        assert set(index.match([("ipv4", str(address))])) == expected


def test_rule_cache_refuses_a_shared_directory(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone could plant a pickle here: never read from nor write to it
    text = f"title: t\nid: {uid(6)}\nlogsource: {{product: windows, category: process_creation}}\n"
    text += "detection:\n  s: {Image: x}\n  condition: s\n"
    ruleset = RuleSet.from_texts([("c.yml", text)], cache_dir=shared)
    assert [r.id for r in ruleset.rules] == [uid(6)]
    assert not list(shared.rglob("*.pickle"))


_URL_ALPHABET = "abcXYZ019-._~:/?#[]@!$&'()*+,;=% \t\u00e9"
_HOST = st.one_of(st.text(alphabet="abc19-.", min_size=1, max_size=12), st.text(alphabet="abcX019-.*:@[]%", min_size=1))
_PATH = st.one_of(st.text(alphabet="abc/-_.~=&", max_size=15), st.text(alphabet=_URL_ALPHABET, max_size=15))


@settings(max_examples=1500, deadline=None)
@given(
    kind=st.sampled_from(["url", "url", "url", "domain", "md5", "sha1", "sha256"]),
    value=st.one_of(
        st.text(alphabet=_URL_ALPHABET, max_size=40),
        st.text(alphabet="abcX019-.*", min_size=1, max_size=15),
        st.builds(
            lambda scheme, host, path, tail: f"{scheme}://{host}/{path}{tail}",
            st.sampled_from(["http", "https", "ftp", "HTTP", "h2"]),
            _HOST,
            _PATH,
            st.sampled_from(["", "?", "?a=1", "#f", ":80"]),
        ),
        st.text(alphabet="0123456789abcdefABCDEFg", min_size=31, max_size=65),
    ),
)
@example(kind="url", value="http://ab./x")
@example(kind="url", value="http://ab/x?")
@example(kind="url", value="http://ab/x#f")
@example(kind="url", value="http://a:8080/x")
@example(kind="url", value="http://*.ab/x")
@example(kind="domain", value="ab.vn.")
@example(kind="domain", value="*.ab.vn")
@example(kind="sha1", value="g" * 40)
def test_canonical_fast_path_agrees_with_normalise(kind: str, value: str) -> None:
    """The no-parse path `match` takes for canonical values gives the key `normalise` would."""
    from attt.detection.engine.indicators import _canonical, normalise

    key = _canonical(kind, value)
    if key is not None:
        assert key == normalise(kind, value)


def test_match_gives_each_indicator_once_in_first_hit_order() -> None:
    index = IndicatorIndex.build(
        [("ipv4", "10.0.0.0/8", "net"), ("domain", "example.vn", "dom"), ("domain", "a.example.vn", "sub")]
    )
    hits = index.match(
        [("domain", "x.a.example.vn"), ("ipv4", "10.1.1.1"), ("domain", "example.vn"), ("ipv4", "10.2.2.2")]
    )
    assert hits == ["sub", "dom", "net"]


def test_remembered_answers_are_the_same_and_bounded(monkeypatch) -> None:
    from attt.detection.engine import indicators

    monkeypatch.setattr(indicators, "MEMO_LIMIT", 3)
    index = IndicatorIndex.build([("ipv4", "10.0.0.0/8", "net"), ("domain", "example.vn", "dom")])
    candidates = [("domain", "x.example.vn"), ("ipv4", "10.9.9.9"), ("ipv4", "8.8.8.8"), ("domain", "b.vn")]
    first = [index.match([c]) for c in candidates]
    assert first == [["dom"], ["net"], [], []]
    assert len(index._memo) <= 3  # forgotten at the limit
    assert [index.match([c]) for c in candidates] == first
    assert index.match([("url", "https://example.vn/")]) == [] and index.match([("ipv4", 7)]) == []


_CANDIDATE = st.sampled_from(
    [
        ("domain", "x.example.vn"),
        ("domain", "example.vn"),
        ("domain", "b.vn"),
        ("ipv4", "10.9.9.9"),
        ("ipv4", "8.8.8.8"),
        ("ipv4", "203.0.113.7"),
        ("url", "http://evil.example/a"),
        ("url", "HTTP://EVIL.example/a"),
        ("sha256", "a" * 64),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(st.lists(st.lists(_CANDIDATE, max_size=4), max_size=6), min_size=1, max_size=4),
    limit=st.integers(1, 12),
)
def test_match_each_is_match_per_list(monkeypatch, batches, limit) -> None:
    """Batch after batch, with answers forgotten at any limit, `match_each` names the lists `match` finds hits in,
    with the same refs."""
    from attt.detection.engine import indicators

    monkeypatch.setattr(indicators, "MEMO_LIMIT", limit)
    items = [("ipv4", "10.0.0.0/8", "net"), ("ipv4", "203.0.113.7", "ip"), ("domain", "example.vn", "dom")]
    items += [("url", "http://evil.example/a", "url"), ("sha256", "a" * 64, "hash")]
    batched, single = IndicatorIndex.build(items), IndicatorIndex.build(items)
    for lists in batches:
        expected = [(n, refs) for n, candidates in enumerate(lists) if (refs := single.match(candidates))]
        assert batched.match_each(lists) == expected
        assert len(batched._hitting) <= len(batched._memo) <= limit


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=45), st.ip_addresses().map(str).map(lambda a: f" [{a}] ")))
@example(text="1.2.3.4\x00")
@example(text="::1\x00")
@example(text="fe80::1%eth0")
def test_ip_to_int_reads_any_text_without_raising(text: str) -> None:
    """Any text a sender put where an address goes (a NUL included) is an address or None, never an error: an
    error would fail detection for the whole batch."""
    from attt.detection.engine.evaluator import ip_to_int

    parsed = ip_to_int(text)
    if parsed is not None:
        bare = text.strip().removeprefix("[").removesuffix("]").split("%", 1)[0]
        assert parsed == (ipaddress.ip_address(bare).version, int(ipaddress.ip_address(bare)))
    index = IndicatorIndex.build([("ipv4", "10.0.0.0/8", "net")])
    inside = parsed is not None and parsed[0] == 4 and parsed[1] >> 24 == 10
    expected = [(0, ["net"])] if inside else []
    assert index.match_each([[("ipv4", text)], [("ipv4", "10.1.1.1")]]) == [*expected, (1, ["net"])]
