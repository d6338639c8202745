"""Which indicator value a plan report shows for its period (`services.value_period`, one rule for DOCX and
XLSX): the period's own value, else the latest period inside it that has one, labelled with that period; never
a value from outside the period, and only values in the user's export scope."""

import calendar
import datetime
import io

import pytest
from docx import Document
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from attt.core.testing import make_user
from attt.plans import services
from attt.plans.models import Indicator, IndicatorValue
from attt.plans.tests.factories import make_assignment, make_plan, make_task

# --- the rule ----------------------------------------------------------------------------------------


def test_a_month_shows_only_its_own_value():
    assert services.value_periods("2024-06") == ["2024-06"]
    assert services.value_period("2024-06", {"2024", "2024-Q2", "2024-05", "2024-07"}) is None
    assert services.value_period("2024-06", {"2024-06", "2024-Q2"}) == "2024-06"


def test_a_quarter_shows_its_value_else_its_latest_month():
    assert services.value_periods("2024-Q2") == ["2024-Q2", "2024-06", "2024-05", "2024-04"]
    assert services.value_period("2024-Q2", {"2024-Q2", "2024-06"}) == "2024-Q2"
    assert services.value_period("2024-Q2", {"2024-04", "2024-05"}) == "2024-05"
    assert services.value_period("2024-Q1", {"2024-01"}) == "2024-01"
    assert services.value_period("2024-Q4", {"2024-10", "2024-12"}) == "2024-12"


def test_a_quarter_never_shows_another_quarter_its_months_or_the_year():
    outside = {"2024", "2024-Q1", "2024-Q3", "2024-03", "2024-07", "2023-Q2", "2025-Q2", "2023-06", "2025-05"}
    assert services.value_period("2024-Q2", outside) is None


def test_a_year_shows_its_value_else_the_latest_quarter_or_month_of_the_year():
    assert services.value_periods("2024") == [
        "2024",
        "2024-Q4",
        "2024-12",
        "2024-11",
        "2024-10",
        "2024-Q3",
        "2024-09",
        "2024-08",
        "2024-07",
        "2024-Q2",
        "2024-06",
        "2024-05",
        "2024-04",
        "2024-Q1",
        "2024-03",
        "2024-02",
        "2024-01",
    ]
    assert services.value_period("2024", {"2024", "2024-Q4", "2024-12"}) == "2024"
    assert services.value_period("2024", {"2024-Q3", "2024-10"}) == "2024-10"  # October ends after Q3
    assert services.value_period("2024", {"2024-Q2", "2024-06", "2024-05"}) == "2024-Q2"  # June's quarter
    assert services.value_period("2024", {"2023", "2025-01", "2023-Q4", "2025"}) is None


def _span(label: str) -> tuple[datetime.date, datetime.date]:
    """The calendar days a period covers (a year to 31 December, not to the yearly report's due date)."""
    year, _sep, part = label.partition("-")
    first, last = (
        (1, 12) if not part else (3 * int(part[1:]) - 2, 3 * int(part[1:])) if part[0] == "Q" else (int(part),) * 2
    )
    return datetime.date(int(year), first, 1), datetime.date(int(year), last, calendar.monthrange(int(year), last)[1])


def _naive(period: str, recorded: set[str]) -> str | None:
    """The rule said plainly: among the recorded periods lying inside the report's, the one ending last, the
    longer on a tie (so the period itself, then a quarter before its last month)."""
    start, end = _span(period)
    inside = [r for r in recorded if start <= _span(r)[0] and _span(r)[1] <= end]
    return max(inside, key=lambda r: (_span(r)[1], -_span(r)[0].toordinal()), default=None)


PERIODS = st.builds(
    lambda year, part: f"{year}{part}",
    st.integers(2023, 2025),
    st.sampled_from(["", *(f"-Q{q}" for q in range(1, 5)), *(f"-{m:02d}" for m in range(1, 13))]),
)


@given(PERIODS, st.sets(PERIODS, max_size=20))
def test_the_rule_agrees_with_the_plain_model(period, recorded):
    chosen = services.value_period(period, recorded)
    assert chosen == _naive(period, recorded)
    assert chosen is None or (chosen in recorded and services.check_period(chosen) == chosen)


# --- the reports -------------------------------------------------------------------------------------

VALUES = {  # indicator number → period → value as the unit wrote it
    1: {
        "2023": "50%",
        "2024": "70%",
        "2024-Q2": "62%",
        "2024-Q3": "66%",
        "2024-05": "59%",
        "2024-06": "61%",
        "2025-Q2": "80%",
    },
    2: {"2024-04": "41 hệ thống", "2024-05": "52 hệ thống", "2024-08": "83 hệ thống"},
    3: {"2023": "12 cuộc", "2024-Q3": "17 cuộc"},
}
EXPECTED = {  # report period → indicator number → the period whose value it shows
    "2024": {1: "2024", 2: "2024-08", 3: "2024-Q3"},
    "2024-Q2": {1: "2024-Q2", 2: "2024-05"},
    "2024-06": {1: "2024-06"},
    "2024-05": {1: "2024-05", 2: "2024-05"},
    "2024-Q3": {1: "2024-Q3", 2: "2024-08", 3: "2024-Q3"},
    "2024-Q4": {},
}


