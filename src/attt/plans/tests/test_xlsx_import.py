"""Importing a plan from XLSX: a file that cannot be imported whole is refused with every bad row named
(sheet and row), the command exits 2 with the reason, and nothing of the plan is written; a good file is
written in one transaction."""

import datetime
import math
from io import StringIO
from types import SimpleNamespace

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.chart import BarChart, Reference

from attt.core import audit
from attt.core.tests.test_workbooks import inline, minimal_xlsx, row
from attt.plans import importer
from attt.plans.importer import import_plan
from attt.plans.models import Indicator, Plan, Section, Task
from attt.plans.seeds import ParsedIndicator, ParsedPlan, ParsedSection, ParsedTask
from attt.plans.xlsx import parse_xlsx, write_xlsx

TASKS = [["I", "Mục I", "1", "Rà soát hệ thống"], ["I", "Mục I", "2", "Đào tạo"], ["II", "Mục II", "1", "Diễn tập"]]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def book(path, tasks=TASKS, indicators=None, meta=None, with_tasks=True, header=None):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Plan"
    for key, value in (meta or {"code": "ke-hoach-thu", "title": "Kế hoạch thử"}).items():
        sheet.append([key, value])
    if with_tasks:
        tasks_sheet = workbook.create_sheet("Tasks")
        tasks_sheet.append(header or ["section", "section_title", "number", "content", "lead", "deadline"])
        for values in tasks:
            tasks_sheet.append(values)
    if indicators is not None:
        sheet = workbook.create_sheet("Indicators")
        sheet.append(["number", "name", "baseline", "planned", "target"])
        for values in indicators:
            sheet.append(values)
    workbook.save(path)
    return path


def refused(path) -> str:
    """The command's message for a refused file; it exits 2 and writes nothing."""
    with pytest.raises(CommandError) as caught:
        call_command("plans", "import", str(path), stdout=StringIO())
    assert caught.value.returncode == 2
    assert not Plan.objects.filter(code="ke-hoach-thu").exists() and not Task.objects.exists()
    return str(caught.value)


# --- The review's cases -----------------------------------------------------------------------------------


def test_a_workbook_without_a_tasks_sheet_is_refused(tree, tmp_path):
    assert refused(book(tmp_path / "a.xlsx", with_tasks=False)) == (
        "a.xlsx: The workbook has no sheet named 'Tasks' (one row per task)."
    )


def test_a_chart_sheet_named_tasks_is_not_the_tasks_sheet(tree, tmp_path):
    path = book(tmp_path / "chart.xlsx", with_tasks=False)
    workbook = openpyxl.load_workbook(path)
    chart = BarChart()
    chart.add_data(Reference(workbook["Plan"], min_col=1, min_row=1, max_row=2))
    workbook.create_chartsheet("Tasks").add_chart(chart)
    workbook.save(path)
    assert "no sheet named 'Tasks'" in refused(path)


def test_a_damaged_file_is_refused(tree, tmp_path):
    path = tmp_path / "b.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert refused(path) == "b.xlsx: The file is not a readable XLSX workbook."


@pytest.mark.parametrize("number", ["inf", "abc", 1.5, -1, 40_000, math.inf, True, datetime.date(2024, 1, 1)])
def test_an_indicator_number_must_be_a_whole_number_the_database_keeps(tree, tmp_path, number):
    message = refused(book(tmp_path / "c.xlsx", indicators=[[1, "Chỉ tiêu một"], [number, "Chỉ tiêu"]]))
    assert message == (
        "c.xlsx cannot be imported; nothing was written:\n"
        "Indicators row 3, number: expected a whole number from 0 to 32767"
    )


def test_indicator_numbers_typed_as_numbers_or_text_are_read(tree, tmp_path):
    import_plan(book(tmp_path / "c.xlsx", indicators=[[1, "Một"], [2.0, "Hai"], [" 3 ", "Ba", "10%", "20%", "30%"]]))
    assert list(Indicator.objects.order_by("number").values_list("number", "target")) == [(1, ""), (2, ""), (3, "30%")]


def test_a_task_number_used_twice_in_a_section_is_refused_not_merged(tree, tmp_path):
    """Before, the second task overwrote the first: 'Rà soát hệ thống' was lost without a word."""
    tasks = [["I", "Mục I", "1", "Rà soát hệ thống"], ["I", "Mục I", "1", "Diễn tập"], ["II", "", "1", "Khác"]]
    assert refused(book(tmp_path / "e.xlsx", tasks)) == (
        "e.xlsx cannot be imported; nothing was written:\nTasks row 3, number: task 1 of section I is already on row 2"
    )


