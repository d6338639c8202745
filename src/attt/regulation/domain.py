"""The objects services.py returns. All frozen: regulation is read, never changed, at run time.

Texts come in both languages (`*_vi`, `*_en`); `text()`/`label()` pick the active language so templates
can show the user's language while the API returns both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import pgettext_lazy

from attt.regulation.conditions import Condition
from attt.regulation.facts import pick

# --- Legal references ------------------------------------------------------------------------------


class Bilingual:
    """`label()`, `note()`, `text()`, `condition()`, `scope()` of a record that holds each text as a
    `<name>_vi` / `<name>_en` pair: the variant for `lang`, else for the active language."""

    def _pick(self, name: str, lang: str | None) -> str:
        return pick(getattr(self, f"{name}_vi"), getattr(self, f"{name}_en"), lang)

    def label(self, lang: str | None = None) -> str:
        return self._pick("label", lang)

    def note(self, lang: str | None = None) -> str:
        return self._pick("note", lang)

    def text(self, lang: str | None = None) -> str:
        return self._pick("text", lang)

    def condition(self, lang: str | None = None) -> str:
        return self._pick("condition", lang)

    def scope(self, lang: str | None = None) -> str:
        return self._pick("scope", lang)


@dataclass(frozen=True)
class Instrument:
    """A legal instrument or standard a regime cites (decree, circular, law, standard, letter)."""

    code: str
    number: str
    short_vi: str
    short_en: str
    title_vi: str
    title_en: str
    signed: dt.date | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    unverified: bool = False
    note_vi: str = ""
    note_en: str = ""

    def short(self, lang: str | None = None) -> str:
        return pick(self.short_vi, self.short_en, lang)

    def title(self, lang: str | None = None) -> str:
        return pick(self.title_vi, self.title_en, lang)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "number": self.number,
            "short": {"vi": self.short_vi, "en": self.short_en},
            "title": {"vi": self.title_vi, "en": self.title_en},
            "signed": _iso(self.signed),
            "effective_from": _iso(self.effective_from),
            "effective_to": _iso(self.effective_to),
            "unverified": self.unverified,
            "note": _both(self.note_vi, self.note_en),
        }


@dataclass(frozen=True)
class LegalRef:
    """Where a rule comes from: instrument, article, clause, point (or annex/item/section/form)."""

    instrument: Instrument
    article: int | None = None
    clause: int | None = None
    point: str | None = None
    indent: int | None = None
    annex: str | None = None
    item: str | None = None
    section: str | None = None
    form: str | None = None
    note_vi: str = ""
    note_en: str = ""
    unverified: bool = False

    def cite(self, lang: str | None = None) -> str:
        """'Decree 85/2016/ND-CP Art 9.2.c' / 'điểm c khoản 2 Điều 9 Nghị định 85/2016/NĐ-CP'."""
        vi = pick("vi", "en", lang) == "vi"
        short = self.instrument.short("vi" if vi else "en")
        parts: list[str] = []
        if vi:
            if self.indent:
                parts.append(f"gạch đầu dòng thứ {self.indent}")
            if self.point:
                parts.append(f"điểm {self.point}")
            if self.clause:
                parts.append(f"khoản {self.clause}")
            if self.article:
                parts.append(f"Điều {self.article}")
            if self.item:
                parts.append(f"mục {self.item}")
            if self.annex:
                parts.append(f"Phụ lục {self.annex}")
            if self.form:
                parts.append(self.form)
            if self.section:
                parts.append(self.section)
            return " ".join([*parts, short])
        if self.article:
            number = ".".join(str(p) for p in (self.article, self.clause, self.point) if p)
            parts.append(f"Art {number}")
            if self.indent:
                parts.append(f"indent {self.indent}")
        if self.annex:
            parts.append(f"Annex {self.annex}")
        if self.item:
            parts.append(f"item {self.item}")
        if self.form:
            parts.append(self.form)
        if self.section:
            parts.append(self.section)
        return " ".join([short, *parts])

    def to_dict(self) -> dict:
        data = {
            "instrument": self.instrument.code,
            "article": self.article,
            "clause": self.clause,
            "point": self.point,
            "indent": self.indent,
            "annex": self.annex,
            "item": self.item,
            "section": self.section,
            "form": self.form,
            "citation": {"vi": self.cite("vi"), "en": self.cite("en")},
            "unverified": self.unverified,
        }
        note = _both(self.note_vi, self.note_en)
        if note:
            data["note"] = note
        return {k: v for k, v in data.items() if v is not None}


def cite_all(refs: tuple[LegalRef, ...], lang: str | None = None) -> str:
    return "; ".join(r.cite(lang) for r in refs)


@dataclass(frozen=True)
class Note:
    code: str
    vi: str
    en: str
    unverified: bool = False

    def text(self, lang: str | None = None) -> str:
        return pick(self.vi, self.en, lang)

    def to_dict(self) -> dict:
        return {"code": self.code, "vi": self.vi, "en": self.en, "unverified": self.unverified}


@dataclass(frozen=True)
class AuthorityPeriod:
    """The national authority for network/cyber security in a span of time (names as data)."""

    valid_from: dt.date
    valid_to: dt.date | None
    ministry_code: str
    ministry_vi: str
    ministry_en: str
    department_code: str
    department_vi: str
    department_en: str
    legal_basis: tuple[LegalRef, ...] = ()
    note_vi: str = ""
    note_en: str = ""
    unverified: bool = False

    def ministry(self, lang: str | None = None) -> str:
        return pick(self.ministry_vi, self.ministry_en, lang)

    def department(self, lang: str | None = None) -> str:
        return pick(self.department_vi, self.department_en, lang)

    def to_dict(self) -> dict:
        return {
            "valid_from": _iso(self.valid_from),
            "valid_to": _iso(self.valid_to),
            "ministry": {"code": self.ministry_code, "vi": self.ministry_vi, "en": self.ministry_en},
            "department": {"code": self.department_code, "vi": self.department_vi, "en": self.department_en},
            "legal_basis": [r.to_dict() for r in self.legal_basis],
            "note": _both(self.note_vi, self.note_en),
            "unverified": self.unverified,
        }


# --- Level criteria ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Criterion(Bilingual):
    """One level criterion of the decree: met when its condition holds over the facts."""

    id: str
    regime: str
    level: int
    legal_basis: tuple[LegalRef, ...]
    text_vi: str
    text_en: str
    when: Condition
    examples_meet: tuple[dict, ...] = ()
    examples_fail: tuple[dict, ...] = ()
    note_vi: str = ""
    note_en: str = ""
    unverified: bool = False

    def citation(self, lang: str | None = None) -> str:
        return cite_all(self.legal_basis, lang)

    def when_text(self, lang: str | None = None) -> str:
        """The condition in words-and-symbols, for pages and the API."""
        return self.when.describe(pick("vi", "en", lang))

    def to_dict(self, examples: bool = False) -> dict:
        data = {
            "id": self.id,
            "level": self.level,
            "text": {"vi": self.text_vi, "en": self.text_en},
            "legal_basis": [r.to_dict() for r in self.legal_basis],
            "when": self.when.to_data(),
            "when_text": {"vi": self.when.describe("vi"), "en": self.when.describe("en")},
            "note": _both(self.note_vi, self.note_en),
            "unverified": self.unverified,
        }
        if examples:
            data["examples"] = {"meet": list(self.examples_meet), "fail": list(self.examples_fail)}
        return data


@dataclass(frozen=True, eq=False)
class FlagCriterion(Bilingual):
    """A ground for a flag (e.g. Decree 331 Art 16.4). `when` is None when the facts cannot say it:
    such a ground is shown for manual review and never evaluated."""

    id: str
    flag: str
    legal_basis: tuple[LegalRef, ...]
    text_vi: str
    text_en: str
    when: Condition | None
    examples_meet: tuple[dict, ...] = ()
    examples_fail: tuple[dict, ...] = ()
    unverified: bool = False

    @property
    def evaluable(self) -> bool:
        return self.when is not None

    def citation(self, lang: str | None = None) -> str:
        return cite_all(self.legal_basis, lang)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "text": {"vi": self.text_vi, "en": self.text_en},
            "legal_basis": [r.to_dict() for r in self.legal_basis],
            "when": self.when.to_data() if self.when else None,
            "evaluable": self.evaluable,
            "unverified": self.unverified,
        }


@dataclass(frozen=True, eq=False)
class Flag(Bilingual):
    """A category beside the level (Decree 331 Art 16: important to national security)."""

    code: str
    label_vi: str
    label_en: str
    criteria: tuple[FlagCriterion, ...]
    manual_note_vi: str = ""
    manual_note_en: str = ""

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "label": {"vi": self.label_vi, "en": self.label_en},
            "criteria": [c.to_dict() for c in self.criteria],
            "manual_note": _both(self.manual_note_vi, self.manual_note_en),
        }


# --- Who does what -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor(Bilingual):
    code: str
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class AuthorityRole(Bilingual):
    """One actor's part in a step; `condition_*` says when this actor (not the default one) acts."""

    actor: Actor
    condition_vi: str = ""
    condition_en: str = ""
    scope_vi: str = ""
    scope_en: str = ""
    legal_basis: tuple[LegalRef, ...] = ()

    def to_dict(self) -> dict:
        return {
            "actor": self.actor.code,
            "label": {"vi": self.actor.label_vi, "en": self.actor.label_en},
            "condition": _both(self.condition_vi, self.condition_en),
            "scope": _both(self.scope_vi, self.scope_en),
            "legal_basis": [r.to_dict() for r in self.legal_basis],
        }


