"""Importing systems from XLSX: workbooks that would unpack or expand without limit are refused as a whole and
at once, blank rows count against the row limit, and a formula without a saved result is a row error rather
than a silent blank, 0 or false."""

import datetime
import io
import time

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from attt.core import workbooks
from attt.core.tests.test_workbooks import inline, minimal_xlsx, row, shared_strings_bomb
from attt.registry import services, transfer
from attt.registry.models import InformationSystem


def workbook(*rows: list) -> bytes:
    book = openpyxl.Workbook()
    for values in rows:
        book.active.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def refused(data: bytes, user) -> str:
    started = time.perf_counter()
    with pytest.raises(transfer.ImportFileError) as caught:
        services.import_systems(data, "xlsx", user)
    assert time.perf_counter() - started < 2
    assert not InformationSystem.objects.exists()
    return str(caught.value)


# --- Whole files ------------------------------------------------------------------------------------------


def test_a_row_at_the_bottom_of_the_sheet_is_refused_at_once(tree, owner):
    """1.5 KB with a row at 1,048,576: openpyxl filled in a million empty rows (18 s) before the limit saw any."""
    header = row(1, inline("A1", "owner"), inline("B1", "code"), inline("C1", "name"))
    data = minimal_xlsx([header, row(1_048_576, inline("A1048576", "so-a"), inline("B1048576", "x"))])
    assert refused(data, owner) == (
        "The file has more than 50,000 rows (blank rows below the table count too): delete them or split the file "
        "into several files."
    )


def test_a_sheet_declaring_more_rows_than_the_limit_is_refused_before_reading(tree, owner):
    data = minimal_xlsx(row(1, inline("A1", "owner")), dimension="A1:AF60000")
    assert "more than 50,000 rows" in refused(data, owner)


def test_blank_rows_count_against_the_row_limit(tree, owner, monkeypatch):
    monkeypatch.setattr(transfer, "MAX_ROWS", 3)
    rows = [row(1, inline("A1", "owner"), inline("B1", "code"), inline("C1", "name"))]
    rows += [row(n, inline(f"A{n}", "so-a"), inline(f"B{n}", f"s{n}"), inline(f"C{n}", "S")) for n in (2, 3)]
    assert services.import_systems(minimal_xlsx(rows), "xlsx", owner, dry_run=True).ok
    assert "more than 3 rows" in refused(minimal_xlsx([*rows, row(5), row(6)]), owner)


def test_a_shared_strings_bomb_is_refused_at_once(tree, owner):
    """316 KB unpacking to 108 MB of shared strings took 32 s and 400 MB of memory before."""
    assert "as ZIP bombs are" in refused(shared_strings_bomb(1_000_000), owner)


def test_a_workbook_that_unpacks_to_too_much_is_refused(tree, owner, monkeypatch):
    data = workbook(["owner", "code", "name"], ["so-a", "x", "X"])
    monkeypatch.setattr(workbooks, "MAX_UNPACKED", 1000)
    assert "unpacks to more than" in refused(data, owner)


def test_a_damaged_sheet_is_refused_with_a_sentence(tree, owner):
    data = minimal_xlsx(row(1, '<c r="A1" t="s"><v>9</v></c>'), shared=["owner"])
    assert refused(data, owner) == "The XLSX workbook is damaged and cannot be read."


def test_the_largest_registry_export_passes_the_archive_checks():
    """50,000 systems (the row limit) whose cells repeat, the export that compresses best, stays far within the
    archive limits: its sheet compresses 15:1 (the ratio limit is 100:1); docs/core.md has the other figures."""
    rows = [["so-a", f"HT-{n:05d}", "Cổng dịch vụ công", "", "", "", "operating"] for n in range(50_000)]
    data = transfer._write_xlsx([c.name for c in transfer.COLUMNS], rows)
    assert len(data) < transfer.MAX_BYTES
    workbooks._check_archive(data, workbooks.MAX_UNPACKED)


# --- Formulas ---------------------------------------------------------------------------------------------


def test_formulas_without_a_saved_result_are_row_errors_and_nothing_is_written(tree, owner):
    """The review's case: a script-written workbook kept the formulas but no results, and the import stored
    internet_facing=False, user_count=0, operates_24x7=False without a word."""
    data = workbook(
        ["owner", "code", "name", "internet_facing", "user_count", "operates_24x7"],
        ["so-a", "HT-0", "Hệ thống đúng", "true", 10, "false"],
        ["so-a", "HT-1", "Cổng dịch vụ công", "=1=1", "=1000*5", '=IF(1>0,"true","false")'],
    )
    report = services.import_systems(data, "xlsx", owner)
    assert not report.ok and report.bad_rows == [3]
    assert [(e.column, e.message) for e in report.errors] == [
        (
            "internet_facing",
            "A formula without a saved result (=1=1): open and save the file in Excel, or paste values.",
        ),
        (
            "user_count",
            "A formula without a saved result (=1000*5): open and save the file in Excel, or paste values.",
        ),
        (
            "operates_24x7",
            'A formula without a saved result (=IF(1>0,"true","false")): open and save the file in Excel, '
            "or paste values.",
        ),
    ]
    assert not InformationSystem.objects.exists()


