"""Plans as XLSX: the same structure as the seed documents (a "Plan" sheet with title and kind, a
"Tasks" sheet, an optional "Indicators" sheet), so other plans can be loaded without a parser.

A workbook is read whole and checked before anything is written: every value that would not fit the
database (too long, not a whole number, a formula without a saved result, a task number used twice in a
section) is reported with its sheet and row, and the file is refused as a whole."""

from __future__ import annotations

import math
import re
from pathlib import Path

from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils.translation import gettext as _
from openpyxl import Workbook

from attt.core import workbooks
from attt.core.spreadsheets import append_row
from attt.plans.models import Indicator, Plan, PlanKind, Section, Task
from attt.plans.parsing import indicator_refs
from attt.plans.seeds import ParsedIndicator, ParsedPlan, ParsedSection, ParsedTask, _code

TASK_COLUMNS = [
    "section",
    "section_title",
    "number",
    "content",
    "lead",
    "coordination",
    "result",
    "indicators",
    "deadline",
    "details",
]
INDICATOR_COLUMNS = ["number", "name", "baseline", "planned", "target"]
# Where a column is stored, for its length limit (read from the model, never repeated here).
TASK_FIELDS = {
    "section": (Section, "code"),
    "section_title": (Section, "title"),
    "number": (Task, "number"),
    "deadline": (Task, "deadline_text"),
}
INDICATOR_FIELDS = {
    "baseline": (Indicator, "baseline"),
    "planned": (Indicator, "planned"),
    "target": (Indicator, "target"),
}
PLAN_FIELDS = {"code": (Plan, "code"), "title": (Plan, "title")}
MAX_ROWS = 10_000  # rows of one sheet, blank ones included; the largest seed plan has 159 tasks
MAX_COLUMNS = 50
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


class _Problems(list):
    """Every problem of the file, as "Sheet row N, column: what is wrong"."""

    def add(self, sheet: str, row: int, column: str, message: str) -> None:
        self.append(
            _("%(sheet)s row %(row)s, %(column)s: %(message)s")
            % {"sheet": sheet, "row": row, "column": column, "message": message}
        )


def _text(value: object) -> str:
    return workbooks.cell_text(value).strip()


def _cell(value: object, sheet: str, row: int, column: str, problems: _Problems) -> str:
    """The cell's text, or "" after reporting a value the database cannot keep."""
    if isinstance(value, workbooks.FormulaWithoutResult):
        problems.add(sheet, row, column, value.message())
        return ""
    text = _text(value)
    if "\x00" in text:
        problems.add(sheet, row, column, _("a NUL character"))
        return ""
    return text


def _check_length(text: str, target: tuple[type[models.Model], str], where: tuple, problems: _Problems) -> None:
    model, name = target
    limit = model._meta.get_field(name).max_length
    if len(text) > limit:
        problems.add(*where, _("longer than %(limit)s characters") % {"limit": limit})