STEPS = ("prepares", "expert_opinion", "appraises", "approves")


@dataclass(frozen=True)
class Authority:
    """Who prepares, gives the expert opinion, appraises and approves a level dossier."""

    regime: str
    level: int
    prepares: tuple[AuthorityRole, ...]
    expert_opinion: tuple[AuthorityRole, ...]
    appraises: tuple[AuthorityRole, ...]
    approves: tuple[AuthorityRole, ...]
    legal_basis: tuple[LegalRef, ...] = ()
    note_vi: str = ""
    note_en: str = ""
    via_level: int | None = None  # set when a national-security-important system follows another path

    def to_dict(self) -> dict:
        return {
            "regime": self.regime,
            "level": self.level,
            **{step: [r.to_dict() for r in getattr(self, step)] for step in STEPS},
            "legal_basis": [r.to_dict() for r in self.legal_basis],
            "note": _both(self.note_vi, self.note_en),
            "via_level": self.via_level,
        }


# --- Time limits ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimerPolicy(Bilingual):
    """A legal time limit: `amount` `unit` (days or working_days) from the start day (not counted)."""

    regime: str
    step: str
    level: int
    amount: int
    unit: str  # "days" | "working_days"
    reminders: tuple[int, ...] = ()  # lead times before the due date, in the same unit
    roll_forward: bool = False  # a plain-day limit ending on a day off moves to the next working day
    label_vi: str = ""
    label_en: str = ""
    legal_basis: tuple[LegalRef, ...] = ()
    note_vi: str = ""
    note_en: str = ""
    unverified: bool = False

    def to_dict(self) -> dict:
        return {
            "regime": self.regime,
            "step": self.step,
            "level": self.level,
            "amount": self.amount,
            "unit": self.unit,
            "reminders": list(self.reminders),
            "roll_forward": self.roll_forward,
            "label": {"vi": self.label_vi, "en": self.label_en},
            "legal_basis": [r.to_dict() for r in self.legal_basis],
            "note": _both(self.note_vi, self.note_en),
            "unverified": self.unverified,
        }


