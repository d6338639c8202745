"""Working days in Vietnam, from data/calendar/holidays.yaml.

A working day is a weekday that is no public holiday (nor a compensatory or swapped day off), or a
weekend day the government turned into a working day to swap a bridge day. Years the data does not
list fall back to weekends plus the fixed solar-calendar holidays, and `covers(year)` says so: the
file must be extended every year (see docs/regulation.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from attt.regulation.facts import pick

MAX_STEPS = 20_000  # about 55 years of days: a guard against a runaway loop, not a legal limit


@dataclass(frozen=True)
class Holiday:
    date: dt.date
    name_vi: str
    name_en: str
    kind: str  # holiday | compensatory | swapped
    unverified: bool = False

    def name(self, lang: str | None = None) -> str:
        return pick(self.name_vi, self.name_en, lang)


@dataclass(frozen=True)
class CalendarYear:
    year: int
    unverified: bool
    note_vi: str = ""
    note_en: str = ""


@dataclass(frozen=True, eq=False)
class WorkingCalendar:
    weekend: frozenset[int]  # date.weekday() numbers: 5 = Saturday, 6 = Sunday
    holidays: dict[dt.date, Holiday]
    working_weekend_days: dict[dt.date, str]
    years: dict[int, CalendarYear]
    fixed: tuple[tuple[int, int, str, str], ...]  # (month, day, vi, en) for years not listed

    def covers(self, year: int) -> bool:
        return year in self.years

    def holiday(self, day: dt.date) -> Holiday | None:
        if day.year in self.years:
            return self.holidays.get(day)
        for month, dom, vi, en in self.fixed:
            if (day.month, day.day) == (month, dom):
                return Holiday(day, vi, en, "holiday", unverified=True)
        return None

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.working_weekend_days:
            return True
        if day.weekday() in self.weekend:
            return False
        return self.holiday(day) is None

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after `start` (before it when n < 0); `start` itself is not counted."""
        if abs(n) > MAX_STEPS:
            raise ValueError(f"{n} working days is beyond what this calendar computes")
        step = 1 if n >= 0 else -1
        day, left, guard = start, abs(n), 0
        while left:
            day += dt.timedelta(days=step)
            guard += 1
            if guard > MAX_STEPS * 2:  # pragma: no cover - only with a calendar of no working days
                raise ValueError("no working day found; check the weekend and holiday data")
            if self.is_working_day(day):
                left -= 1
        return day

    def next_working_day(self, day: dt.date) -> dt.date:
        """`day` itself when it is a working day, else the first working day after it."""
        return day if self.is_working_day(day) else self.add_working_days(day, 1)

    def holidays_in(self, year: int) -> list[Holiday]:
        if year in self.years:
            return sorted((h for h in self.holidays.values() if h.date.year == year), key=lambda h: h.date)
        out = []
        for month, dom, vi, en in self.fixed:
            out.append(Holiday(dt.date(year, month, dom), vi, en, "holiday", unverified=True))
        return out