def test_values_longer_than_their_columns_are_refused_with_the_models_limits(tree, tmp_path):
    """On PostgreSQL a 41-character section code was a DataError traceback (varchar(40))."""
    tasks = [
        ["Mục " + "I" * 40, "", "1", "Việc dài"],
        ["I", "", "1.2.3.4.5.6.7.8.9.10.11", "Việc", "", "x" * 300],
    ]
    meta = {"code": "ke-hoach-thu", "title": "T" * 501}
    message = refused(book(tmp_path / "f.xlsx", tasks, [[1, "Chỉ tiêu", "b" * 101]], meta=meta))
    assert message.splitlines()[1:] == [
        "Plan row 2, title: longer than 500 characters",
        "Tasks row 2, section: longer than 40 characters",
        "Tasks row 3, number: longer than 20 characters",
        "Tasks row 3, deadline: longer than 255 characters",
        "Indicators row 2, baseline: longer than 100 characters",
    ]
    assert Section._meta.get_field("code").max_length == 40


# --- Other bad values -------------------------------------------------------------------------------------


def test_a_formula_without_a_saved_result_is_refused(tree, tmp_path):
    message = refused(book(tmp_path / "g.xlsx", [["I", "", "1", "=CONCAT(A1,B1)"]], [["=1+1", "Chỉ tiêu"]]))
    assert message.splitlines()[1:] == [
        "Tasks row 2, content: A formula without a saved result (=CONCAT(A1,B1)): open and save the file in Excel, "
        "or paste values.",
        "Indicators row 2, number: A formula without a saved result (=1+1): open and save the file in Excel, "
        "or paste values.",
    ]


def test_a_formula_with_a_saved_result_imports_its_result(tree, tmp_path):
    path = tmp_path / "h.xlsx"
    header = row(1, *(inline(f"{c}1", n) for c, n in zip("ABC", ["section", "number", "content"], strict=True)))
    body = row(2, inline("A2", "I"), '<c r="B2"><f>1+1</f><v>2</v></c>', inline("C2", "Việc"))
    path.write_bytes(minimal_xlsx([header, body], sheets=("Tasks",)))
    import_plan(path)
    assert Task.objects.get().number == "2"


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        ({"code": "kế hoạch"}, "Plan row 1, code: only letters, digits, '-' and '_'"),
        ({"code": "kh", "kind": "strategy"}, "Plan row 2, kind: one of: national, ministry, province, department, "),
    ],
)
def test_the_plan_sheet_is_checked(tree, tmp_path, meta, problem):
    assert problem in refused(book(tmp_path / "m.xlsx", meta=meta))


def test_the_number_and_content_columns_are_required(tree, tmp_path):
    path = book(tmp_path / "n.xlsx", [["I", "1", "Việc"]], header=["section", "so", "noi dung"])
    assert refused(path).splitlines()[1:] == ["Tasks row 1, number, content: required column missing"]


def test_every_bad_row_is_reported_at_once(tree, tmp_path):
    tasks = [["I", "", "1", "Một"], ["I", "", "1", "Hai"], ["I" * 41, "", "2", "Ba"], ["I", "", "3", "=A1"]]
    assert len(refused(book(tmp_path / "o.xlsx", tasks)).splitlines()) == 4


def test_an_unreadable_file_exits_2(tree, tmp_path):
    path = book(tmp_path / "p.xlsx")
    path.chmod(0)
    try:
        try:
            path.open("rb").close()
        except PermissionError:
            assert refused(path) == "p.xlsx: The file cannot be read (Permission denied)."
        else:
            pytest.skip("this user reads any file (root)")
    finally:
        path.chmod(0o600)


# --- All or nothing ---------------------------------------------------------------------------------------


def test_a_good_workbook_is_imported_and_reimporting_changes_nothing(tree, tmp_path):
    path = book(tmp_path / "ok.xlsx", indicators=[[1, "Chỉ tiêu", "1", "2", "3"]])
    out = StringIO()
    call_command("plans", "import", str(path), stdout=out)
    assert "total 3 tasks, 1 indicators" in out.getvalue()
    call_command("plans", "import", str(path), stdout=StringIO())
    assert (Plan.objects.count(), Section.objects.count(), Task.objects.count()) == (1, 2, 3)


