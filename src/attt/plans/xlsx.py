"""Plans as XLSX: the same structure as the seed documents (a "Plan" sheet with title and kind, a
"Tasks" sheet, an optional "Indicators" sheet), so other plans can be loaded without a parser."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook

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


def parse_xlsx(path: Path) -> ParsedPlan:
    """Read a workbook written by `write_xlsx` (or by hand in the same columns)."""
    book = load_workbook(path, read_only=True, data_only=True)
    meta = {}
    if "Plan" in book.sheetnames:
        for row in book["Plan"].iter_rows(values_only=True):
            if row and row[0]:
                meta[str(row[0]).strip()] = "" if row[1] is None else str(row[1]).strip()
    plan = ParsedPlan(
        code=meta.get("code") or _code(path),
        title=meta.get("title") or path.stem,
        kind=meta.get("kind") or "ministry",
        owner_name=meta.get("owner") or "",
    )
    sections: dict[str, ParsedSection] = {}
    rows = book["Tasks"].iter_rows(values_only=True)
    header = [str(c or "").strip().lower() for c in next(rows, [])]
    for number, row in enumerate(rows, start=2):
        values = {h: ("" if v is None else str(v).strip()) for h, v in zip(header, row, strict=False)}
        if not any(values.values()):
            continue
        if not values.get("number") or not values.get("content"):
            plan.unparsed.append((number, "\t".join(values.values())))
            continue
        code = values.get("section") or "I"
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
    if "Indicators" in book.sheetnames:
        irows = book["Indicators"].iter_rows(values_only=True)
        next(irows, None)
        for row in irows:
            if row and row[0] not in (None, ""):
                cells = ["" if c is None else str(c) for c in row] + [""] * 5
                plan.indicators.append(ParsedIndicator(int(float(cells[0])), cells[1], cells[2], cells[3], cells[4]))
    return plan


def write_xlsx(plan: ParsedPlan, path: Path) -> Path:
    """Write a parsed plan in the importable layout (used to hand a template to other units)."""
    book = Workbook()
    meta = book.active
    meta.title = "Plan"
    for key in ("code", "title", "kind", "owner_name"):
        meta.append([key.replace("owner_name", "owner"), getattr(plan, key)])
    tasks = book.create_sheet("Tasks")
    tasks.append(TASK_COLUMNS)
    for section in plan.sections:
        for t in section.tasks:
            tasks.append(
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
                ]
            )
    ind = book.create_sheet("Indicators")
    ind.append(["number", "name", "baseline", "planned", "target"])
    for i in plan.indicators:
        ind.append([i.number, i.name, i.baseline, i.planned, i.target])
    book.save(path)
    return path