# --- Requirement catalogue -----------------------------------------------------------------------


@dataclass(frozen=True)
class Category(Bilingual):
    code: str
    group: str
    label_vi: str
    label_en: str


# Where a configuration requirement applies (`area` of requirements.yaml): a fixed list, so the labels are
# translated here rather than carried in both languages by every row.
AREAS = {
    "network": pgettext_lazy("requirement area", "Network"),
    "server": pgettext_lazy("requirement area", "Server"),
    "application": pgettext_lazy("requirement area", "Application"),
    "data": pgettext_lazy("requirement area", "Data"),
}


@dataclass(frozen=True, eq=False)
class Requirement(Bilingual):
    """One row of the requirement catalogue. Rows replaced at a higher level end at `max_level`;
    rows of the same concept share a `key`. Read through `requirements(regime, level)`, the row also
    carries where it sits at that level (`item` in the circular's annex, `clause` of the standard)."""

    regime: str
    code: str
    key: str
    group: str  # management | technical
    category: Category
    area: str | None
    text_vi: str
    text_en: str
    min_level: int
    max_level: int
    source: tuple[LegalRef, ...]
    level_refs: tuple[tuple[int, str | None, str | None], ...] = ()  # (level, item, clause)
    derived_from: tuple[LegalRef, ...] = ()
    note_vi: str = ""
    note_en: str = ""
    unverified: bool = False
    level: int | None = None  # set when read for one level
    item: str | None = None
    clause: str | None = None

    def applies_to(self, level: int) -> bool:
        return self.min_level <= level <= self.max_level

    def area_label(self) -> str:
        return str(AREAS.get(self.area, self.area or ""))

    def citation(self, lang: str | None = None) -> str:
        return cite_all(self.source, lang)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "key": self.key,
            "group": self.group,
            "category": self.category.code,
            "category_label": {"vi": self.category.label_vi, "en": self.category.label_en},
            "area": self.area,
            "text": {"vi": self.text_vi, "en": self.text_en},
            "min_level": self.min_level,
            "max_level": self.max_level,
            "level": self.level,
            "item": self.item,
            "clause": self.clause,
            "source": [r.to_dict() for r in self.source],
            "derived_from": [r.to_dict() for r in self.derived_from],
            "note": _both(self.note_vi, self.note_en),
            "unverified": self.unverified,
        }


