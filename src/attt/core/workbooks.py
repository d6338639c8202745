"""Reading XLSX workbooks that people upload or hand over, without trusting them.

An XLSX file is a ZIP archive of XML parts. Its size on disk says little: a 300 KB file can unpack to
100 MB of text that openpyxl holds in memory (the shared-strings table), and a 1.5 KB sheet can claim a
row at 1,048,576 that openpyxl fills in with a million empty rows. So, before openpyxl sees the file, the
archive's declared sizes are checked (zipfile never unpacks more than a part declares), and rows are
read here, counted and refused past a limit without filling any gap.

Rows are read with data_only (the values a spreadsheet application saved, never formulas), except that a
formula cell with no saved result (a file written by a program and never opened in a spreadsheet
application) comes back as `FormulaWithoutResult` rather than as a blank: an importer reports it instead
of storing an empty value. Every refusal is a `WorkbookError` (a ValueError) with a translated sentence."""

import datetime
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.packaging.manifest import Manifest
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser
from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
from openpyxl.xml.functions import fromstring

MiB = 1024 * 1024
# Measured on registry workbooks of 50,000 systems (32 columns, Vietnamese names and descriptions), written
# as Excel writes them and as openpyxl does: 4.5–10.7 MB on disk, 58–96 MB unpacked, at most 15:1 for one
# part, shared strings at most 14 MB. A ZIP bomb part is 300–1,000:1. Shared strings of tiny strings cost
# about 7× their size in memory: 32 MB of them took 14 s and 240 MB (docs/core.md has the figures).
MAX_BYTES = 10 * MiB
MAX_UNPACKED = 200 * MiB  # all parts together, as declared in the archive
MAX_RATIO = 100  # unpacked ÷ packed size of one part
RATIO_FLOOR = MiB  # a part smaller than this cannot hurt, whatever its ratio
MAX_SHARED_STRINGS = 32 * MiB  # the one part openpyxl keeps whole in memory
MAX_COLUMNS = 200


class WorkbookError(ValueError):
    """The workbook is refused as a whole; the message says why, in the user's language."""


class TooManyRows(WorkbookError):
    """The sheet has more rows than the reader allows (blank rows count too)."""


class FormulaWithoutResult(str):
    """A formula cell whose file keeps no result; its text is the formula (for the error message)."""

    def message(self) -> str:
        """What an importer tells the person for this cell."""
        return _(
            "A formula without a saved result (%(formula)s): open and save the file in Excel, or paste values."
        ) % {"formula": self[:60]}


