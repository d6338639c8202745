"""The implementation report the plans ask for (before 5 December each year, or per period for
recurring tasks): tasks and results, indicator values, difficulties, proposals; as DOCX in the
Vietnamese administrative layout and as XLSX."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.utils import timezone

from attt.core import scoping
from attt.core.spreadsheets import append_row, printable
from attt.plans import services
from attt.plans.models import Assignment, IndicatorValue, Plan, ProgressReport, Status

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_VI = {
    Status.NOT_STARTED: "Chưa triển khai",
    Status.IN_PROGRESS: "Đang triển khai",
    Status.DONE: "Hoàn thành",
    Status.OVERDUE: "Quá hạn",
    Status.BLOCKED: "Vướng mắc",
}


@dataclass
class ReportData:
    plan: Plan
    period: str
    unit: str
    rows: list[dict] = field(default_factory=list)
    indicators: list[dict] = field(default_factory=list)
    difficulties: list[str] = field(default_factory=list)
    proposals: list[str] = field(default_factory=list)


def collect(user, plan: Plan, *, period: str, organization=None) -> ReportData:
    """Rows for every assignment of the plan the user may export (in `organization`'s subtree when given): one
    unit's report, which lists the indicators its tasks refer to, or, for the plan's owner, the consolidated
    report of all units, which lists every indicator. A download is an export, so
    assignments, their reports, indicators and values come from the user's export scope, not the wider view
    scope a leader's role may give."""
    qs = scoping.visible(
        user, Assignment.objects.filter(task__plan=plan).select_related("task__section", "organization"), "export"
    )
    if organization is not None:
        qs = qs.filter(organization__path__startswith=organization.path)
    progress = scoping.visible(user, ProgressReport.objects.filter(assignment__in=qs, period=period), "export")
    reports = {r.assignment_id: r for r in progress}
    data = ReportData(plan, period, organization.name if organization else plan.organization.name)
    for a in qs.order_by("task__section__order", "task__order", "organization__name"):
        r = reports.get(a.pk)
        data.rows.append(
            {
                "section": a.task.section.code,
                "number": a.task.number,
                "task": a.task.content,
                "unit": a.organization.name,
                "status": STATUS_VI.get(r.status if r else a.status, ""),
                "progress": r.progress if r else a.progress,
                "result": (r.comment if r else a.comment) or "",
                "deadline": a.task.deadline_text,
            }
        )
        if r and r.difficulties:
            data.difficulties.append(f"{a.organization.name}: {r.difficulties}")
        if r and r.proposals:
            data.proposals.append(f"{a.organization.name}: {r.proposals}")
    values = scoping.visible(
        user, IndicatorValue.objects.filter(indicator__plan=plan, period__in=services.value_periods(period)), "export"
    )
    by_indicator: dict = {}  # indicator → period → values in the user's export scope
    for v in values.order_by("organization__name"):
        by_indicator.setdefault(v.indicator_id, {}).setdefault(v.period, []).append(v.value)
    indicators = scoping.visible(user, plan.indicators.all(), "export")
    if organization is not None:  # a unit's report: the indicators its tasks serve, not the whole plan's
        referred = {n for refs in qs.values_list("task__indicator_refs", flat=True) for n in refs or ()}
        indicators = indicators.filter(number__in=referred)
    for ind in indicators:
        recorded = by_indicator.get(ind.pk, {})
        shown = services.value_period(period, recorded)
        data.indicators.append(
            {
                "number": ind.number,
                "name": ind.name,
                "baseline": ind.baseline,
                "planned": ind.planned,
                "target": ind.target,
                "value": "; ".join(recorded.get(shown, [])),
                "value_period": shown or "",
            }
        )
    return data


def value_text(indicator: dict, period: str) -> str:
    """The value as the report shows it: labelled with its period when it is not the report's own (a month's
    value in a quarterly report)."""
    if indicator["value_period"] in ("", period):
        return indicator["value"]
    return f"{indicator['value']} (số liệu kỳ {indicator['value_period']})"


def to_docx(data: ReportData) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)
    head = doc.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    left.text = printable(data.unit.upper())
    right.text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    for cell in (left, right):
        for p in cell.paragraphs:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for run in p.runs:
                run.bold = True
    today = timezone.localdate()
    p = doc.add_paragraph(f"ngày {today.day:02d} tháng {today.month:02d} năm {today.year}")
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.runs[0].italic = True
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("BÁO CÁO")
    run.bold = True
    sub = doc.add_paragraph(printable(f"Tình hình thực hiện {data.plan.title} – kỳ báo cáo {data.period}"))
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub.runs[0].bold = True
    doc.add_paragraph("I. KẾT QUẢ THỰC HIỆN NHIỆM VỤ").runs[0].bold = True
    table = doc.add_table(rows=1, cols=6)
    table.style = "Table Grid"
    for cell, text in zip(
        table.rows[0].cells, ["TT", "Nhiệm vụ", "Đơn vị", "Tình trạng", "Tiến độ", "Kết quả"], strict=True
    ):
        cell.text = text
    for row in data.rows:
        cells = table.add_row().cells
        values = [
            f"{row['section']}.{row['number']}",
            row["task"],
            row["unit"],
            row["status"],
            f"{row['progress']}%",
            row["result"],
        ]
        for cell, text in zip(cells, values, strict=True):
            cell.text = printable(str(text))
    doc.add_paragraph("II. KẾT QUẢ THỰC HIỆN CHỈ TIÊU").runs[0].bold = True
    if data.indicators:
        ind = doc.add_table(rows=1, cols=5)
        ind.style = "Table Grid"
        for cell, text in zip(
            ind.rows[0].cells, ["TT", "Chỉ tiêu", "Kết quả kỳ trước", "Mục tiêu", "Kết quả kỳ này"], strict=True
        ):
            cell.text = text
        for i in data.indicators:
            cells = ind.add_row().cells
            for cell, text in zip(
                cells,
                [str(i["number"]), i["name"], i["baseline"], i["target"], value_text(i, data.period)],
                strict=True,
            ):
                cell.text = printable(text)
    doc.add_paragraph("III. KHÓ KHĂN, VƯỚNG MẮC").runs[0].bold = True
    for line in data.difficulties or ["Không có."]:
        doc.add_paragraph(printable(f"- {line}"))
    doc.add_paragraph("IV. ĐỀ XUẤT, KIẾN NGHỊ").runs[0].bold = True
    for line in data.proposals or ["Không có."]:
        doc.add_paragraph(printable(f"- {line}"))
    sign = doc.add_paragraph("THỦ TRƯỞNG ĐƠN VỊ")
    sign.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    sign.runs[0].bold = True
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def to_xlsx(data: ReportData) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Nhiệm vụ"
    append_row(sheet, [f"Báo cáo tình hình thực hiện – {data.plan.title[:150]} – {data.period}"])
    sheet["A1"].font = Font(bold=True)
    append_row(sheet, ["Phần", "TT", "Nhiệm vụ", "Đơn vị", "Thời hạn", "Tình trạng", "Tiến độ (%)", "Kết quả"])
    for row in data.rows:
        append_row(
            sheet,
            [
                row["section"],
                row["number"],
                row["task"],
                row["unit"],
                row["deadline"],
                row["status"],
                row["progress"],
                row["result"],
            ],
        )
    ind = book.create_sheet("Chỉ tiêu")
    append_row(
        ind, ["TT", "Chỉ tiêu", "Kết quả 2023", "Kế hoạch 2024", "Mục tiêu 2025", "Kết quả kỳ này", "Kỳ số liệu"]
    )
    for i in data.indicators:
        append_row(
            ind, [i["number"], i["name"], i["baseline"], i["planned"], i["target"], i["value"], i["value_period"]]
        )
    other = book.create_sheet("Khó khăn, đề xuất")
    append_row(other, ["Khó khăn, vướng mắc"])
    for line in data.difficulties:
        append_row(other, [line])
    append_row(other, ["Đề xuất, kiến nghị"])
    for line in data.proposals:
        append_row(other, [line])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