# --- Checks and reports --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckPolicy(Bilingual):
    """A minimum frequency (measure 'interval') or retention ('retention') for one level."""

    regime: str
    kind: str
    level: int
    measure: str
    months: int | None = None
    days: int | None = None
    critical_assets_months: int | None = None
    label_vi: str = ""
    label_en: str = ""
    performer_vi: str = ""
    performer_en: str = ""
    legal_basis: tuple[LegalRef, ...] = ()
    note_vi: str = ""
    note_en: str = ""
    unverified: bool = False

    @property
    def retention_days(self) -> int | None:
        """A retention period in days (a month counted as a twelfth of 365 days, rounded up: 12 months = 365
        days); None for an interval."""
        if self.measure != "retention":
            return None
        return self.days if self.days is not None else -(-(self.months or 0) * 365 // 12)

    def to_dict(self) -> dict:
        return {
            "regime": self.regime,
            "kind": self.kind,
            "level": self.level,
            "measure": self.measure,
            "months": self.months,
            "days": self.days,
            "critical_assets_months": self.critical_assets_months,
            "label": {"vi": self.label_vi, "en": self.label_en},
            "performer": _both(self.performer_vi, self.performer_en),
            "legal_basis": [r.to_dict() for r in self.legal_basis],
            "note": _both(self.note_vi, self.note_en),
            "unverified": self.unverified,
        }


@dataclass(frozen=True)
class ReportDeadline:
    """'`senders` send to `recipient` before day `day` of month `month`' (month None: the month after
    the period, for monthly reports)."""

    senders: tuple[Actor, ...]
    recipient: Actor
    day: int
    month: int | None = None
    before: bool = True

    def to_dict(self) -> dict:
        return {
            "senders": [a.code for a in self.senders],
            "recipient": self.recipient.code,
            "day": self.day,
            "month": self.month,
            "before": self.before,
        }


@dataclass(frozen=True)
class ReportSection(Bilingual):
    code: str
    text_vi: str
    text_en: str


@dataclass(frozen=True, eq=False)
class ReportPolicy(Bilingual):
    """A periodic report: its window, deadlines, form and the sections it must contain."""

    regime: str
    kind: str
    frequency: str  # monthly | annual
    label_vi: str
    label_en: str
    deadlines: tuple[ReportDeadline, ...]
    sections: tuple[ReportSection, ...]
    window: tuple[tuple[int, int], tuple[int, int]] | None = None  # ((month, day) from prev. year, (month, day))
    form_code: str | None = None
    form_title_vi: str = ""
    form_title_en: str = ""
    form_columns: tuple[ReportSection, ...] = ()
    form_legal_basis: tuple[LegalRef, ...] = ()
    channels: tuple[ReportSection, ...] = ()
    legal_basis: tuple[LegalRef, ...] = ()
    note_vi: str = ""
    note_en: str = ""
    unverified: bool = False

    def to_dict(self) -> dict:
        return {
            "regime": self.regime,
            "kind": self.kind,
            "frequency": self.frequency,
            "label": {"vi": self.label_vi, "en": self.label_en},
            "window": (
                {
                    "from": {"month": self.window[0][0], "day": self.window[0][1], "previous_year": True},
                    "to": {"month": self.window[1][0], "day": self.window[1][1]},
                }
                if self.window
                else None
            ),
            "deadlines": [d.to_dict() for d in self.deadlines],
            "form": (
                {
                    "code": self.form_code,
                    "title": {"vi": self.form_title_vi, "en": self.form_title_en},
                    "legal_basis": [r.to_dict() for r in self.form_legal_basis],
                    "columns": [{"code": c.code, "vi": c.text_vi, "en": c.text_en} for c in self.form_columns],
                }
                if self.form_code
                else None
            ),
            "sections": [{"code": s.code, "vi": s.text_vi, "en": s.text_en} for s in self.sections],
            "channels": [{"code": c.code, "vi": c.text_vi, "en": c.text_en} for c in self.channels],
            "legal_basis": [r.to_dict() for r in self.legal_basis],
            "note": _both(self.note_vi, self.note_en),
            "unverified": self.unverified,
        }


# --- The regime ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Regime:
    """A legal regime with everything the platform reads from its data folder."""

    code: str
    title_vi: str
    title_en: str
    short_vi: str
    short_en: str
    effective_from: dt.date
    effective_to: dt.date | None
    instruments: tuple[Instrument, ...]
    national_authorities: tuple[AuthorityPeriod, ...]
    notes: tuple[Note, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    flags: tuple[Flag, ...] = ()
    fallback_level: int = 1
    messages: dict[str, Note] = field(default_factory=dict)
    composite_basis: tuple[LegalRef, ...] = ()
    actors: tuple[Actor, ...] = ()
    authorities: tuple[Authority, ...] = ()
    nsi_follows_level: int | None = None
    timers: tuple[TimerPolicy, ...] = ()
    categories: tuple[Category, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    checks: tuple[CheckPolicy, ...] = ()
    risk_assessment_triggers: tuple[Note, ...] = ()
    risk_assessment_basis: tuple[LegalRef, ...] = ()
    reports: tuple[ReportPolicy, ...] = ()
    timer_roll_forward_basis: tuple[LegalRef, ...] = ()

    def title(self, lang: str | None = None) -> str:
        return pick(self.title_vi, self.title_en, lang)

    def short(self, lang: str | None = None) -> str:
        return pick(self.short_vi, self.short_en, lang)

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def national_authority(self, on: dt.date | None = None) -> AuthorityPeriod:
        """The authority in charge on `on` (default: the last one of the regime)."""
        if on is not None:
            for period in self.national_authorities:
                if period.valid_from <= on and (period.valid_to is None or on <= period.valid_to):
                    return period
        return self.national_authorities[-1]

    def criteria_for(self, level: int) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.level == level)

    @property
    def unverified_count(self) -> int:
        rows = [*self.criteria, *self.requirements, *self.timers, *self.checks, *self.reports]
        return sum(1 for r in rows if r.unverified)

    def to_dict(self, full: bool = False) -> dict:
        data = {
            "code": self.code,
            "title": {"vi": self.title_vi, "en": self.title_en},
            "short": {"vi": self.short_vi, "en": self.short_en},
            "effective_from": _iso(self.effective_from),
            "effective_to": _iso(self.effective_to),
            "national_authorities": [p.to_dict() for p in self.national_authorities],
        }
        if full:
            data.update(
                instruments=[i.to_dict() for i in self.instruments],
                notes=[n.to_dict() for n in self.notes],
                flags=[f.to_dict() for f in self.flags],
                authorities=[a.to_dict() for a in self.authorities],
                timers=[t.to_dict() for t in self.timers],
                checks=[c.to_dict() for c in self.checks],
                risk_assessment_triggers=[n.to_dict() for n in self.risk_assessment_triggers],
                reports=[r.to_dict() for r in self.reports],
                counts={
                    "criteria": len(self.criteria),
                    "requirements": {
                        lvl: sum(1 for r in self.requirements if r.applies_to(lvl)) for lvl in range(1, 6)
                    },
                    "unverified": self.unverified_count,
                },
            )
        return data


# --- The assessment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagResult(Bilingual):
    code: str
    label_vi: str
    label_en: str
    value: bool
    grounds: tuple[FlagCriterion, ...] = ()

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "label": {"vi": self.label_vi, "en": self.label_en},
            "value": self.value,
            "grounds": [g.id for g in self.grounds],
        }


@dataclass(frozen=True, eq=False)
class Assessment:
    """The level the facts lead to, why, and what else was met. `deciding` is None only when no
    criterion at all was met (then `fallback` is true and the level is the regime's fallback level)."""

    regime: str
    level: int
    deciding: Criterion | None
    deciding_path: str  # "" for the system itself, "components[1]" etc. for a component
    met: tuple[Criterion, ...]
    components: tuple[Assessment, ...]
    flags: tuple[FlagResult, ...]
    fallback: bool
    notes: tuple[Note, ...]
    explanation_vi: str
    explanation_en: str
    facts: dict[str, Any]
    on: dt.date | None = None

    @property
    def national_security_important(self) -> bool:
        return any(f.value for f in self.flags if f.code == "national_security_important")

    @property
    def deciding_id(self) -> str:
        return self.deciding.id if self.deciding else ""

    @property
    def unverified(self) -> bool:
        return bool(self.deciding and self.deciding.unverified) or any(n.unverified for n in self.notes)

    def explanation(self, lang: str | None = None) -> str:
        return pick(self.explanation_vi, self.explanation_en, lang)

    def all_met(self, path: str = "") -> tuple[tuple[str, Criterion], ...]:
        """Every criterion met by the system and its components, with the component path."""
        own = tuple((path, c) for c in self.met)
        nested = tuple(
            item
            for i, comp in enumerate(self.components)
            for item in comp.all_met(f"{path}.components[{i}]" if path else f"components[{i}]")
        )
        return own + nested

    def to_dict(self) -> dict:
        return {
            "regime": self.regime,
            "level": self.level,
            "deciding_criterion": ({**self.deciding.to_dict(), "path": self.deciding_path} if self.deciding else None),
            "criteria_met": [
                {
                    "id": c.id,
                    "level": c.level,
                    "path": path,
                    "citation": {"vi": c.citation("vi"), "en": c.citation("en")},
                }
                for path, c in self.all_met()
            ],
            "national_security_important": self.national_security_important,
            "flags": [f.to_dict() for f in self.flags],
            "fallback": self.fallback,
            "unverified": self.unverified,
            "notes": [n.to_dict() for n in self.notes],
            "explanation": {"vi": self.explanation_vi, "en": self.explanation_en},
            "components": [c.to_dict() for c in self.components],
            "on": _iso(self.on),
            "facts": self.facts,
        }


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _both(vi: str, en: str) -> dict | None:
    return {"vi": vi, "en": en} if (vi or en) else None
