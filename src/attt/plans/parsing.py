"""Readers for the plan documents as they come out of office files: tab-separated table rows with
HTML inside cells, headers repeated at page breaks, rows continued by a row with an empty first cell,
and prose wrapped over short lines. Pure functions (no database), so they are fuzz-tested alone."""

from __future__ import annotations

import calendar
import datetime
import html
import re
import unicodedata
from dataclasses import dataclass, field

# --- text helpers -------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def clean_cell(text: str) -> str:
    """A cell as plain text: list items and paragraphs become separate "- " lines, tags vanish."""
    text = re.sub(r"(?i)<\s*(li|p|br)\b[^>]*>", "\n", text or "")
    text = html.unescape(_TAG.sub(" ", text))
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def fold(text: str) -> str:
    """Case- and accent-insensitive key ("Sở TT&TT" and "so tt&tt" compare equal)."""
    text = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return _SPACE.sub(" ", text).strip().casefold()


def split_units(text: str) -> list[str]:
    """The unit names of a cell such as "- Cục Viễn thông. - VNNIC. Các đơn vị liên quan."."""
    parts = re.split(r"(?:^|\n|\s)-\s+|\n|;", clean_cell(text))
    out = []
    for part in parts:
        part = part.strip().rstrip(".;,").strip()
        for piece in re.split(r"\.\s+(?=[A-ZĐÀ-Ỹ])", part):
            piece = piece.strip().rstrip(".").strip()
            if piece and piece not in out:
                out.append(piece)
    return out


INDICATOR_REF = re.compile(r"\((\d{1,2})\)")


def indicator_refs(text: str) -> list[int]:
    """ "(1) (2)" or "Chỉ tiêu (2)" → [1, 2]."""
    return sorted({int(n) for n in INDICATOR_REF.findall(text or "")})


# --- deadlines ----------------------------------------------------------------------------------

ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
_DASH = re.compile("[\u2010-\u2015\u2212]")


