"""Official documents in the Decree 30/2020 layout, from a neutral outline: compliance's reports and other
modules' forms (incident notifications, closure reports) share this writer."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from attt.core.spreadsheets import printable

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


def number_text(value: float | int) -> str:
    """Numbers as Vietnamese documents write them: 1.234 and 69,2."""
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{value:,}".replace(",", ".")


def cell_text(value) -> str:
    """A table value as the DOCX and PDF print it (the XLSX keeps numbers as numbers)."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return str(value)


@dataclass
class Table:
    headers: list[str]
    rows: list[list]
    title: str = ""
    widths: list[float] = field(default_factory=list)  # relative column widths


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class Outline:
    parent_name: str
    organization_name: str
    form: str
    number_line: str
    date_line: str
    title: str
    subtitle: str
    sections: list[Section]
    recipients: list[str]
    signer: str


def outline_docx(doc_outline: Outline) -> bytes:
    """Any outline as a Word document in the Decree 30/2020 layout (incident forms use it too)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Times New Roman")
    style.font.size = Pt(13)
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)

    def paragraph(cell_or_doc, text: str, *, bold=False, italic=False, size=None, align=None, space_after=0):
        p = cell_or_doc.add_paragraph()
        run = p.add_run(printable(text))  # notes pasted from a word processor may hold control characters
        run.bold, run.italic = bold, italic
        if size:
            run.font.size = Pt(size)
        if align is not None:
            p.alignment = align
        p.paragraph_format.space_after = Pt(space_after)
        return p

    center = WD_ALIGN_PARAGRAPH.CENTER
    if doc_outline.form:
        paragraph(document, doc_outline.form, bold=True, size=12, align=WD_ALIGN_PARAGRAPH.RIGHT)
    header = document.add_table(rows=1, cols=2)
    header.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = header.rows[0].cells
    left.width, right.width = Cm(6.5), Cm(9.5)
    left.paragraphs[0].text = ""
    if doc_outline.parent_name:
        paragraph(left, doc_outline.parent_name, size=12, align=center)
    paragraph(left, doc_outline.organization_name, bold=True, size=12, align=center)
    paragraph(left, "_______", align=center)
    paragraph(left, doc_outline.number_line, size=13, align=center)
    right.paragraphs[0].text = ""
    paragraph(right, MOTTO[0], bold=True, size=12, align=center)
    paragraph(right, MOTTO[1], bold=True, size=13, align=center)
    paragraph(right, "_______________________", align=center)
    paragraph(right, doc_outline.date_line, italic=True, size=13, align=center)
    paragraph(document, "", space_after=6)
    paragraph(document, doc_outline.title, bold=True, size=14, align=center)
    paragraph(document, doc_outline.subtitle, bold=True, size=13, align=center, space_after=12)
    for block in doc_outline.sections:
        paragraph(document, block.heading, bold=True, space_after=6)
        for text in block.paragraphs:
            p = paragraph(document, text, space_after=6)
            p.paragraph_format.first_line_indent = Cm(1)
            p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        for table in block.tables:
            if len(table.headers) > 7 and document.sections[-1].orientation != WD_ORIENT.LANDSCAPE:
                landscape = document.add_section()  # wide tables go on landscape pages, as in the form
                landscape.orientation = WD_ORIENT.LANDSCAPE
                landscape.page_width, landscape.page_height = Cm(29.7), Cm(21)
            _docx_table(document, table, Pt)
    paragraph(document, "", space_after=6)
    footer = document.add_table(rows=1, cols=2)
    left, right = footer.rows[0].cells
    left.paragraphs[0].text = ""
    paragraph(left, "Nơi nhận:", bold=True, italic=True, size=12)
    for line in doc_outline.recipients:
        paragraph(left, f"- {line}", size=11)
    right.paragraphs[0].text = ""
    paragraph(right, doc_outline.signer, bold=True, size=13, align=center)
    paragraph(right, "(Ký, ghi rõ họ tên, đóng dấu)", italic=True, size=13, align=center)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_table(document, table: Table, Pt) -> None:
    grid = document.add_table(rows=1, cols=len(table.headers))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, table.headers, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(printable(str(text)))
        run.bold = True
        run.font.size = Pt(11)
    for values in table.rows:
        cells = grid.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(printable(cell_text(value))).font.size = Pt(11)
