"""The safe XLSX reader: archives that unpack to too much or compress like bombs are refused before openpyxl
reads them, rows are counted without filling gaps, and a formula without a saved result is never a blank.

`minimal_xlsx` builds workbooks by hand (any sheet XML, shared strings, declared dimension) for the importers'
tests too."""

import io
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.utils import translation
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from attt.core import workbooks

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
CT_BOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def row(number: int, *cells: str) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def minimal_xlsx(
    rows: str | list[str],
    *,
    shared: list[str] | str | None = None,
    dimension: str | None = None,
    sheets: tuple[str, ...] = ("systems",),
) -> bytes:
    """A workbook whose sheets all hold `rows` (XML of <row> elements), with an optional shared-strings table
    (a list of strings, or the part's whole XML) and declared dimension (e.g. "A1:B1048576")."""
    sheet_data = rows if isinstance(rows, str) else "".join(rows)
    head = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{head}'
        f"<sheetData>{sheet_data}</sheetData></worksheet>"
    )
    overrides = [f'<Override PartName="/xl/workbook.xml" ContentType="{CT_BOOK}"/>']
    overrides += [
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT_SHEET}"/>'
        for i in range(1, len(sheets) + 1)
    ]
    relations = [
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    ]
    if shared is not None:
        overrides.append(f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT_STRINGS}"/>')
        relations.append(f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
    entries = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, start=1))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{PKG}/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{"".join(overrides)}</Types>',
        )
        archive.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{entries}'
            "</sheets></workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}/relationships">'
            f"{''.join(relations)}</Relationships>",
        )
        for i in range(1, len(sheets) + 1):
            archive.writestr(f"xl/worksheets/sheet{i}.xml", sheet)
        if shared is not None:
            archive.writestr(
                "xl/sharedStrings.xml",
                shared
                if isinstance(shared, str)
                else f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'
                + "".join(f"<si><t>{s}</t></si>" for s in shared)
                + "</sst>",
            )
    return buffer.getvalue()


def shared_strings_bomb(count: int) -> bytes:
    """A tiny file whose shared-strings table unpacks to `count` × 30 bytes of one repeated string."""
    return minimal_xlsx(row(1, inline("A1", "owner")), shared=["a" * 20] * count)


def read(data: bytes | Path, *, max_rows: int = 100, max_columns: int = 200) -> list[tuple[int, list]]:
    with workbooks.open_workbook(data) as book:
        if not book.worksheets:  # a damaged file can lose its sheets and stay readable
            return []
        return list(workbooks.sheet_rows(book.worksheets[0], max_rows=max_rows, max_columns=max_columns))


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


# --- The archive -----------------------------------------------------------------------------------------


def test_a_workbook_is_read_with_its_row_numbers_and_typed_values():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["owner", "code", "count", "flag"])
    sheet.append([])
    sheet.append(["so-a", "HT-1", 12, True])
    buffer = io.BytesIO()
    book.save(buffer)
    assert read(buffer.getvalue()) == [(1, ["owner", "code", "count", "flag"]), (3, ["so-a", "HT-1", 12, True])]


def test_a_file_is_read_from_a_path_and_refused_over_the_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "book.xlsx"
    path.write_bytes(minimal_xlsx(row(1, inline("A1", "x"))))
    assert read(path) == [(1, ["x"])]
    monkeypatch.setattr(workbooks, "MAX_BYTES", 100)
    with pytest.raises(workbooks.WorkbookError, match="larger than"):
        read(path)
    with pytest.raises(workbooks.WorkbookError, match="larger than"):
        read(path.read_bytes())
    with pytest.raises(workbooks.WorkbookError, match="cannot be read"):
        read(tmp_path / "missing.xlsx")


@pytest.mark.parametrize(
    "data",
    [b"", b"PK\x03\x04 not really a zip", b"owner,code\n", minimal_xlsx("")[:200]],
    ids=["empty", "zip-magic", "csv", "truncated"],
)
def test_what_is_not_a_workbook_is_refused_with_a_sentence(data):
    with pytest.raises(workbooks.WorkbookError, match="not a readable XLSX workbook"):
        read(data)


def test_a_zip_without_the_content_types_part_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(workbooks.WorkbookError, match="not a readable XLSX workbook"):
        read(buffer.getvalue())