def _whole_number(value: object, low: int, high: int) -> int | None:
    """An indicator number typed as 3, 3.0 or "3"; None for anything else (1.5, inf, "abc", a date)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if math.isfinite(value) and value.is_integer() else None
    elif isinstance(value, str):
        value = int(value.strip()) if value.strip().isascii() and value.strip().isdigit() else None
    if isinstance(value, int) and low <= value <= high:
        return value
    return None


def _header(values: list[object]) -> list[str]:
    return [_text(c).lower() for c in values]


def _read_meta(sheet, problems: _Problems) -> dict[str, str]:
    meta: dict[str, str] = {}
    rows: dict[str, int] = {}
    for number, row in workbooks.sheet_rows(sheet, max_rows=MAX_ROWS, max_columns=2):
        key = _text(row[0]) if row else ""
        if key:
            meta[key], rows[key] = _cell(row[1] if len(row) > 1 else None, "Plan", number, key, problems), number
            if key in PLAN_FIELDS:
                _check_length(meta[key], PLAN_FIELDS[key], ("Plan", number, key), problems)
    if meta.get("code") and not SLUG.fullmatch(meta["code"]):
        problems.add("Plan", rows["code"], "code", _("only letters, digits, '-' and '_'"))
    if meta.get("kind") and meta["kind"] not in PlanKind.values:
        problems.add("Plan", rows["kind"], "kind", _("one of: %(kinds)s") % {"kinds": ", ".join(PlanKind.values)})
    return meta


def _read_tasks(sheet, plan: ParsedPlan, problems: _Problems) -> None:
    rows = workbooks.sheet_rows(sheet, max_rows=MAX_ROWS, max_columns=MAX_COLUMNS)
    header_row, header = next(((n, _header(v)) for n, v in rows), (1, []))
    missing = [name for name in ("number", "content") if name not in header]
    if missing:
        problems.add("Tasks", header_row, ", ".join(missing), _("required column missing"))
        return
    sections: dict[str, ParsedSection] = {}
    seen: dict[tuple[str, str], int] = {}
    for number, row in rows:
        values = {
            h: _cell(v, "Tasks", number, h, problems) for h, v in zip(header, row, strict=False) if h in TASK_COLUMNS
        }
        if not any(values.values()):
            continue
        if not values.get("number") or not values.get("content"):
            plan.unparsed.append((number, "\t".join(values.values())))
            continue
        for name, target in TASK_FIELDS.items():
            _check_length(values.get(name, ""), target, ("Tasks", number, name), problems)
        code = values.get("section") or "I"
        key = (code, values["number"])
        if key in seen:
            problems.add(
                "Tasks",
                number,
                "number",
                _("task %(number)s of section %(section)s is already on row %(row)s")
                % {"number": key[1][:20], "section": code[:40], "row": seen[key]},
            )
            continue
        seen[key] = number
        section = sections.setdefault(code, ParsedSection(code, values.get("section_title", "")))
        section.tasks.append(
            ParsedTask(
                values["number"],
                values["content"],
                lead=values.get("lead", ""),
                coordination=values.get("coordination", ""),
                result=values.get("result", ""),
                indicators=indicator_refs(values.get("indicators", "")),
                deadline=values.get("deadline", ""),
                details=values.get("details", ""),
                lines=[number],
            )
        )
    plan.sections = list(sections.values())


def _read_indicators(sheet, plan: ParsedPlan, problems: _Problems) -> None:
    # The range every database keeps for the field (SQLite alone would take any 64-bit number).
    field_type = Indicator._meta.get_field("number").get_internal_type()
    low, high = BaseDatabaseOperations.integer_field_ranges[field_type]
    seen: dict[int, int] = {}
    rows = workbooks.sheet_rows(sheet, max_rows=MAX_ROWS, max_columns=len(INDICATOR_COLUMNS))
    next(rows, None)  # the header
    for number, row in rows:
        row = row + [None] * (len(INDICATOR_COLUMNS) - len(row))
        texts = [_cell(v, "Indicators", number, name, problems) for name, v in zip(INDICATOR_COLUMNS, row, strict=True)]
        if not any(texts):
            continue
        value = _whole_number(row[0], low, high)
        if value is None:
            if not isinstance(row[0], workbooks.FormulaWithoutResult):
                problems.add(
                    "Indicators",
                    number,
                    "number",
                    _("expected a whole number from %(low)s to %(high)s") % {"low": low, "high": high},
                )
            continue
        if value in seen:
            problems.add(
                "Indicators",
                number,
                "number",
                _("indicator %(number)s is already on row %(row)s") % {"number": value, "row": seen[value]},
            )
            continue
        seen[value] = number
        for name, target in INDICATOR_FIELDS.items():
            _check_length(texts[INDICATOR_COLUMNS.index(name)], target, ("Indicators", number, name), problems)
        plan.indicators.append(ParsedIndicator(value, *texts[1:]))


def parse_xlsx(path: Path) -> ParsedPlan:
    """Read a workbook written by `write_xlsx` (or by hand in the same columns). Raises ValueError (a
    sentence, then every bad value by sheet and row) when the file cannot be imported as a whole."""
    problems = _Problems()
    try:
        with workbooks.open_workbook(path) as book:
            sheets = {sheet.title: sheet for sheet in book.worksheets}  # not chart sheets
            if "Tasks" not in sheets:
                raise ValueError(_("The workbook has no sheet named 'Tasks' (one row per task)."))
            meta = _read_meta(sheets["Plan"], problems) if "Plan" in sheets else {}
            plan = ParsedPlan(
                code=meta.get("code") or _code(path),
                title=meta.get("title") or path.stem,
                kind=meta.get("kind") or PlanKind.MINISTRY,
                owner_name=meta.get("owner") or "",
            )
            _read_tasks(sheets["Tasks"], plan, problems)
            if "Indicators" in sheets:
                _read_indicators(sheets["Indicators"], plan, problems)
    except ValueError as exc:  # WorkbookError included: the file as a whole
        raise ValueError(f"{path.name}: {exc}") from exc
    if problems:
        raise ValueError(
            "\n".join([_("%(file)s cannot be imported; nothing was written:") % {"file": path.name}, *problems])
        )
    return plan


def write_xlsx(plan: ParsedPlan, path: Path) -> Path:
    """Write a parsed plan in the importable layout (used to hand a template to other units)."""
    book = Workbook()
    meta = book.active
    meta.title = "Plan"
    for key in ("code", "title", "kind", "owner_name"):
        append_row(meta, [key.replace("owner_name", "owner"), getattr(plan, key)])
    tasks = book.create_sheet("Tasks")
    append_row(tasks, TASK_COLUMNS)
    for section in plan.sections:
        for t in section.tasks:
            append_row(
                tasks,
                [
                    section.code,
                    section.title,
                    t.number,
                    t.content,
                    t.lead,
                    t.coordination,
                    t.result,
                    " ".join(f"({n})" for n in t.indicators),
                    t.deadline,
                    t.details,
                ],
            )
    ind = book.create_sheet("Indicators")
    append_row(ind, INDICATOR_COLUMNS)
    for i in plan.indicators:
        append_row(ind, [i.number, i.name, i.baseline, i.planned, i.target])
    book.save(path)
    return path
