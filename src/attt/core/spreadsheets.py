"""Office files (report workbooks and documents) written from what people typed: text stays text.

openpyxl stores a string that starts with '=' as a live formula, so a result typed as '=HYPERLINK(…)' would run
when the report is opened. The CSV exports guard the same way with a leading quote (`exports._cell`); in a
workbook a cell can say it holds text, so the reader sees exactly what was typed (a line starting '- …' stays
as written). Both XLSX and DOCX are XML, which cannot hold most control characters (a vertical tab pasted from a
word processor): openpyxl and python-docx refuse them, which would fail the whole download."""

from collections.abc import Iterable

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def printable(text: str) -> str:
    """`text` without the control characters an Office file cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def append_row(sheet, values: Iterable[object]) -> None:
    """Append a row to `sheet` (a normal, not write-only, worksheet) with its text `printable` and stored as text,
    never as a formula."""
    sheet.append([printable(v) if isinstance(v, str) else v for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.data_type == "f":
            cell.data_type = "s"