def test_a_shared_strings_bomb_is_refused_before_it_is_unpacked():
    """The review's case: 316 KB unpacking to 108 MB of shared strings took 32 s and 400 MB; now refused at once
    (ratio 340:1). This smaller one is about 280:1 and 30 MB."""
    data = shared_strings_bomb(1_000_000)
    assert len(data) < 120_000
    started = time.perf_counter()
    with pytest.raises(workbooks.WorkbookError, match="compressed more than 100 to 1"):
        read(data)
    assert time.perf_counter() - started < 1


def test_the_declared_unpacked_size_is_limited(monkeypatch):
    data = minimal_xlsx([row(n, inline(f"A{n}", f"value {n}")) for n in range(1, 200)])
    assert read(data, max_rows=1000)
    monkeypatch.setattr(workbooks, "MAX_UNPACKED", 10_000)
    with pytest.raises(workbooks.WorkbookError, match="unpacks to more than"):
        read(data, max_rows=1000)


def test_the_shared_strings_table_is_limited_even_when_it_compresses_normally(monkeypatch):
    text = [f"chuỗi {n} {n * 7919 % 100_003}" for n in range(20_000)]
    data = minimal_xlsx(row(1, '<c r="A1" t="s"><v>5</v></c>'), shared=text)
    assert read(data) == [(1, [text[5]])]
    monkeypatch.setattr(workbooks, "MAX_SHARED_STRINGS", 100_000)
    with pytest.raises(workbooks.WorkbookError, match="more than 0 MB of text"):
        read(data)


def test_small_parts_are_not_judged_by_their_ratio():
    """Below 1 MiB a part cannot hurt, and tiny parts (an empty sheet) compress at any ratio."""
    data = minimal_xlsx([row(n) for n in range(1, 20_000)])  # ~300 KB of empty rows, far above 100:1
    assert read(data, max_rows=20_000)[-1] == (19_999, [])


def test_a_declared_size_cannot_hide_more_data():
    """zipfile stops at the size a part declares and checks the CRC: a part that lies is damaged, not larger."""
    data = bytearray(minimal_xlsx([row(n, inline(f"A{n}", "x" * 50)) for n in range(1, 2000)]))
    name = b"xl/worksheets/sheet1.xml"
    entry = data.find(b"PK\x01\x02")  # the central directory, where zipfile reads the declared sizes
    while data[entry + 46 : entry + 46 + len(name)] != name:
        entry = data.find(b"PK\x01\x02", entry + 4)
    data[entry + 24 : entry + 28] = (100).to_bytes(4, "little")  # the uncompressed size
    with pytest.raises(workbooks.WorkbookError):
        read(bytes(data), max_rows=5000)


# --- Rows ------------------------------------------------------------------------------------------------


def test_a_row_far_below_the_limit_is_refused_without_reading_the_gap():
    """The review's case: a 1.5 KB file with a row at 1,048,576 made openpyxl yield a million empty rows (18 s)."""
    data = minimal_xlsx([row(1, inline("A1", "owner")), row(1_048_576, inline("A1048576", "so-a"))])
    started = time.perf_counter()
    with pytest.raises(workbooks.TooManyRows, match="more than 50,001 rows"):
        read(data, max_rows=50_001)
    assert time.perf_counter() - started < 1


def test_a_declared_dimension_over_the_limit_is_refused_before_reading():
    data = minimal_xlsx(row(1, inline("A1", "owner")), dimension="A1:B1048576")
    with pytest.raises(workbooks.TooManyRows, match="has more than 100 rows"):
        read(data)
    assert read(minimal_xlsx(row(1, inline("A1", "owner")), dimension="A1:B100")) == [(1, ["owner"])]


def test_blank_rows_count_and_so_do_rows_that_repeat_a_number():
    with pytest.raises(workbooks.TooManyRows):
        read(minimal_xlsx([row(n) for n in range(1, 102)]))
    assert len(read(minimal_xlsx([row(n) for n in range(1, 101)]))) == 100
    with pytest.raises(workbooks.TooManyRows):
        read(minimal_xlsx([row(5, inline("A5", "x"))] * 101))


def test_columns_past_the_limit_are_left_out():
    rows = read(minimal_xlsx(row(1, inline("A1", "a"), inline("C1", "c"), inline("XFD1", "far"))), max_columns=3)
    assert rows == [(1, ["a", None, "c"])]


