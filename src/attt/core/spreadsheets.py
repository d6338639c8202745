"""Workbooks written from what people typed (report downloads): every text stays text.

openpyxl stores a string that starts with '=' as a live formula, so a result typed as '=HYPERLINK(…)' would run
when the report is opened. The CSV exports guard the same way with a leading quote (`exports._cell`); in a
workbook a cell can say it holds text, so the reader sees exactly what was typed (a line starting '- …' stays
as written)."""

from collections.abc import Iterable

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def append_row(sheet, values: Iterable[object]) -> None:
    """Append a row to `sheet` (a normal, not write-only, worksheet) with its text stored as text: never a
    formula, and without the control characters a workbook cannot hold (openpyxl refuses them, which would fail
    the whole download)."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.data_type == "f":
            cell.data_type = "s"
