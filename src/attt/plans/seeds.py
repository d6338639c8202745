"""Extract the structure of the four seed plan documents (and XLSX plans) as plain data, so the
importer only writes and every line of a table is either used or reported as unparsed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from attt.plans.parsing import (
    Block,
    Row,
    clean_cell,
    fold,
    indicator_refs,
    parse_legal_reference,
    read_outline,
    read_table,
    split_units,
)


@dataclass
class ParsedTask:
    number: str
    content: str
    lead: str = ""
    coordination: str = ""
    result: str = ""
    indicators: list[int] = field(default_factory=list)
    deadline: str = ""
    details: str = ""
    lines: list[int] = field(default_factory=list)


@dataclass
class ParsedSection:
    code: str
    title: str
    tasks: list[ParsedTask] = field(default_factory=list)


@dataclass
class ParsedIndicator:
    number: int
    name: str
    baseline: str
    planned: str
    target: str


@dataclass
class ParsedDocument:
    category: str
    kind: str
    number: str
    date: object
    issuer: str
    title: str


@dataclass
class ParsedPlan:
    code: str
    title: str
    kind: str
    owner_name: str
    year_start: int | None = None
    year_end: int | None = None
    description: str = ""
    sections: list[ParsedSection] = field(default_factory=list)
    indicators: list[ParsedIndicator] = field(default_factory=list)
    objectives: list[tuple[str, str]] = field(default_factory=list)
    documents: list[ParsedDocument] = field(default_factory=list)
    unparsed: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "plan": self.title,
            "code": self.code,
            "sections": {s.code: len(s.tasks) for s in self.sections},
            "total_tasks": sum(len(s.tasks) for s in self.sections),
            "indicators": len(self.indicators),
            "objectives": len(self.objectives),
            "documents": len(self.documents),
            "unparsed": [{"line": n, "text": t[:200]} for n, t in self.unparsed],
        }


def _numbered(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    return list(enumerate(text.splitlines(), start=1))


def _title_lines(lines: list[tuple[int, str]], stop: str) -> str:
    parts = []
    for _, line in lines:
        if line.strip().startswith(stop):
            break
        if line.strip():
            parts.append(line.strip())
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


# --- 000: the Ministry's action plan -------------------------------------------------------------


def parse_action_plan(path: Path) -> ParsedPlan:
    """Section II indicators; Appendix I (I, II) and Appendix II (I–V) task tables."""
    lines = _numbered(path)
    title = _title_lines(lines, "(Ban hành")
    plan = ParsedPlan(
        code=_code(path),
        title=title,
        kind="ministry",
        owner_name="Bộ Thông tin và Truyền thông",
        year_start=2024,
        year_end=2025,
    )
    appendix = ""
    roman = ""
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    titles: dict[tuple[str, str], str] = {}
    for number, line in lines:
        stripped = line.strip()
        m = re.match(r"^Phụ lục\s+([IVX]+)\b", stripped)
        if m:
            appendix, roman = m.group(1), ""
            continue
        m = re.match(r"^([IVX]+)\.\s+(.+)$", stripped)
        if m and "\t" not in line:
            roman = m.group(1)
            titles[(appendix, roman)] = m.group(2).strip()
            continue
        if "\t" in line:
            groups.setdefault((appendix, roman), []).append((number, line))
    rows = read_table(groups.get(("", "II"), []), plan.unparsed)
    for row in rows:
        plan.indicators.append(ParsedIndicator(int(row.cells[0]), row.cell(1), row.cell(2), row.cell(3), row.cell(4)))
    for (app, rom), group in groups.items():
        if not app:
            continue
        section = ParsedSection(f"PL{app}-{rom}", titles.get((app, rom), ""))
        for row in read_table(group, plan.unparsed):
            section.tasks.append(_action_task(row, appendix=app))
        plan.sections.append(section)
    return plan


def _action_task(row: Row, *, appendix: str) -> ParsedTask:
    if appendix == "I":  # TT, task, unit, result 2024, indicator, deadline
        return ParsedTask(
            row.cells[0],
            row.cell(1),
            lead=row.cell(2),
            result=row.cell(3),
            indicators=indicator_refs(row.cell(4)),
            deadline=row.cell(5),
            lines=row.lines,
        )
    # STT, content, lead, coordinating (or following-up) units, deadline
    return ParsedTask(
        row.cells[0], row.cell(1), lead=row.cell(2), coordination=row.cell(3), deadline=row.cell(4), lines=row.lines
    )


# --- 003: the provincial appendix of tasks and solutions -----------------------------------------


def parse_province_tasks(path: Path) -> ParsedPlan:
    """11 task areas; each source line of an area adds a solution, its units and its timing."""
    lines = _numbered(path)
    title = _title_lines(lines, "TT\t")
    plan = ParsedPlan(code=_code(path), title=title, kind="province", owner_name="Ủy ban nhân dân tỉnh")
    section = ParsedSection("PL", "Nhiệm vụ, giải pháp")
    table = [(n, line) for n, line in lines if "\t" in line]
    raw_lines = dict(table)
    for row in read_table(table, plan.unparsed):
        solutions: list[str] = []
        units: list[str] = []
        timings: list[str] = []
        for n in row.lines:
            cells = raw_lines[n].split("\t")
            solution = clean_cell(cells[2]) if len(cells) > 2 else ""
            if solution:
                if solutions and solution[:1].islower():
                    solutions[-1] = f"{solutions[-1]} {solution}"
                else:
                    solutions.append(solution)
            for unit in split_units(cells[3] if len(cells) > 3 else ""):
                if unit not in units:
                    units.append(unit)
            timing = clean_cell(cells[4]) if len(cells) > 4 else ""
            if timing and timing not in timings:
                timings.append(timing)
        section.tasks.append(
            ParsedTask(
                row.cells[0],
                row.cell(1),
                lead="; ".join(units),
                deadline=timings[0] if timings else "",
                details="\n".join(solutions),
                lines=row.lines,
            )
        )
    plan.sections.append(section)
    return plan


# --- 004: the Ministry's letter on key tasks -----------------------------------------------------


def _split_title(block_lines: list[str]) -> tuple[str, str]:
    """A heading wrapped over lines goes on while the next line starts in lower case."""
    title = [block_lines[0]]
    rest = block_lines[1:]
    while rest and rest[0][:1].islower():
        title.append(rest.pop(0))
    return " ".join(title), " ".join(rest)


def parse_key_tasks(path: Path) -> ParsedPlan:
    """The six key tasks (objectives, solutions; contact points skipped as personal data) and the
    appendix of legal and guidance documents."""
    lines = _numbered(path)
    cut = next((i for i, (_, line) in enumerate(lines) if fold(line) == "phu luc"), len(lines))
    body, appendix = lines[:cut], lines[cut:]
    plan = ParsedPlan(
        code=_code(path),
        title="Nhiệm vụ trọng tâm về an toàn thông tin mạng năm 2024",
        kind="guidance",
        owner_name="Bộ Thông tin và Truyền thông",
        year_start=2024,
        year_end=2024,
    )
    section = ParsedSection("II", "Các nhiệm vụ trọng tâm năm 2024")
    in_tasks = False
    task: ParsedTask | None = None
    part = ""
    solutions: list[str] = []
    for block in _blocks_with_lines(body):
        if block.kind == "roman":
            in_tasks = block.label == "II"
            continue
        if not in_tasks:
            continue
        if block.kind == "number" and "." not in block.label:
            if task:
                task.details = "\n".join(solutions)
            title, intro = _split_title(block.lines_text)
            task = ParsedTask(block.label, title, lines=[block.line])
            task.result = intro
            solutions, part = [], ""
            section.tasks.append(task)
        elif block.kind == "number" and task:
            part = block.label.split(".")[1]
            extra = " ".join(block.lines_text[1:]).strip()
            if extra and part == "1":
                plan.objectives.append((f"task-{task.number}", extra))
            elif extra and part == "2":
                solutions.append(extra)
        elif block.kind == "bullet" and task:
            if part == "1":
                plan.objectives.append((f"task-{task.number}", block.text))
            elif part == "2":
                solutions.append(block.text)
    if task:
        task.details = "\n".join(solutions)
    for t in section.tasks:  # the intro paragraph is context, not an expected result
        t.details = f"{t.result}\n{t.details}".strip() if t.result else t.details
        t.result = ""
        t.deadline = "Năm 2024"
    plan.sections.append(section)
    category = ""
    for block in read_outline(appendix):
        if block.kind == "number":
            category = block.text
        elif block.kind == "bullet":
            ref = parse_legal_reference(block.text)
            if ref is None:
                plan.unparsed.append((block.line, block.text))
                continue
            plan.documents.append(ParsedDocument(category, ref.kind, ref.number, ref.date, ref.issuer, ref.title))
    return plan


@dataclass
class _LBlock(Block):
    lines_text: list[str] = field(default_factory=list)


def _blocks_with_lines(lines: list[tuple[int, str]]) -> list[_LBlock]:
    out: list[_LBlock] = []
    for block in read_outline(lines):
        out.append(_LBlock(block.kind, block.label, block.text, block.line))
    # keep the original wrapped lines of each block, for headings wrapped over several lines
    starts = {b.line: b for b in out}
    current = None
    for number, line in lines:
        if number in starts:
            current = starts[number]
            first = line.strip()
            first = re.sub(r"^(\d{1,2}(?:\.\d{1,2})?\.|[IVX]+\.|[a-zđ]\)|[-–•])\s*", "", first)
            current.lines_text.append(first)
        elif current is not None and line.strip():
            current.lines_text.append(line.strip())
    return out


# --- 001: a department's plan ---------------------------------------------------------------------

OBJECTIVE_GROUPS = {"a": "general", "b": "by-2025", "c": "by-2030"}


def parse_department_plan(path: Path) -> ParsedPlan:
    """Objectives (general, to 2025, to 2030), requirements, the six content areas."""
    lines = _numbered(path)
    title = _title_lines(lines, "Thực hiện Kế hoạch")
    plan = ParsedPlan(
        code=_code(path),
        title=title,
        kind="department",
        owner_name="Sở Khoa học và Công nghệ",
        year_start=2023,
        year_end=2030,
    )
    section = ParsedSection("II", "Nội dung thực hiện")
    roman = number = letter = ""
    task: ParsedTask | None = None
    details: list[str] = []
    notes: list[str] = []
    for block in _blocks_with_lines(lines):
        if block.kind == "roman":
            roman, number, letter = block.label, "", ""
            continue
        if block.kind == "number":
            number, letter = block.label, ""
            if roman == "II":
                if task:
                    task.details = "\n".join(details)
                title_text, intro = _split_title(block.lines_text)
                task = ParsedTask(block.label, title_text, lines=[block.line])
                details = [intro] if intro else []
                section.tasks.append(task)
            elif roman == "III":
                notes.append(block.text)
            continue
        if block.kind == "letter":
            letter = block.label
            if roman == "I" and number == "1":
                if letter == "a" and len(block.lines_text) > 1:  # the general objective is prose
                    plan.objectives.append(("general", " ".join(block.lines_text[1:])))
                continue
            if roman == "I" and number == "2":
                plan.objectives.append(("requirement", block.text))
            elif roman == "II":
                details.append(block.text)
            continue
        if roman == "I" and number == "1":
            plan.objectives.append((OBJECTIVE_GROUPS.get(letter, "general"), block.text))
        elif roman == "II" and task:
            details.append(("- " if block.kind == "bullet" else "") + block.text)
        elif roman == "III":
            notes.append(block.text)
    if task:
        task.details = "\n".join(details)
    for t in section.tasks:
        t.deadline = "2023-2025"
    plan.description = "\n".join(notes)
    plan.sections.append(section)
    return plan


# --- dispatch -----------------------------------------------------------------------------------


def _code(path: Path) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", fold(path.stem)).strip("-")[:80] or "plan"


def parse_file(path: Path) -> ParsedPlan:
    """Recognise a seed document by its content (never by its name alone) or read an XLSX plan."""
    if path.suffix.lower() == ".xlsx":
        from attt.plans.xlsx import parse_xlsx

        return parse_xlsx(path)
    text = path.read_text(encoding="utf-8")
    key = fold(text[:3000])
    if "phu luc nhiem vu, giai phap" in key:
        return parse_province_tasks(path)
    if "chi tieu chien luoc theo nam" in fold(text):
        return parse_action_plan(path)
    if "nhiem vu trong tam nam 2024" in fold(text) and "danh sach van ban" in fold(text):
        return parse_key_tasks(path)
    if "noi dung thuc hien" in fold(text):
        return parse_department_plan(path)
    raise ValueError(f"{path.name}: not a recognised plan document")
