"""What other modules may use from `regulation`: the only import they need.

Regulation is versioned data (src/attt/regulation/data/, documented in docs/regulation.md): these
functions read the checked, cached catalogue and never change it. Everything returned is a frozen
dataclass from `attt.regulation.domain`. Errors are subclasses of `attt.regulation.errors.RegulationError`:
`InvalidFacts` (a ValueError) for bad facts, `UnknownRegime`/`NoRegimeInForce`/`RegulationLookupError`
(LookupErrors) for things that are not in the data.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from dataclasses import replace
from typing import Any

from django.utils import timezone

from attt.regulation import engine, incidents, loader
from attt.regulation.domain import (
    Assessment,
    Authority,
    CheckPolicy,
    Criterion,
    Regime,
    ReportDeadline,
    ReportPolicy,
    Requirement,
    TimerPolicy,
)
from attt.regulation.errors import (
    DataError,
    InvalidFacts,
    NoRegimeInForce,
    RegulationError,
    RegulationLookupError,
    UnknownRegime,
)
from attt.regulation.facts import FactDef
from attt.regulation.incidents import IncidentPolicy
from attt.regulation.workdays import Holiday

__all__ = [
    "Assessment",
    "Authority",
    "CheckPolicy",
    "Criterion",
    "DataError",
    "IncidentPolicy",
    "InvalidFacts",
    "NoRegimeInForce",
    "Regime",
    "RegulationError",
    "RegulationLookupError",
    "ReportDeadline",
    "ReportPolicy",
    "Requirement",
    "TimerPolicy",
    "UnknownRegime",
    "add_working_days",
    "assess",
    "authority",
    "calendar_covers",
    "check_interval_months",
    "check_policy",
    "criteria",
    "due_date",
    "fact_definitions",
    "get_regime",
    "holidays",
    "incident_policy",
    "is_working_day",
    "next_working_day",
    "regime_in_force",
    "regimes",
    "reminder_dates",
    "report_deadlines",
    "report_period",
    "report_policy",
    "requirement",
    "requirements",
    "retention",
    "timer",
]


# --- Regimes ---------------------------------------------------------------------------------------


def regimes() -> tuple[Regime, ...]:
    """All regimes in the data, oldest first."""
    return loader.catalogue().regimes


def get_regime(code: str) -> Regime:
    """The regime with this code (e.g. "ND85_2016"), or UnknownRegime."""
    found = loader.catalogue().regime(code)
    if found is None:
        known = ", ".join(r.code for r in regimes())
        raise UnknownRegime(f"No legal regime {code!r}; known regimes: {known}.")
    return found


def regime_in_force(on: dt.date | None = None) -> Regime:
    """The regime in force on `on` (default: today in Vietnam). Decree 85/2016 up to 18 Aug 2026,
    Decree 331/2026 from 19 Aug 2026, as the regimes' data says."""
    on = on or timezone.localdate()
    for regime in regimes():
        if regime.in_force(on):
            return regime
    raise NoRegimeInForce(f"No legal regime in the data was in force on {on.isoformat()}.")


def _regime(regime: str | Regime | None, on: dt.date | None = None) -> Regime:
    if isinstance(regime, Regime):
        return regime
    return get_regime(regime) if regime else regime_in_force(on)


# --- Level criteria and assessment ---------------------------------------------------------------


def fact_definitions(regime: str | None = None) -> dict[str, FactDef]:
    """The facts of docs/level-facts.md with labels and help; for a regime, only those it reads."""
    cat = loader.catalogue()
    return cat.facts_for(regime) if regime else dict(cat.facts)


def criteria(regime: str | Regime, level: int | None = None) -> tuple[Criterion, ...]:
    """A regime's level criteria (of one level when `level` is given), in the decree's order."""
    reg = _regime(regime)
    return reg.criteria if level is None else reg.criteria_for(_level(level))


def assess(facts: dict[str, Any], regime: str | None = None, on: dt.date | None = None) -> Assessment:
    """The level the facts lead to, under `regime` or else the regime in force on `on` (default
    today). Raises InvalidFacts (a ValueError) naming the first wrong value."""
    reg = _regime(regime, on)
    return engine.assess_regime(reg, facts, loader.catalogue().facts, on=on)


# --- Requirements --------------------------------------------------------------------------------


