"""Feed parsers on the real samples (hand-checked) and fuzzed with random JSON: only FeedError escapes; dates
are YYYY-MM-DD or reported; a gzip file is unpacked no further than the size limit."""

import contextlib
import csv
import datetime
import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attt.vulns import feeds
from attt.vulns.feeds import FeedError
from attt.vulns.matching import ANY, ComponentKey, CriteriaIndex

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
def test_cve5_default_affected_leaves_out_the_unaffected_ranges():
    """CISA's record of Jenkins CVE-2024-23897 says every version is affected except the fixed lines (before
    1.606, LTS 2.426.3+, 2.440.1+, 2.442 and later): every Jenkins got the warning, the fixed ones too."""
    record = _load("nvd/CVE-2024-23897.json").records[0]
    index = CriteriaIndex()
    for criterion in record.criteria:
        index.add(record.cve_id, criterion)
    versions = ["1.500", "1.606", "2.426.2", "2.426.3", "2.426.4", "2.430", "2.440", "2.440.1", "2.441", "2.442"]
    hit = [
        v for v in [*versions, "2.450"] if index.lookup(ComponentKey("a", "jenkins", "jenkins", v, (ANY,) * 7, "cpe"))
    ]
    assert hit == ["1.606", "2.426.2", "2.430", "2.440", "2.441"]


def test_cve5_default_affected_without_affected_entries_is_every_version_not_named_unaffected():
    """A record saying only "defaultStatus: affected" concerns every version; an unaffected exact version is
    left out, and listed affected ranges are taken as they are (most CNAs list them under that default)."""
    entry = {"vendor": "Acme", "product": "Gate", "defaultStatus": "affected", "versions": []}
    (everything,) = feeds._cve5_criteria(entry, [])
    assert (everything.version, everything.start_including, everything.end_excluding) == (ANY, "", "")
    entry["versions"] = [{"version": "2.0", "status": "unaffected"}]
    below, above = feeds._cve5_criteria(entry, [])
    assert (below.end_excluding, above.start_excluding) == ("2.0", "2.0")
    entry["versions"].append({"version": "1.0", "lessThan": "1.5", "status": "affected"})
    (listed,) = feeds._cve5_criteria(entry, [])
    assert (listed.start_including, listed.end_excluding) == ("1.0", "1.5")
    entry["versions"] = [{"version": "0", "lessThan": "*", "status": "unaffected"}]
    with pytest.raises(ValueError, match="no affected version"):
        feeds._cve5_criteria(entry, [])


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
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["CVE-2024-0001", "2024-01-01", "2024-01-01T10:00:00", "25/8/2025", "2024-02-30"]),
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
                    "dateAdded",
                    "dueDate",
                    "cisaExploitAdd",
                    "cisaActionDue",
                    "published",
                    "lastModified",
                    "datePublished",
                    "dateUpdated",
                    "other",
                    "type",
                    "content",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def _is_date_or_empty(text: str) -> bool:
    if not text:
        return True
    datetime.date.fromisoformat(text[:10])  # raises if not
    return len(text) == 10 or text[10] in "T "


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fuzz_json_feeds(document):
    try:
        feed = feeds.parse_json(document)
    except FeedError:
        return
    assert isinstance(feed.records, list) and isinstance(feed.skipped, list)
    for record in feed.records:  # what reaches the import is a date or nothing (else it is in `skipped`)
        if isinstance(record, feeds.KEVEntry):
            assert record.date_added and _is_date_or_empty(record.date_added) and _is_date_or_empty(record.due_date)
        elif isinstance(record, feeds.VulnRecord):
            assert all(
                _is_date_or_empty(d) for d in (record.published, record.modified, record.kev_added, record.kev_due)
            )


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes(data):
    with contextlib.suppress(FeedError):
        feeds.load(data)


# --- Dates ----------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.dates(), st.sampled_from(["%d/%m/%Y", "%m/%d/%Y", "%-d/%-m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y"]))
def test_a_date_is_taken_only_as_yyyy_mm_dd(day, spreadsheet_form):
    iso = f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    assert feeds._date_text(iso, "dateAdded") == iso
    assert feeds._date_text(iso + "T10:00:00.000Z", "published", 32) == iso + "T10:00:00.000Z"
    with pytest.raises(ValueError, match="not a date in the form YYYY-MM-DD"):
        feeds._date_text(day.strftime(spreadsheet_form), "dateAdded")


