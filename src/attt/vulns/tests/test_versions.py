"""Version comparison and CPE matching semantics, table-driven, plus order properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attt.vulns.cpe import CPEError, attribute_matches, parse_cpe, parse_purl
from attt.vulns.feeds import Criterion
from attt.vulns.matching import ComponentKey, Indexed, key_of
from attt.vulns.versions import compare, in_range, version_key

ORDER = [
    ("1.0", "1.0.0", 0),
    ("1.0", "1.0.1", -1),
    ("1.2.3-rc1", "1.2.3", -1),
    ("1.2.3-rc1", "1.2.3-rc2", -1),
    ("1.2.3-beta", "1.2.3-rc1", -1),
    ("1.2.3-alpha", "1.2.3-beta", -1),
    ("1.2.3.dev1", "1.2.3a1", -1),
    ("2.0.0-rc1", "1.9.9", 1),
    ("1.1.1k", "1.1.1", 1),  # OpenSSL patch letters come after
    ("1.1.1k", "1.1.1j", 1),
    ("1.0a1", "1.0", -1),
    ("2019.1", "2018.4", 1),
    ("2019.1", "2019.1.1", -1),
    ("7.0.12.1", "7.0.12", 1),
    ("7.0.12.1", "7.0.13", -1),
    ("10.0.19045.4046", "10.0.19045.999", 1),  # Windows build numbers
    ("10.0.17763.5458", "10.0.19044.1", -1),
    ("12.1-55.300", "12.1-55.29", 1),  # NetScaler build
    ("13.1-49.15", "13.1-37.164", 1),
    ("1.2.3-1", "1.2.3", 1),  # Debian revision
    ("1.10", "1.9", 1),
    ("01.02", "1.2", 0),
    ("2.4.57", "2.4.57-final", 0),
    ("5.0M3", "5.0", -1),
    ("1.0-SP1", "1.0", 1),
]


@pytest.mark.parametrize(("a", "b", "expected"), ORDER)
def test_order(a, b, expected):
    assert compare(a, b) == expected
    assert compare(b, a) == -expected


RANGES = [
    ("2.3.31", {"start_including": "2.2.3", "end_excluding": "2.3.32"}, True),
    ("2.3.32", {"start_including": "2.2.3", "end_excluding": "2.3.32"}, False),
    ("2.2.3", {"start_including": "2.2.3", "end_excluding": "2.3.32"}, True),
    ("2.2.3", {"start_excluding": "2.2.3"}, False),
    ("7.0.11", {"start_including": "7.0.0", "end_including": "7.0.11"}, True),
    ("7.0.12", {"start_including": "7.0.0", "end_including": "7.0.11"}, False),
    ("7.0.12-rc1", {"end_excluding": "7.0.12"}, True),
    ("12.1-55.299", {"start_including": "12.1", "end_excluding": "12.1-55.300"}, True),
    ("13.0-92.19", {"start_including": "13.0", "end_excluding": "13.0-92.19"}, False),
]


@pytest.mark.parametrize(("version", "bounds", "expected"), RANGES)
def test_ranges(version, bounds, expected):
    assert in_range(version, **bounds) is expected


def _crit(cpe: str, **bounds) -> Indexed:
    parsed = parse_cpe(cpe)
    return Indexed.of(
        1, Criterion(cpe, parsed.part, parsed.vendor, parsed.product, parsed.version, parsed.extras(), **bounds)
    )


def _key(cpe: str) -> ComponentKey:
    return key_of(cpe23=cpe)


CPE_CASES = [
    # criterion, bounds, component, matches
    ("cpe:2.3:a:apache:struts:*:*:*:*:*:*:*:*", {}, "cpe:2.3:a:apache:struts:2.3.1:*:*:*:*:*:*:*", True),
    ("cpe:2.3:a:apache:struts:*:*:*:*:*:*:*:*", {}, "cpe:2.3:a:apache:struts:*:*:*:*:*:*:*:*", True),
    (
        "cpe:2.3:a:apache:struts:*:*:*:*:*:*:*:*",
        {"end_excluding": "2.3.32"},
        "cpe:2.3:a:apache:struts:*:*:*:*:*:*:*:*",
        False,
    ),  # unknown version vs a range: no claim
    ("cpe:2.3:a:apache:struts:2.3.1:*:*:*:*:*:*:*", {}, "cpe:2.3:a:apache:struts:2.3.1:*:*:*:*:*:*:*", True),
    ("cpe:2.3:a:apache:struts:2.3.1:*:*:*:*:*:*:*", {}, "cpe:2.3:a:apache:struts:2.3.2:*:*:*:*:*:*:*", False),
    ("cpe:2.3:h:d-link:dir-600:-:*:*:*:*:*:*:*", {}, "cpe:2.3:h:d-link:dir-600:-:*:*:*:*:*:*:*", True),
    ("cpe:2.3:h:d-link:dir-600:-:*:*:*:*:*:*:*", {}, "cpe:2.3:h:d-link:dir-600:b1:*:*:*:*:*:*:*", False),
    (
        "cpe:2.3:a:citrix:adc:*:*:*:*:fips:*:*:*",
        {"start_including": "12.1", "end_excluding": "12.1-55.300"},
        "cpe:2.3:a:citrix:adc:12.1-55.200:*:*:*:fips:*:*:*",
        True,
    ),
    (
        "cpe:2.3:a:citrix:adc:*:*:*:*:fips:*:*:*",
        {"start_including": "12.1", "end_excluding": "12.1-55.300"},
        "cpe:2.3:a:citrix:adc:12.1-55.200:*:*:*:-:*:*:*",
        False,
    ),
    (
        "cpe:2.3:a:citrix:adc:*:*:*:*:-:*:*:*",
        {"start_including": "13.0"},
        "cpe:2.3:a:citrix:adc:13.0-1.1:*:*:*:*:*:*:*",
        True,
    ),  # unspecified edition is not held against
    (
        "cpe:2.3:o:microsoft:windows_10_22h2:*:*:*:*:*:*:*:*",
        {"end_excluding": "10.0.19045.4046"},
        "cpe:2.3:o:microsoft:windows_10_22h2:10.0.19045.3803:*:*:*:*:*:*:*",
        True,
    ),
    (
        "cpe:2.3:o:microsoft:windows_10_22h2:*:*:*:*:*:*:*:*",
        {"end_excluding": "10.0.19045.4046"},
        "cpe:2.3:o:microsoft:windows_10_22h2:10.0.19045.4046:*:*:*:*:*:*:*",
        False,
    ),
    ("cpe:2.3:a:vendor:prod:1.*:*:*:*:*:*:*:*", {}, "cpe:2.3:a:vendor:prod:1.4:*:*:*:*:*:*:*", True),
    ("cpe:2.3:o:apache:struts:*:*:*:*:*:*:*:*", {}, "cpe:2.3:a:apache:struts:2.3.1:*:*:*:*:*:*:*", False),
]


@pytest.mark.parametrize(("criterion", "bounds", "component", "expected"), CPE_CASES)
def test_cpe_matching(criterion, bounds, component, expected):
    assert _crit(criterion, **bounds).matches(_key(component)) is expected


def test_attribute_semantics():
    assert attribute_matches("*", "anything")
    assert attribute_matches("-", "-") and not attribute_matches("-", "x")
    assert attribute_matches("x", "*")


def test_parsers_refuse_garbage():
    for bad in ["", "cpe:2.3:a:x", "cpe:/a:x:y", 5, None]:
        with pytest.raises(CPEError):
            parse_cpe(bad)
    with pytest.raises(CPEError):
        parse_purl("pkg:npm")
    assert parse_purl("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").version == "2.14.1"
    assert key_of(purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").product == "log4j"
    assert key_of(vendor="Apache", product="HTTP Server", version="2.4.57") is None  # no reviewed mapping
    mapped = key_of(
        vendor="Apache",
        product="HTTP Server",
        version="2.4.57",
        mappings={"text:apache|http_server": ("a", "apache", "http_server")},
    )
    assert (mapped.vendor, mapped.product, mapped.version) == ("apache", "http_server", "2.4.57")


versions = st.lists(
    st.one_of(
        st.integers(0, 30).map(str), st.sampled_from(["rc", "beta", "alpha", "a", "b", "k", "sp", "dev", "final"])
    ),
    min_size=1,
    max_size=6,
).flatmap(lambda parts: st.sampled_from([".", "-", "_", ""]).map(lambda sep: sep.join(parts)))


@given(versions, versions)
def test_antisymmetry(a, b):
    assert compare(a, b) == -compare(b, a)


@given(versions, versions, versions)
def test_transitivity(a, b, c):
    if compare(a, b) <= 0 and compare(b, c) <= 0:
        assert compare(a, c) <= 0


@given(st.text(max_size=40))
def test_any_text_has_a_key(text):
    assert isinstance(version_key(text), tuple)


def test_a_version_written_as_a_tag_is_the_release():
    """A component registered as "v2.4.1" (a Git tag) sorted before every release: the range >= 2.0, < 2.5 missed
    it and "< 1.0" matched it, so the system got the warnings of the oldest versions instead of its own."""
    assert compare("v2.4.1", "2.4.1") == 0 and compare("V3.1", "3.1.0") == 0
    assert in_range("v2.4.1", start_including="2.0", end_excluding="2.5")
    assert not in_range("v2.4.1", end_excluding="1.0")
    assert compare("dev1", "1") == -1 and compare("rev2", "2") != 0  # only a lone leading "v" is a tag prefix