def requirements(regime: str | Regime, level: int) -> list[Requirement]:
    """The requirement rows that apply at `level`, each carrying its place in that level's annex
    (`item`) and standard clause (`clause`)."""
    reg, level = _regime(regime), _level(level)
    return [_at_level(row, level) for row in reg.requirements if row.applies_to(level)]


def requirement(regime: str | Regime, key_or_code: str, level: int | None = None) -> Requirement:
    """One row by its code, or by its key (e.g. "vulnerability_management"). A key whose rows
    differ by level needs `level`; with `level`, the row is read at that level."""
    reg = _regime(regime)
    by_code = [r for r in reg.requirements if r.code == key_or_code]
    rows = by_code or [r for r in reg.requirements if r.key == key_or_code]
    if level is not None:
        level = _level(level)
        rows = [r for r in rows if r.applies_to(level)]
    if not rows:
        where = f" at level {level}" if level is not None else ""
        raise RegulationLookupError(f"{reg.code} has no requirement {key_or_code!r}{where}.")
    if len(rows) > 1:
        spans = ", ".join(f"{r.code} (levels {r.min_level}–{r.max_level})" for r in rows)
        raise RegulationLookupError(f"{key_or_code!r} has one row per level range ({spans}); pass level=.")
    return _at_level(rows[0], level) if level is not None else rows[0]


def _at_level(row: Requirement, level: int) -> Requirement:
    item = clause = None
    for lvl, i, c in row.level_refs:
        if lvl == level:
            item, clause = i, c
    return replace(row, level=level, item=item, clause=clause)


# --- Who decides ---------------------------------------------------------------------------------


def authority(regime: str | Regime, level: int, national_security_important: bool = False) -> Authority:
    """Who prepares, gives the expert opinion, appraises and approves a dossier of `level`. Under
    Decree 331 a level-3/4 system important to national security follows the level-5 path (Art 20.4)."""
    reg, level = _regime(regime), _level(level)
    via = None
    if national_security_important and reg.nsi_follows_level and level < reg.nsi_follows_level:
        via = reg.nsi_follows_level
    found = next(a for a in reg.authorities if a.level == (via or level))
    if via is None:
        return found
    return replace(found, level=level, via_level=via)


# --- Time limits and the working-day calendar ----------------------------------------------------


def timer(regime: str | Regime, step: str, level: int) -> TimerPolicy | None:
    """The legal time limit of a dossier step ("completeness_check", "appraisal", "approval") for a
    level; None when the law sets none for that level (appraisal of levels 1–2). An unknown step is
    a RegulationLookupError."""
    reg, level = _regime(regime), _level(level)
    steps = {t.step for t in reg.timers}
    if step not in steps:
        raise RegulationLookupError(f"{reg.code} has no timer step {step!r}; steps: {', '.join(sorted(steps))}.")
    return next((t for t in reg.timers if t.step == step and t.level == level), None)


def is_working_day(day: dt.date) -> bool:
    """Whether `day` is a working day for state bodies (weekends, holidays and swaps are data)."""
    return loader.catalogue().calendar.is_working_day(day)


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The n-th working day after `start` (before it for negative n); `start` is not counted."""
    return loader.catalogue().calendar.add_working_days(start, n)


def calendar_covers(year: int) -> bool:
    """Whether the holiday data lists `year` (otherwise only weekends and fixed-date holidays count)."""
    return loader.catalogue().calendar.covers(year)


def holidays(year: int) -> list[Holiday]:
    """The days off of `year` as the calendar data lists them."""
    return loader.catalogue().calendar.holidays_in(year)


def next_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, otherwise the first working day after it."""
    return loader.catalogue().calendar.next_working_day(day)


def incident_policy(regime: str | Regime | None = None, on: dt.date | None = None) -> IncidentPolicy:
    """Incident-response rules of a regime (data/<REGIME>/incidents.yaml): statutory deadlines, the serious
    test, forms, network-member report dates."""
    return incidents.policy(_regime(regime, on).code)


def due_date(start: dt.date, policy: TimerPolicy) -> dt.date:
    """The last day of a time limit that starts on `start` (the day the complete dossier arrived,
    not counted). Plain days run through holidays; if the last one is a day off it moves to the next
    working day when the policy says so (Civil Code rule, unverified)."""
    cal = loader.catalogue().calendar
    if policy.unit == "working_days":
        return cal.add_working_days(start, policy.amount)
    end = start + dt.timedelta(days=policy.amount)
    return cal.next_working_day(end) if policy.roll_forward else end