@settings(max_examples=300, deadline=None)
@given(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.builds(lambda day, tail: f"{day}{tail}", st.dates(), st.text(max_size=6))
)
def test_date_text_returns_a_date_or_raises(value):
    try:
        text = feeds._date_text(value, "dateAdded", 32)
    except ValueError as exc:
        assert str(exc).startswith("dateAdded ")
    else:  # taken only when the whole value is a date, perhaps with a time
        if value in (None, ""):
            assert text == ""
        else:
            assert text == value.strip()[:32] and _is_date_or_empty(value.strip())


def _kev_csv(rows: list[dict], fields: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _excel_date(iso: str) -> str:
    """A date as Excel in a Vietnamese locale re-saves it: d/m/yyyy."""
    day = datetime.date.fromisoformat(iso)
    return f"{day.day}/{day.month}/{day.year}"


@needs_data
def test_kev_csv_resaved_by_excel_is_reported_not_stored_without_its_date():
    with (DATA / "kev/known_exploited_vulnerabilities.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or []), [next(reader) for _ in range(3)]
    rows[0] = {**rows[0], "dateAdded": _excel_date(rows[0]["dateAdded"]), "dueDate": _excel_date(rows[0]["dueDate"])}
    rows[1] = {**rows[1], "dueDate": "2025-02-30"}  # a good date added, an impossible due date
    feed = feeds.load(_kev_csv(rows, fields))
    assert [e.cve_id for e in feed.records] == [rows[2]["cveID"]]
    assert feed.records[0].date_added == rows[2]["dateAdded"]
    (first, why_first), (second, why_second) = feed.skipped
    assert first == "line 2" and rows[0]["cveID"] in why_first
    assert f"dateAdded {rows[0]['dateAdded']!r} is not a date in the form YYYY-MM-DD" in why_first
    assert second == "line 3" and "dueDate '2025-02-30'" in why_second


def test_kev_json_entry_without_a_date_added_is_reported():
    feed = feeds.parse_json(
        {
            "catalogVersion": "x",
            "vulnerabilities": [
                {"cveID": "CVE-2024-0001", "dueDate": "2024-02-01"},
                {"cveID": "CVE-2024-0002", "dateAdded": 20240101},
                {"cveID": "CVE-2024-0003", "dateAdded": "2024-01-01", "dueDate": "2024-01-22"},
            ],
        }
    )
    assert [e.cve_id for e in feed.records] == ["CVE-2024-0003"]
    assert [why for _, why in feed.skipped] == [
        "unreadable KEV entry: CVE-2024-0001: no dateAdded",
        "unreadable KEV entry: CVE-2024-0002: dateAdded '20240101' is not a date in the form YYYY-MM-DD",
    ]


@needs_data
def test_nvd_and_cve5_records_with_a_bad_date_keep_the_record_and_say_what_was_left_empty():
    nvd = json.loads((DATA / "nvd/nvd-api-2.0/CVE-2017-5638.json").read_text())
    nvd["cisaExploitAdd"], nvd["published"] = "3/11/2021", "yesterday"
    feed = feeds.load(json.dumps(nvd).encode())
    record = feed.records[0]
    assert (record.kev_added, record.published, record.kev_due) == ("", "", "2022-05-03")
    assert record.criteria and record.cvss_score == 9.8  # the rest of the record is kept
    assert ("CVE-2017-5638", "cisaExploitAdd '3/11/2021' is not a date in the form YYYY-MM-DD; left empty") in (
        feed.skipped
    )
    assert ("CVE-2017-5638", "published 'yesterday' is not a date in the form YYYY-MM-DD; left empty") in feed.skipped
    cve5 = json.loads((DATA / "nvd/CVE-2011-0611.json").read_text())
    for adp in cve5["containers"]["adp"]:
        for metric in adp.get("metrics") or []:
            if (metric.get("other") or {}).get("type") == "kev":
                metric["other"]["content"]["dateAdded"] = "3/3/2022"
    feed = feeds.load(json.dumps(cve5).encode())
    assert feed.records[0].kev_added == "" and feed.records[0].criteria
    assert feed.skipped == [
        ("CVE-2011-0611", "KEV dateAdded '3/3/2022' is not a date in the form YYYY-MM-DD; left empty")
    ]


# --- gzip -----------------------------------------------------------------------------------------------

KEV_JSON = json.dumps(
    {
        "catalogVersion": "x",
        "vulnerabilities": [{"cveID": "CVE-2024-0001", "dateAdded": "2024-01-01", "notes": "Xem hướng dẫn. " * 200}],
    }
).encode()


def test_gzip_is_unpacked_no_further_than_the_size_limit(monkeypatch):
    packed = gzip.compress(KEV_JSON)
    assert feeds.load(packed).records[0].cve_id == "CVE-2024-0001"
    monkeypatch.setattr(feeds, "MAX_BYTES", len(KEV_JSON) - 1)
    assert len(packed) < feeds.MAX_BYTES  # the packed file passes the size check, its content would not
    with pytest.raises(FeedError, match=f"unpacks to more than {len(KEV_JSON) - 1:,} bytes"):
        feeds.load(packed)
    monkeypatch.setattr(feeds, "MAX_BYTES", len(KEV_JSON))
    assert feeds.load(packed).records  # exactly at the limit is taken
    bomb = gzip.compress(b"[" + b" " * 50_000_000 + b"]")  # 50 MB of spaces in about 50 KB
    monkeypatch.setattr(feeds, "MAX_BYTES", 1_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(FeedError, match="unpacks to more than"):
            feeds.load(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # read up to the limit, not unpacked whole


def test_broken_gzip_is_refused():
    packed = gzip.compress(KEV_JSON)
    corrupt = packed[:10] + bytes(5) + packed[15:]  # the deflate stream damaged: zlib.error underneath
    for data in [packed[:-4], packed[:12], corrupt, packed + b"junk"]:
        with pytest.raises(FeedError, match="bad gzip file"):
            feeds.load(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_gzip(tail):
    with contextlib.suppress(FeedError):
        feeds.load(b"\x1f\x8b" + tail)
    with contextlib.suppress(FeedError):
        feeds.load(gzip.compress(tail)[: 10 + len(tail) // 2] + tail)


date_like = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=12)
    | st.dates().map(str)
    | st.datetimes().map(datetime.datetime.isoformat)
    | st.builds(lambda d, form: d.strftime(form), st.dates(), st.sampled_from(["%d/%m/%Y", "%m/%d/%Y", "%Y%m%d"]))
)


def _taken_or_reported(value, taken: str, name: str, feed: feeds.Feed) -> None:
    """A feed's date is either taken as the date it says or named in `skipped`; never dropped quietly."""
    if taken:
        assert _is_date_or_empty(taken) and value.strip().startswith(taken)
    elif value not in (None, ""):
        assert any(f"{name} {str(value)[:40]!r} is not a date" in why for _, why in feed.skipped), (value, feed.skipped)


@settings(max_examples=200, deadline=None)
@given(date_like, date_like, date_like, date_like)
def test_nvd_and_cve5_dates_are_taken_or_reported(published, modified, kev_added, kev_due):
    cve = {"id": "CVE-2024-0001", "published": published, "lastModified": modified}
    cve |= {"cisaExploitAdd": kev_added, "cisaActionDue": kev_due}
    feed = feeds.parse_nvd({"vulnerabilities": [{"cve": cve}]})
    record = feed.records[0]
    _taken_or_reported(published, record.published, "published", feed)
    _taken_or_reported(modified, record.modified, "lastModified", feed)
    _taken_or_reported(kev_added, record.kev_added, "cisaExploitAdd", feed)
    _taken_or_reported(kev_due, record.kev_due, "cisaActionDue", feed)
    kev = {"other": {"type": "kev", "content": {"dateAdded": kev_added}}}
    document = {
        "cveMetadata": {"cveId": "CVE-2024-0001", "datePublished": published, "dateUpdated": modified},
        "containers": {"cna": {}, "adp": [{"metrics": [kev]}]},
    }
    feed = feeds.parse_cve5([document])
    record = feed.records[0]
    _taken_or_reported(published, record.published, "datePublished", feed)
    _taken_or_reported(modified, record.modified, "dateUpdated", feed)
    _taken_or_reported(kev_added, record.kev_added, "KEV dateAdded", feed)


@settings(max_examples=200, deadline=None)
@given(date_like, date_like)
def test_kev_entry_is_taken_with_its_dates_or_reported(date_added, due_date):
    feed = feeds.parse_kev(
        {"vulnerabilities": [{"cveID": "CVE-2024-0001", "dateAdded": date_added, "dueDate": due_date}]}
    )
    if feed.records:
        entry = feed.records[0]
        assert entry.date_added and not feed.skipped
        _taken_or_reported(date_added, entry.date_added, "dateAdded", feed)
        _taken_or_reported(due_date, entry.due_date, "dueDate", feed)
    else:
        ((position, why),) = feed.skipped
        assert position == "#0" and why.startswith("unreadable KEV entry: CVE-2024-0001: ")
