"""Working days, due dates and reminders: plain days (Decree 85) versus working days (Decree 331)."""

import datetime as dt

import pytest

from attt.regulation import services

D = dt.date


def test_weekends_holidays_and_swapped_saturdays():
    assert services.is_working_day(D(2026, 2, 13))  # Friday before Tết
    assert not services.is_working_day(D(2026, 2, 14))  # Saturday
    for day in range(16, 21):
        assert not services.is_working_day(D(2026, 2, day)), day  # Tết Bính Ngọ
    assert services.is_working_day(D(2026, 2, 23))
    assert not services.is_working_day(D(2025, 5, 2))  # swapped day off
    assert services.is_working_day(D(2025, 4, 26))  # the Saturday worked instead
    assert not services.is_working_day(D(2026, 4, 27))  # compensatory day for Hùng Kings (Sunday)


def test_working_days_across_a_weekend_and_across_tet():
    assert services.add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 9)  # Friday → Monday
    assert services.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 23)  # over Tết
    assert services.add_working_days(D(2026, 2, 13), 5) == D(2026, 2, 27)
    assert services.add_working_days(D(2026, 2, 23), -1) == D(2026, 2, 13)
    assert services.add_working_days(D(2026, 2, 13), 0) == D(2026, 2, 13)


def test_appraisal_of_level_three_plain_days_under_decree_85_working_days_under_decree_331():
    start = D(2026, 2, 13)  # the complete dossier arrives on the Friday before Tết
    old = services.timer("ND85_2016", "appraisal", 3)
    new = services.timer("ND331_2026", "appraisal", 3)
    assert (old.amount, old.unit, new.amount, new.unit) == (15, "days", 15, "working_days")
    # 15 plain days end on Saturday 28 Feb, a day off: the limit rolls to Monday 2 Mar.
    assert services.due_date(start, old) == D(2026, 3, 2)
    # 15 working days skip the weekends and the five days of Tết.
    assert services.due_date(start, new) == D(2026, 3, 13)


def test_appraisal_of_levels_four_and_five():
    start = D(2025, 6, 2)
    assert services.due_date(start, services.timer("ND85_2016", "appraisal", 4)) == D(2025, 7, 2)
    assert services.due_date(start, services.timer("ND331_2026", "appraisal", 5)) == D(2025, 7, 7)


def test_completeness_and_approval_are_working_days_at_every_level():
    for regime in ("ND85_2016", "ND331_2026"):
        for level in range(1, 6):
            assert services.timer(regime, "completeness_check", level).unit == "working_days"
            approval = services.timer(regime, "approval", level)
            assert (approval.amount, approval.unit) == (7, "working_days")
    assert services.timer("ND85_2016", "completeness_check", 3).unverified  # repealed circular
    assert not services.timer("ND331_2026", "completeness_check", 3).unverified


def test_no_appraisal_limit_for_levels_one_and_two():
    assert services.timer("ND85_2016", "appraisal", 1) is None
    assert services.timer("ND331_2026", "appraisal", 2) is None
    with pytest.raises(services.RegulationLookupError, match="no timer step"):
        services.timer("ND85_2016", "inspection", 3)


def test_reminders_come_before_the_due_date_in_the_timer_unit():
    start = D(2026, 2, 13)
    policy = services.timer("ND331_2026", "appraisal", 3)
    assert services.reminder_dates(start, policy) == [D(2026, 3, 6), D(2026, 3, 11), D(2026, 3, 12)]
    old = services.timer("ND85_2016", "appraisal", 3)
    assert services.reminder_dates(start, old) == [D(2026, 2, 25), D(2026, 2, 28), D(2026, 3, 1)]


def test_years_outside_the_data_count_fixed_holidays_only():
    assert services.calendar_covers(2026) and not services.calendar_covers(2031)
    assert not services.is_working_day(D(2031, 9, 2))
    assert [h.date for h in services.holidays(2031)][:1] == [D(2031, 1, 1)]
    assert all(h.unverified for h in services.holidays(2026))