def cell_text(value: object) -> str:
    """A cell's value as the text a person typed: "" for a blank, 3 for 3.0, "true"/"false", an ISO date (the date
    alone at midnight); a FormulaWithoutResult stays one, for the importer to report."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _damaged() -> WorkbookError:
    return WorkbookError(_("The file is not a readable XLSX workbook."))


def _check_archive(data: bytes, max_unpacked: int) -> None:
    """Refuse an archive that would unpack to too much, or compresses like a ZIP bomb."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        manifest = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
    except Exception as exc:  # not a ZIP archive, no or a broken content-types part
        raise _damaged() from exc
    if sum(m.file_size for m in members) > max_unpacked:
        raise WorkbookError(
            _("The workbook unpacks to more than %(mb)s MB: split it into several files.") % {"mb": max_unpacked // MiB}
        )
    for member in members:
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise WorkbookError(
                _(
                    "The workbook is compressed more than %(ratio)s to 1 (part %(part)s), as ZIP bombs are; "
                    "save it again from a spreadsheet application."
                )
                % {"ratio": MAX_RATIO, "part": member.filename[:80]}
            )
    strings = manifest.find(SHARED_STRINGS)
    if strings is not None:
        try:
            size = archive.getinfo(strings.PartName.lstrip("/")).file_size
        except KeyError:
            size = 0
        if size > MAX_SHARED_STRINGS:
            raise WorkbookError(
                _("The workbook holds more than %(mb)s MB of text: split it into several files.")
                % {"mb": MAX_SHARED_STRINGS // MiB}
            )


@contextmanager
def open_workbook(
    source: bytes | Path, *, max_bytes: int | None = None, max_unpacked: int | None = None
) -> Iterator[Workbook]:
    """The workbook in `source` (its content, or a file), read-only; closed when the block ends.
    Raises WorkbookError when it is too large, damaged, or not a workbook. Limits default to this
    module's constants."""
    max_bytes, max_unpacked = max_bytes or MAX_BYTES, max_unpacked or MAX_UNPACKED
    if isinstance(source, Path):
        try:
            if source.stat().st_size > max_bytes:
                raise WorkbookError(_too_large(max_bytes))
            source = source.read_bytes()
        except OSError as exc:
            raise WorkbookError(_("The file cannot be read (%(reason)s).") % {"reason": exc.strerror or exc}) from exc
    if len(source) > max_bytes:
        raise WorkbookError(_too_large(max_bytes))
    _check_archive(source, max_unpacked)
    try:
        book = load_workbook(io.BytesIO(source), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds of errors on a damaged or foreign file
        raise _damaged() from exc
    try:
        yield book
    finally:
        book.close()


def _too_large(max_bytes: int) -> str:
    return _("The file is larger than %(mb)s MB: split it into several files.") % {"mb": max_bytes // MiB}


class _Parser(WorkSheetParser):
    """openpyxl's sheet parser, except that a formula without a saved result is not read as a blank."""

    def parse_cell(self, element):
        cell = super().parse_cell(element)
        if cell["value"] is None:
            formula = element.find(FORMULA_TAG)
            # An empty saved value is a result only for a text formula (one that returned "").
            if formula is not None and (element.find(VALUE_TAG) is None or element.get("t") != "str"):
                cell["value"] = FormulaWithoutResult("=" + (formula.text or ""))
        return cell


def sheet_rows(
    sheet: ReadOnlyWorksheet, *, max_rows: int, max_columns: int = MAX_COLUMNS
) -> Iterator[tuple[int, list[object]]]:
    """(row number, values) of each row the sheet stores, in file order, without the missing rows between
    them; values as saved (None for a blank cell), up to `max_columns` of them. Raises TooManyRows before
    reading when the sheet declares more than `max_rows` rows, and as soon as a row is numbered past it or
    more than `max_rows` rows were read; WorkbookError when the sheet is damaged."""
    try:
        if (sheet.max_row or 0) > max_rows:
            raise _too_many_rows(sheet, max_rows)
        book = sheet.parent
        with sheet._get_source() as source:  # openpyxl 3.1 read-only internals, as its own iter_rows uses them
            parser = _Parser(
                source,
                sheet._shared_strings,
                data_only=True,
                epoch=book.epoch,
                date_formats=book._date_formats,
                timedelta_formats=book._timedelta_formats,
            )
            for count, (number, cells) in enumerate(parser.parse(), start=1):
                if number > max_rows or count > max_rows:
                    raise _too_many_rows(sheet, max_rows)
                values: list[object] = [None] * min(max_columns, max((c["column"] for c in cells), default=0))
                for cell in cells:
                    if 1 <= cell["column"] <= max_columns:
                        values[cell["column"] - 1] = cell["value"]
                yield number, values
    except WorkbookError:
        raise
    except Exception as exc:  # a broken part, a bad cell reference, a shared string that is not there, ...
        raise WorkbookError(_("The XLSX workbook is damaged and cannot be read.")) from exc


def _too_many_rows(sheet: ReadOnlyWorksheet, max_rows: int) -> TooManyRows:
    return TooManyRows(
        _(
            "The sheet '%(sheet)s' has more than %(rows)s rows (blank rows count too): "
            "delete the empty rows below the table or split it into several files."
        )
        % {"sheet": sheet.title[:40], "rows": f"{max_rows:,}"}
    )
