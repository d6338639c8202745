"""Feed parsers on the real samples (hand-checked) and fuzzed with random JSON: only FeedError escapes."""

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attt.vulns import feeds
from attt.vulns.feeds import FeedError

DATA = Path("/work/shared/testdata")
needs_data = pytest.mark.skipif(not DATA.exists(), reason="shared test data not present")


def _load(path: str) -> feeds.Feed:
    return feeds.load((DATA / path).read_bytes())


@needs_data
def test_nvd_api_struts_with_and_configurations():
    feed = _load("nvd/nvd-api-2.0/CVE-2017-5638.json")
    assert feed.kind == "nvd" and not feed.skipped
    record = feed.records[0]
    assert record.cve_id == "CVE-2017-5638" and record.cvss_score == 9.8 and record.kev_added
    struts = [c for c in record.criteria if c.product == "struts" and c.config == 0]
    assert {(c.start_including, c.end_excluding) for c in struts} == {("2.2.3", "2.3.32"), ("2.5.0", "2.5.10.1")}
    anded = [c for c in record.criteria if c.needs_platform]
    assert anded and all(c.vulnerable for c in anded)
    assert any(not c.vulnerable for c in record.criteria)  # the platform criteria are kept


@needs_data
def test_nvd_api_netscaler_editions():
    record = _load("nvd/nvd-api-2.0/CVE-2023-4966.json").records[0]
    fips = [c for c in record.criteria if c.extras[3] == "fips"]
    assert fips and fips[0].end_excluding == "12.1-55.300"


@needs_data
def test_cve5_cna_text_and_cisa_cpes():
    fortios = _load("nvd/CVE-2023-27997.json").records[0]
    keys = {(c.vendor, c.product) for c in fortios.criteria}
    assert ("fortinet", "fortios") in keys
    ranged = [c for c in fortios.criteria if c.product == "fortios" and c.start_including == "7.2.0"]
    assert ranged[0].end_including == "7.2.4"
    flash = _load("nvd/CVE-2011-0611.json").records[0]
    reader = [c for c in flash.criteria if c.product == "reader"]
    assert {(c.start_including, c.end_excluding) for c in reader} == {("9.0", "9.4.4"), ("10.0", "10.0.3")}
    player = next(c for c in flash.criteria if c.product == "flash_player")
    assert player.start_including == "" and player.end_excluding == "10.2.154.27"
    assert flash.kev_added == "2022-03-03"


@needs_data
def test_every_sample_parses():
    total = 0
    for path in sorted((DATA / "nvd").rglob("CVE-*.json")):
        feed = feeds.load(path.read_bytes())
        assert len(feed.records) == 1, path
        total += 1
    assert total == 120
    kev = _load("kev/known_exploited_vulnerabilities.json")
    assert len(kev.records) == kev_count() and not kev.skipped
    assert len(_load("kev/known_exploited_vulnerabilities.csv").records) == kev_count()


def kev_count() -> int:
    return json.loads((DATA / "kev/known_exploited_vulnerabilities.json").read_text())["count"]


def test_epss_and_csaf():
    epss = feeds.load(
        b"#model_version:v2025.03.14,score_date:2025-08-25\ncve,epss,percentile\n"
        b"CVE-2017-5638,0.97,0.999\nCVE-X,0.1,0.2\nCVE-2020-1,2,0.1\n"
    )
    assert epss.kind == "epss" and len(epss.records) == 1 and len(epss.skipped) == 2
    csaf = {
        "document": {"csaf_version": "2.0", "title": "x"},
        "product_tree": {
            "branches": [
                {
                    "product": {
                        "product_id": "P1",
                        "name": "X 1.0",
                        "product_identification_helper": {"cpe": "cpe:2.3:a:x:y:1.0:*:*:*:*:*:*:*"},
                    }
                }
            ]
        },
        "vulnerabilities": [{"cve": "CVE-2024-0001", "product_status": {"known_affected": ["P1", "P2"]}}],
    }
    feed = feeds.load(json.dumps(csaf).encode())
    assert feed.kind == "csaf" and feed.records[0].criteria[0].version == "1.0"
    assert feed.skipped == [("CVE-2024-0001", "product P2 has no CPE")]


def test_whole_file_refusals():
    for data in [b"", b"\xff\xfe", b"{not json", b"hello", b'{"a": 1}', b"[1,2]"]:
        with pytest.raises(FeedError):
            feeds.load(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "cve",
                    "cveID",
                    "cveMetadata",
                    "containers",
                    "vulnerabilities",
                    "configurations",
                    "nodes",
                    "cpeMatch",
                    "criteria",
                    "affected",
                    "versions",
                    "cpes",
                    "vendor",
                    "product",
                    "document",
                    "csaf_version",
                    "product_tree",
                    "metrics",
                    "dataType",
                    "cveId",
                    "version",
                    "lessThan",
                    "status",
                    "operator",
                    "descriptions",
                    "catalogVersion",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fuzz_json_feeds(document):
    try:
        feed = feeds.parse_json(document)
    except FeedError:
        return
    assert isinstance(feed.records, list) and isinstance(feed.skipped, list)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes(data):
    with contextlib.suppress(FeedError):
        feeds.load(data)