@dataclass(frozen=True)
class Deadline:
    """A deadline as data. kind: date (due by `due`), range (from `start` to `due`), continuous,
    yearly, quarterly, monthly, lead_plan (per the lead unit's plan), approved_plan, unknown."""

    kind: str
    raw: str = ""
    start: datetime.date | None = None
    due: datetime.date | None = None
    day: int | None = None  # recurring: before this day of the period's last month

    @property
    def recurring(self) -> bool:
        return self.kind in {"continuous", "yearly", "quarterly", "monthly"}


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def parse_deadline(text: str, default_year: int | None = None) -> Deadline:
    """Normalise the deadline column. Never raises: what it cannot read is kind "unknown"."""
    raw = clean_cell(text or "").replace("\n", " ").strip()
    key = _DASH.sub("-", fold(raw))  # office files write ranges with en dashes
    if not key:
        return Deadline("unknown", raw)
    found = re.findall(r"thang (\d{1,2})\s*/\s*(\d{4})", key)
    months = [(int(y), int(m)) for m, y in found if 1 <= int(m) <= 12 and 1900 < int(y) < 2200]
    if months:  # "Tháng 9/2024 - Tháng 12/2024": milestones, the task runs to the last one
        (y1, m1), (y2, m2) = min(months), max(months)
        kind = "date" if len(set(months)) == 1 else "range"
        return Deadline(kind, raw, datetime.date(y1, m1, 1), _month_end(y2, m2))
    m = re.search(r"quy ([ivx]+)(?:\s*-\s*([ivx]+))?\s*/\s*(\d{4})", key)
    if m and m.group(1).upper() in ROMAN and (m.group(2) is None or m.group(2).upper() in ROMAN):
        q1 = ROMAN[m.group(1).upper()]
        q2 = ROMAN[m.group(2).upper()] if m.group(2) else q1
        year = int(m.group(3))
        if q1 <= q2 and 1900 < year < 2200:
            return Deadline("range", raw, datetime.date(year, 3 * q1 - 2, 1), _month_end(year, 3 * q2))
    m = re.fullmatch(r"(?:giai doan |nam |trong nam )?(\d{4})\s*-\s*(\d{4})", key)
    if m and 1900 < int(m.group(1)) <= int(m.group(2)) < 2200:
        return Deadline("range", raw, datetime.date(int(m.group(1)), 1, 1), datetime.date(int(m.group(2)), 12, 31))
    m = re.fullmatch(r"(?:nam |trong nam )?(\d{4})", key)
    if m and 1900 < int(m.group(1)) < 2200:
        year = int(m.group(1))
        return Deadline("date", raw, datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    m = re.fullmatch(r"truoc (?:ngay )?(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})", key)
    if m and 1900 < int(m.group(3)) < 2200:
        try:
            return Deadline("date", raw, due=datetime.date(int(m.group(3)), int(m.group(2)), int(m.group(1))))
        except ValueError:  # 31/02: no such day
            return Deadline("unknown", raw)
    m = re.search(r"truoc ngay (\d{1,2}) cua thang cuoi quy", key)
    if m and 1 <= int(m.group(1)) <= 31:
        return Deadline("quarterly", raw, day=int(m.group(1)))
    m = re.search(r"truoc (?:ngay )?(\d{1,2}) hang thang", key)
    if m and 1 <= int(m.group(1)) <= 31:
        return Deadline("monthly", raw, day=int(m.group(1)))
    if "hang nam" in key:
        return Deadline("yearly", raw)
    if "hang quy" in key:
        return Deadline("quarterly", raw)
    if "hang thang" in key:
        return Deadline("monthly", raw)
    if "thuong xuyen" in key:
        return Deadline("continuous", raw)
    if "don vi chu tri" in key:
        return Deadline("lead_plan", raw)
    if "ke hoach" in key:
        return Deadline("approved_plan", raw)
    return Deadline("unknown", raw)


# --- tables -------------------------------------------------------------------------------------

HEADER_FIRST = {"tt", "stt"}


@dataclass
class Row:
    """One logical table row: its cells with every continuation joined, and the source lines."""

    cells: list[str]
    lines: list[int] = field(default_factory=list)

    def cell(self, i: int) -> str:
        return clean_cell(self.cells[i]) if i < len(self.cells) else ""


@dataclass
class Table:
    header: list[str]
    rows: list[Row] = field(default_factory=list)


def _join(a: str, b: str) -> str:
    a, b = a.strip(), b.strip()
    if not a or not b:
        return a or b
    return f"{a} {b}"


def is_header(cells: list[str]) -> bool:
    return bool(cells) and fold(cells[0]) in HEADER_FIRST and len(cells) > 2


def read_table(lines: list[tuple[int, str]], unparsed: list[tuple[int, str]] | None = None) -> list[Row]:
    """Rows of one table from (line number, text) pairs. A header row (first cell TT/STT) repeated
    at a page break is skipped; a row whose first cell is empty continues the previous row cell by
    cell; a row whose first cell is a number starts a new row. Anything else goes to `unparsed`."""
    rows: list[Row] = []
    for number, line in lines:
        if not line.strip():
            continue
        cells = line.rstrip("\n").split("\t")
        if is_header(cells):
            continue
        first = cells[0].strip()
        if re.fullmatch(r"\d{1,3}\.?", first):
            rows.append(Row([first.rstrip("."), *[c.strip() for c in cells[1:]]], [number]))
        elif first == "" and rows and len(cells) > 1:
            row = rows[-1]
            for i, text in enumerate(cells[1:], start=1):
                while len(row.cells) <= i:
                    row.cells.append("")
                row.cells[i] = _join(row.cells[i], text)
            row.lines.append(number)
        elif unparsed is not None:
            unparsed.append((number, line))
    return rows


# --- outlines (prose documents) -----------------------------------------------------------------

ROMAN_HEADING = re.compile(r"^([IVX]+)\.\s+(.*)$")
NUM_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})?)\.\s+(.*)$")
LETTER_HEADING = re.compile(r"^([a-zđ])\)\s+(.*)$")
BULLET = re.compile(r"^[-–•]\s*(.*)$")