def test_a_failure_while_writing_leaves_the_earlier_import_as_it_was(tree, tmp_path, monkeypatch):
    """The writes are one transaction: a failure after the plan row (a cycle refused by set_parent) or after
    every section and task (the closing audit record) rolls all of them back."""
    import_plan(book(tmp_path / "v1.xlsx"))
    import_plan(book(tmp_path / "child.xlsx", meta={"code": "con", "title": "Con"}), parent=Plan.objects.get())
    state = lambda: sorted(Task.objects.values_list("plan__title", "section__code", "number", "content"))  # noqa: E731
    before = state()
    v2 = book(
        tmp_path / "v2.xlsx",
        [["I", "Mục I", "1", "Nội dung mới"], ["III", "Mục III", "9", "Việc mới"]],
        meta={"code": "ke-hoach-thu", "title": "Tên mới"},
    )
    with pytest.raises(ValidationError):  # ke-hoach-thu under its own child
        import_plan(v2, parent=Plan.objects.get(code="con"))
    assert state() == before and Plan.objects.get(code="ke-hoach-thu").title == "Kế hoạch thử"

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(importer, "audit", SimpleNamespace(lock_chain=audit.lock_chain, record=fail))
    with pytest.raises(RuntimeError):
        import_plan(v2)
    assert state() == before and not Section.objects.filter(code="III").exists()


def test_written_text_stays_text_when_read_back(tree, tmp_path):
    """A task typed as '=…' is written as text, not as a formula that the import would then refuse."""
    plan = ParsedPlan(
        code="ban-sao",
        title="Bản sao",
        kind="ministry",
        owner_name="",
        sections=[ParsedSection("I", "Mục I", [ParsedTask("1", '=HYPERLINK("x")', deadline="Tháng 6/2024")])],
        indicators=[ParsedIndicator(1, "Chỉ tiêu", "", "", "")],
    )
    again = parse_xlsx(write_xlsx(plan, tmp_path / "copy.xlsx"))
    assert again.sections[0].tasks[0].content == '=HYPERLINK("x")' and again.indicators[0].number == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the varchar limit is PostgreSQL's")
def test_long_values_never_reach_postgresql(tree, tmp_path):
    assert "longer than 40 characters" in refused(book(tmp_path / "pg.xlsx", [["Mục " + "I" * 40, "", "1", "Việc"]]))


# --- Property tests ---------------------------------------------------------------------------------------

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
CELLS = st.one_of(
    st.none(),
    TEXT,
    st.sampled_from(["I", "II", "1", "1.1", "Tháng 6/2024", "(1) (2)", "=1+1", "=A1", "#N/A", " "]),
    st.text(st.sampled_from("aăâ "), min_size=30, max_size=600),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime.datetime(1900, 3, 1), max_value=datetime.datetime(2100, 1, 1)),
)
HEADERS = st.lists(
    st.sampled_from(["section", "section_title", "number", "content", "lead", "deadline", "indicators", "x", None]),
    max_size=8,
)


@pytest.mark.django_db
@FUZZ
@given(
    meta=st.lists(st.tuples(st.sampled_from(["code", "title", "kind", "owner", "x"]), CELLS), max_size=4),
    header=HEADERS,
    tasks=st.lists(st.lists(CELLS, max_size=8), max_size=8),
    indicators=st.one_of(st.none(), st.lists(st.lists(CELLS, max_size=5), max_size=5)),
)
def test_any_workbook_is_imported_whole_or_refused_with_a_value_error(tree, tmp_path, meta, header, tasks, indicators):
    Plan.objects.all().delete()
    path = book(tmp_path / "fuzz.xlsx", tasks, indicators, meta=dict(meta), header=header or ["x"])
    try:
        summary = import_plan(path)
    except ValueError as exc:
        assert str(exc).startswith("fuzz.xlsx")
        assert not Plan.objects.exists() and not Task.objects.exists() and not Indicator.objects.exists()
        event("refused")
        return
    event("imported")
    plan = Plan.objects.get()
    assert Task.objects.filter(plan=plan).count() == summary["total_tasks"]
    assert Indicator.objects.filter(plan=plan).count() == summary["indicators"]