def reminder_dates(start: dt.date, policy: TimerPolicy) -> list[dt.date]:
    """When to remind the one who must act: each lead time before the due date, in the policy's unit,
    never on or before the start day."""
    due = due_date(start, policy)
    cal = loader.catalogue().calendar
    out = []
    for lead in policy.reminders:
        day = cal.add_working_days(due, -lead) if policy.unit == "working_days" else due - dt.timedelta(days=lead)
        if day > start:
            out.append(day)
    return sorted(set(out))


# --- Checks --------------------------------------------------------------------------------------


def check_policy(regime: str | Regime, level: int, kind: str = "periodic_check") -> CheckPolicy | None:
    """The minimum of a kind of check for a level, or None when the regime sets none for that level.
    An unknown kind is a RegulationLookupError."""
    reg, level = _regime(regime), _level(level)
    kinds = {c.kind for c in reg.checks}
    if kind not in kinds:
        raise RegulationLookupError(f"{reg.code} has no check kind {kind!r}; kinds: {', '.join(sorted(kinds))}.")
    return next((c for c in reg.checks if c.kind == kind and c.level == level), None)


def check_interval_months(regime: str | Regime, level: int, kind: str = "periodic_check") -> int | None:
    """The longest gap in months between two checks of `kind` at `level` (None: no minimum)."""
    policy = check_policy(regime, level, kind)
    if policy is None:
        return None
    if policy.measure != "interval":
        raise RegulationLookupError(f"{kind!r} is a retention period, not an interval; use retention().")
    return policy.months


def retention(regime: str | Regime, level: int, kind: str) -> CheckPolicy | None:
    """How long records of `kind` (e.g. "log_retention") must be kept at `level` (months or days)."""
    return check_policy(regime, level, kind)


def longest_retention(regime: str | Regime) -> CheckPolicy | None:
    """The retention period (any kind of record, any level) that asks the most days: what a store keeping
    records of systems of every level must at least keep."""
    found = [c for c in _regime(regime).checks if c.measure == "retention"]
    return max(found, key=lambda c: (c.retention_days, c.level), default=None)


# --- Reports -------------------------------------------------------------------------------------


def report_policy(regime: str | Regime, kind: str) -> ReportPolicy:
    """A report's rules: "monthly_status", "annual" or "ad_hoc"."""
    reg = _regime(regime)
    found = next((r for r in reg.reports if r.kind == kind), None)
    if found is None:
        kinds = ", ".join(r.kind for r in reg.reports)
        raise RegulationLookupError(f"{reg.code} has no report {kind!r}; reports: {kinds}.")
    return found


def report_period(regime: str | Regime, kind: str, year: int, month: int | None = None) -> tuple[dt.date, dt.date]:
    """The data window of a report: a calendar month for monthly reports; for the annual report of
    `year`, 15 Dec of the year before to 14 Dec (as the data says)."""
    policy = report_policy(regime, kind)
    if policy.frequency == "monthly":
        month = _month(month)
        return dt.date(year, month, 1), dt.date(year, month, _calendar.monthrange(year, month)[1])
    if policy.window is None:
        raise RegulationLookupError(f"The {kind!r} report has no fixed period.")
    (fm, fd), (tm, td) = policy.window
    return dt.date(year - 1, fm, fd), dt.date(year, tm, td)


def report_deadlines(
    regime: str | Regime, kind: str, year: int, month: int | None = None
) -> list[tuple[ReportDeadline, dt.date]]:
    """Each deadline of the report for the period (`year`, and `month` for monthly reports) with the
    last day allowed: "before the 20th" gives the 19th."""
    policy = report_policy(regime, kind)
    out = []
    for deadline in policy.deadlines:
        if policy.frequency == "monthly":
            month = _month(month)
            y, m = (year + 1, 1) if month == 12 else (year, month + 1)
        else:
            y, m = year, deadline.month
        day = dt.date(y, m, deadline.day)
        out.append((deadline, day - dt.timedelta(days=1) if deadline.before else day))
    return out


def _level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        raise RegulationLookupError(f"A level is a whole number from 1 to 5, not {level!r}.")
    return level


def _month(month: int | None) -> int:
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise RegulationLookupError(f"A monthly report needs a month from 1 to 12, not {month!r}.")
    return month