@pytest.mark.parametrize(
    "cells",
    [
        '<c r="A1" t="s"><v>7</v></c>',  # a shared string that is not there
        '<c r="1A"><v>1</v></c>',  # not a cell reference
        '<c r="A1" t="b"><v>yes</v></c>',
    ],
)
def test_a_damaged_sheet_is_a_workbook_error(cells):
    with pytest.raises(workbooks.WorkbookError, match="damaged"):
        read(minimal_xlsx(f'<row r="1">{cells}</row>', shared=["only"]))


# --- Formulas --------------------------------------------------------------------------------------------


def test_a_formula_without_a_saved_result_is_not_a_blank():
    """openpyxl writes formulas without results (so do scripts); data_only alone would read them as blanks."""
    book = openpyxl.Workbook()
    book.active.append(["=1=1", "=1000*5", "x", None])
    buffer = io.BytesIO()
    book.save(buffer)
    ((_number, values),) = read(buffer.getvalue())
    assert [type(v) for v in values[:2]] == [workbooks.FormulaWithoutResult] * 2
    assert values == ["=1=1", "=1000*5", "x"]


def test_a_formula_with_a_saved_result_is_its_result():
    rows = read(
        minimal_xlsx(
            row(
                1,
                '<c r="A1"><f>2*3</f><v>6</v></c>',
                '<c r="B1" t="str"><f>IF(1,"","x")</f><v></v></c>',  # a text formula that returned ""
                '<c r="C1" t="b"><f>1=1</f><v>1</v></c>',
                '<c r="D1" t="str"><f>A1&amp;""</f></c>',  # a text formula with no result at all
                '<c r="E1"><f t="shared" si="0"/></c>',
            )
        )
    )
    assert rows == [(1, [6, None, True, '=A1&""', "="])]
    assert isinstance(rows[0][1][3], workbooks.FormulaWithoutResult)


# --- Property tests ---------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID = minimal_xlsx([row(1, inline("A1", "owner"), '<c r="B1"><f>1+1</f></c>'), row(2, '<c r="A2"><v>3</v></c>')])


def _only_workbook_errors(data: bytes) -> None:
    try:
        for _number, values in read(data, max_rows=1000, max_columns=50):
            assert len(values) <= 50
        event("read")
    except workbooks.WorkbookError as exc:
        assert str(exc).endswith(".") and len(str(exc)) > 20
        event(type(exc).__name__)


@FUZZ
@given(st.binary(max_size=3000))
def test_any_bytes_give_rows_or_a_workbook_error(data):
    _only_workbook_errors(data)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_workbook_gives_rows_or_a_workbook_error(flips):
    data = bytearray(VALID)
    for position, value in flips:
        data[position] = value
    _only_workbook_errors(bytes(data))


CELL_XML = st.one_of(
    st.builds(lambda t: f'<c t="inlineStr"><is><t>{t}</t></is></c>', st.sampled_from(["a", "Việt", "", " "])),
    st.builds(lambda v: f"<c><v>{v}</v></c>", st.sampled_from(["1", "1.5", "-0", "1e308", "inf", "nan", "x", ""])),
    st.builds(lambda v: f'<c t="b"><v>{v}</v></c>', st.sampled_from(["0", "1", "2"])),
    st.builds(lambda v: f'<c t="s"><v>{v}</v></c>', st.sampled_from(["0", "1", "-1", "x"])),
    st.builds(lambda f: f"<c><f>{f}</f></c>", st.sampled_from(["1+1", "", "A1"])),
    st.builds(lambda r: f'<c r="{r}"><v>1</v></c>', st.sampled_from(["A1", "ZZ9", "XFD1048576", "A0", "", "?"])),
    st.just('<c t="e"><v>#N/A</v></c>'),
    st.just('<c t="d"><v>2024-13-45</v></c>'),
)


@FUZZ
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(-5, 2_000_000), st.just("x")), st.lists(CELL_XML, max_size=6)),
        max_size=12,
    )
)
def test_any_sheet_gives_rows_or_a_workbook_error(rows):
    xml = "".join(f"<row{'' if n is None else f' r=_{n}_'}>{''.join(cells)}</row>" for n, cells in rows)
    _only_workbook_errors(minimal_xlsx(xml.replace("_", '"'), shared=["null", "một"]))