@dataclass
class Block:
    """A heading or a bullet of a prose document, with its wrapped lines joined."""

    kind: str  # roman, number, letter, bullet, text
    label: str
    text: str
    line: int


def read_outline(lines: list[tuple[int, str]]) -> list[Block]:
    """Blocks of a prose document. A line that starts no block continues the last one."""
    blocks: list[Block] = []
    for number, raw in lines:
        line = raw.strip()
        if not line:
            continue
        for kind, pattern in (("roman", ROMAN_HEADING), ("number", NUM_HEADING), ("letter", LETTER_HEADING)):
            m = pattern.match(line)
            if m:
                blocks.append(Block(kind, m.group(1), m.group(2).strip(), number))
                break
        else:
            m = BULLET.match(line)
            if m:
                blocks.append(Block("bullet", "-", m.group(1).strip(), number))
            elif blocks:
                blocks[-1].text = _join(blocks[-1].text, line)
            else:
                blocks.append(Block("text", "", line, number))
    return blocks


# --- legal documents ----------------------------------------------------------------------------

DOC_KINDS = ("Luật", "Nghị định", "Quyết định", "Thông tư", "Chỉ thị", "Công điện", "Công văn", "Hướng dẫn")
ISSUERS = {
    "ttg": "Thủ tướng Chính phủ",
    "cp": "Chính phủ",
    "btttt": "Bộ Thông tin và Truyền thông",
    "cattt": "Cục An toàn thông tin",
}
_DATE_WORDS = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+(?:năm|tháng)\s+(\d{4})")
_DATE_SLASH = re.compile(r"(?:ngày\s+)?(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclass
class LegalRef:
    kind: str
    number: str
    date: datetime.date | None
    issuer: str
    title: str
    raw: str


def parse_legal_reference(text: str) -> LegalRef | None:
    """ "Thông tư số 12/2022/TT-BTTTT ngày 12 tháng 8 năm 2022 của Bộ ... quy định ..." as fields."""
    raw = _SPACE.sub(" ", text).strip().rstrip(";.").rstrip("./").strip()
    kind = next((k for k in DOC_KINDS if raw.startswith(k)), None)
    if kind is None:
        return None
    rest = raw[len(kind) :].strip()
    number = ""
    m = re.match(r"số\s+(\S+)\s*", rest)
    if m:
        number, rest = m.group(1), rest[m.end() :]
    date = None
    for pattern in (_DATE_WORDS, _DATE_SLASH):
        m = pattern.search(rest)
        if m and m.start() < 40:
            try:
                date = datetime.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                date = None
            head = rest[: m.start()].strip()
            rest = rest[m.end() :].strip()
            if kind == "Luật" and head:
                rest = rest  # the law's name is before the date
                number = ""
                title_prefix = head
                break
            title_prefix = head
            break
    else:
        title_prefix = ""
    issuer = ""
    m = re.match(r"của\s+(.+?)(?:\s+(?=về\b|ban hành|Ban hành|phê duyệt|Phê duyệt|quy định|hướng dẫn)|$)", rest)
    if m:
        issuer, rest = m.group(1).strip(), rest[m.end() :].strip()
    elif number:
        suffix = fold(number.rsplit("-", 1)[-1])
        issuer = ISSUERS.get(suffix, "")
    if kind == "Luật":
        title = f"{kind} {title_prefix}".strip()
        issuer = issuer or "Quốc hội"
    else:
        title = rest.removeprefix("về việc").removeprefix("về").strip()
    return LegalRef(kind, number, date, issuer, title or raw, raw)