@pytest.fixture
def plan_with_values(tree):
    plan = make_plan(tree.root)
    for number, values in VALUES.items():
        indicator = Indicator.objects.create(
            organization=tree.root, plan=plan, number=number, name=f"Chỉ tiêu {number}"
        )
        for period, value in values.items():
            services.record_indicator_value(indicator, period=period, value=value)
    return plan


def _docx_indicators(content: bytes) -> dict[int, str]:
    """Section II's table: indicator number → the cell "Kết quả kỳ này"."""
    (table,) = [t for t in Document(io.BytesIO(content)).tables if t.rows[0].cells[1].text == "Chỉ tiêu"]
    assert table.rows[0].cells[4].text == "Kết quả kỳ này"
    return {int(row.cells[0].text): row.cells[4].text for row in table.rows[1:]}


def _xlsx_indicators(content: bytes) -> dict[int, str]:
    """The sheet "Chỉ tiêu": indicator number → "value | period of the value"."""
    rows = list(load_workbook(io.BytesIO(content))["Chỉ tiêu"].iter_rows(values_only=True))
    assert rows[0][5:] == ("Kết quả kỳ này", "Kỳ số liệu")
    return {int(row[0]): f"{row[5] or ''} | {row[6] or ''}" for row in rows[1:]}


def _expected(fmt: str, period: str) -> dict[int, str]:
    out = {}
    for number in VALUES:
        shown = EXPECTED[period].get(number, "")
        value = VALUES[number].get(shown, "")
        if fmt == "xlsx":
            out[number] = f"{value} | {shown}"
        else:
            out[number] = value if shown in ("", period) else f"{value} (số liệu kỳ {shown})"
    return out


@pytest.mark.parametrize("period", list(EXPECTED))
@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_reports_show_the_value_of_their_period(client, national_admin, plan_with_values, fmt, period):
    client.force_login(national_admin)
    response = client.get(f"/plans/plans/{plan_with_values.pk}/report.{fmt}?year=2024&period={period}")
    assert response.status_code == 200
    read = _docx_indicators if fmt == "docx" else _xlsx_indicators
    assert read(response.content) == _expected(fmt, period)


def test_both_formats_read_the_same_values(national_admin, plan_with_values):
    """One rule: the data both writers render holds the chosen value and its period."""
    from attt.plans import reports

    data = reports.collect(national_admin, plan_with_values, period="2024-Q2")
    assert [(i["number"], i["value"], i["value_period"]) for i in data.indicators] == [
        (1, "62%", "2024-Q2"),
        (2, "52 hệ thống", "2024-05"),
        (3, "", ""),
    ]


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_the_fallback_picks_among_values_in_the_export_scope(tree, client, national_admin, fmt):
    """A value held outside the user's export scope is not shown, nor does it hide a month the user may export."""
    plan = make_plan(tree.dept_a)
    indicator = Indicator.objects.create(organization=tree.dept_a, plan=plan, number=1, name="Chỉ tiêu của Sở A")
    services.record_indicator_value(indicator, period="2024-06", value="Sở A tháng 6")
    IndicatorValue.objects.create(indicator=indicator, organization=tree.dept_b, period="2024-Q2", value="Sở B quý 2")
    read = _docx_indicators if fmt == "docx" else _xlsx_indicators
    url = f"/plans/plans/{plan.pk}/report.{fmt}?period=2024-Q2"
    client.force_login(make_user(tree.dept_a, "security_officer", username="can-bo-so-a"))
    shown = read(client.get(url).content)[1]
    assert "Sở A tháng 6" in shown and "2024-06" in shown and "Sở B" not in shown
    client.force_login(national_admin)  # the consolidated report: the quarter's own value
    shown = read(client.get(url).content)[1]
    assert "Sở B quý 2" in shown and "Sở A" not in shown


def test_a_units_report_lists_the_indicators_its_tasks_serve(tree, national_admin, plan_with_values):
    """A unit's report listed every indicator of the plan, most of them nothing to do with its tasks."""
    from attt.plans import reports

    for unit, refs in ((tree.province_a, [3, 1]), (tree.province_b, [2])):
        make_assignment(unit, make_task(tree.root, plan_with_values, indicator_refs=refs))
    make_assignment(tree.province_a, make_task(tree.root, plan_with_values, indicator_refs=[]))
    unit = reports.collect(national_admin, plan_with_values, period="2024", organization=tree.province_a)
    assert [i["number"] for i in unit.indicators] == [1, 3]
    whole = reports.collect(national_admin, plan_with_values, period="2024")
    assert [i["number"] for i in whole.indicators] == [1, 2, 3]