def test_a_formula_in_a_text_column_is_not_stored_as_its_text(tree, owner):
    report = services.import_systems(workbook(["owner", "code", "name"], ["so-a", "HT-1", "=A1&B1"]), "xlsx", owner)
    assert [(e.row, e.column) for e in report.errors if "formula" in e.message] == [(2, "name")]
    assert not InformationSystem.objects.exists()


def test_formulas_with_saved_results_import_their_results(tree, owner):
    """What Excel or LibreOffice saves: the formula and its result; a text formula may have returned ""."""
    names = ["owner", "code", "name", "user_count", "description"]
    header = row(1, *(inline(f"{c}1", name) for c, name in zip("ABCDE", names, strict=True)))
    body = row(
        2,
        inline("A2", "so-a"),
        '<c r="B2" t="str"><f>"HT-"&amp;"7"</f><v>HT-7</v></c>',
        inline("C2", "Hệ thống"),
        '<c r="D2"><f>1000*5</f><v>5000</v></c>',
        '<c r="E2" t="str"><f>IF(1,"","x")</f><v></v></c>',
    )
    report = services.import_systems(minimal_xlsx([header, body]), "xlsx", owner)
    assert report.ok, report.errors
    system = InformationSystem.objects.get(code="HT-7")
    assert (system.user_count, system.description) == (5000, "")


# --- Property tests ---------------------------------------------------------------------------------------

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = [c.name for c in transfer.COLUMNS] + ["Chủ quản", "Tên hệ thống", "junk", None]
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
CELLS = st.one_of(
    st.none(),
    TEXT,
    st.text(st.sampled_from("aăâbcdđ "), min_size=200, max_size=3000),
    st.sampled_from(["so-a", "tt-a", "so-b", "public", "true", "có", "10.000", "-1", "'=x", " "]),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime.datetime(1900, 3, 1), max_value=datetime.datetime(2100, 1, 1)),
    st.sampled_from(["=1+1", "=A1", '=IF(1,"true","x")', "=1/0", "=SUM(A1:A3)"]),
)


def _is_formula(value) -> bool:
    return isinstance(value, str) and value.startswith("=") and len(value) > 1


@pytest.mark.django_db
@FUZZ
@given(
    header=st.lists(st.sampled_from(NAMES), max_size=8),
    rows=st.lists(st.lists(CELLS, max_size=10), max_size=6),
    gaps=st.lists(st.integers(0, 3), max_size=6),
)
def test_any_workbook_gives_a_report_or_a_file_error_and_writes_all_or_nothing(tree_and_owner, header, rows, gaps):
    InformationSystem.objects.filter(parent_system__isnull=False).delete()  # what the previous example wrote
    InformationSystem.objects.all().delete()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["owner", "code", "name", *header])
    for values, gap in zip(rows, gaps + [0] * len(rows), strict=False):
        for _blank in range(gap):
            sheet.append([])
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    try:
        report = services.import_systems(buffer.getvalue(), "xlsx", tree_and_owner)
    except transfer.ImportFileError as exc:
        assert str(exc)
        event("refused")
        return
    assert report.ok or not InformationSystem.objects.exists()
    event("written" if report.written else "row errors")
    columns = transfer._Importer(tree_and_owner, True).map_header(
        1, ["owner", "code", "name", *(h or "" for h in header)]
    )
    by_row = {(e.row, e.column) for e in report.errors}
    if any(e.row == 1 and e.column in transfer.REQUIRED for e in report.errors):
        return  # the header is refused: no row is read
    number = 1
    for values, gap in zip(rows, gaps + [0] * len(rows), strict=False):
        number += gap + 1
        for index, value in enumerate(values):
            if _is_formula(value) and index < len(columns) and columns[index] is not None:
                assert (number, columns[index].name) in by_row, (number, columns[index].name, report.errors)


@FUZZ
@given(st.lists(st.lists(CELLS, max_size=8), max_size=8))
def test_read_table_gives_rows_or_a_file_error(rows):
    try:
        header_row, _header, body = transfer.read_table(workbook(*rows), "xlsx")
    except transfer.ImportFileError:
        return
    assert header_row >= 1 and all(number > header_row for number, _cells in body)
    assert all(isinstance(cell, str) for _number, cells in body for cell in cells)
