"""Reads and checks the data files, once.

Every file is validated against its schema (schema.py) and against the others (instrument codes, fact
names, actors, levels); the first problem raises DataError naming the file, the path inside it and
what is wrong. Nothing half-loaded is ever returned. `catalogue()` caches the result for the life of
the process; `reload()` drops the cache (tests, or after editing data in a running shell).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import string
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from attt.regulation import domain as d
from attt.regulation.conditions import Compare, Condition, compile_condition
from attt.regulation.errors import DataError, InvalidFacts
from attt.regulation.facts import FACT_TYPES, FactDef, level_fact, normalise
from attt.regulation.schema import (
    CODE,
    LEGAL_REF,
    LEGAL_REFS,
    LEVEL,
    SNAKE,
    TEXT,
    Anything,
    Bool,
    Date,
    Int,
    Invalid,
    ListOf,
    MapOf,
    Nullable,
    Obj,
    OneOf,
    Str,
    join,
)
from attt.regulation.workdays import CalendarYear, Holiday, WorkingCalendar

DATA_DIR = Path(__file__).resolve().parent / "data"
LEVELS = (1, 2, 3, 4, 5)
REQUIRED_KEYS = ("vulnerability_management",)  # requirement keys other modules rely on
REQUIRED_TIMER_STEPS = ("completeness_check", "approval")  # every level must have these
ENGINE_MESSAGES = (
    "level", "deciding", "deciding_component", "grounds", "also_met", "composite", "flag",
    "fact_not_read", "fact_not_applicable", "unverified",
)  # fmt: skip
REGIME_MESSAGES = ("fallback", "decided_level_unused")
MESSAGE_FIELDS = {
    "level", "regime", "id", "citation", "text", "path", "facts", "items", "count", "label", "grounds",
    "fact", "condition", "value",
}  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# --- YAML reading ------------------------------------------------------------------------------------


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 5× faster


class _StrictLoader(_BaseLoader):
    """Safe YAML that refuses duplicate keys and reads only true/false as booleans (not yes/no/on/off,
    which YAML 1.1 would silently turn into booleans)."""


_StrictLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int):
        self.key, self.line = key, line


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, name: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(name, "", "the file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(name, "", f"cannot be read ({exc})") from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise DataError(name, f"line {exc.line}", f"the key {exc.key!r} appears twice") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataError(name, where, f"not valid YAML: {problem}") from None


# --- Specs of the files -------------------------------------------------------------------------------

BILINGUAL = Obj(required={"vi": TEXT, "en": TEXT})
NOTE = Obj(required={"code": SNAKE, "vi": TEXT, "en": TEXT}, optional={"unverified": Bool()})
INSTRUMENT = Obj(
    required={"code": CODE, "number": TEXT, "short_vi": TEXT, "short_en": TEXT, "title_vi": TEXT, "title_en": TEXT},
    optional={
        "signed": Date(),
        "effective_from": Date(),
        "effective_to": Nullable(Date()),
        "unverified": Bool(),
        "note_vi": TEXT,
        "note_en": TEXT,
    },
)
NAMED = Obj(required={"code": CODE, "vi": TEXT, "en": TEXT})
PERIOD = Obj(
    required={"valid_from": Date(), "valid_to": Nullable(Date()), "ministry": NAMED, "department": NAMED},
    optional={"legal_basis": LEGAL_REFS, "note_vi": TEXT, "note_en": TEXT, "unverified": Bool()},
)
REGIME_FILE = Obj(
    required={
        "code": CODE,
        "title_vi": TEXT,
        "title_en": TEXT,
        "short_vi": TEXT,
        "short_en": TEXT,
        "effective_from": Date(),
        "effective_to": Nullable(Date()),
        "instruments": ListOf(INSTRUMENT, min_len=1),
        "national_authorities": ListOf(PERIOD, min_len=1),
    },
    optional={"notes": ListOf(NOTE)},
)
MESSAGES_FILE = Obj(required={"messages": MapOf(SNAKE, BILINGUAL)})
FACT = Obj(
    required={"name": SNAKE, "type": OneOf(FACT_TYPES), "default": Anything(), "group": SNAKE},
    optional={
        "values": ListOf(Str(pattern=r"[A-Za-z0-9_]+"), 1, True),
        "min": Int(),
        "max": Int(),
        "nullable": Bool(),
        "regimes": ListOf(CODE, 1, True),
        "applies_when": Anything(),
        "label_vi": TEXT,
        "label_en": TEXT,
        "help_vi": TEXT,
        "help_en": TEXT,
        "value_labels": MapOf(Str(pattern=r"[A-Za-z0-9_]+"), ListOf(TEXT, 2)),
        "legal_basis": LEGAL_REFS,
    },
)
FACTS_FILE = Obj(
    required={
        "groups": ListOf(Obj(required={"code": SNAKE, "label_vi": TEXT, "label_en": TEXT}), 1),
        "facts": ListOf(FACT, 1),
    }
)
EXAMPLES = Obj(optional={"meet": ListOf(Anything()), "fail": ListOf(Anything())})
CRITERION_ID = Str(pattern=r"[A-Z0-9]+-[0-9]+(\.[0-9]+)?(\.[a-zđ]+)?", max_len=40)
CRITERION = Obj(
    required={
        "id": CRITERION_ID,
        "level": LEVEL,
        "legal_basis": LEGAL_REFS,
        "text_vi": TEXT,
        "text_en": TEXT,
        "when": Anything(),
    },
    optional={"examples": EXAMPLES, "note_vi": TEXT, "note_en": TEXT, "unverified": Bool()},
)
FLAG_CRITERION = Obj(
    required={"id": CRITERION_ID, "legal_basis": LEGAL_REFS, "text_vi": TEXT, "text_en": TEXT, "when": Anything()},
    optional={"examples": EXAMPLES, "unverified": Bool()},
)
FLAG = Obj(
    required={"code": SNAKE, "label_vi": TEXT, "label_en": TEXT, "criteria": ListOf(FLAG_CRITERION, 1)},
    optional={"manual_note_vi": TEXT, "manual_note_en": TEXT},
)
CRITERIA_FILE = Obj(
    required={
        "composite": Obj(required={"legal_basis": LEGAL_REFS}),
        "fallback_level": LEVEL,
        "criteria": ListOf(CRITERION, 1),
    },
    optional={"messages": MapOf(SNAKE, BILINGUAL), "flags": ListOf(FLAG)},
)
ROLE = Obj(
    required={"actor": SNAKE},
    optional={
        "condition_vi": TEXT,
        "condition_en": TEXT,
        "scope_vi": TEXT,
        "scope_en": TEXT,
        "legal_basis": LEGAL_REFS,
    },
)
LEVEL_AUTHORITY = Obj(
    required={
        "prepares": ListOf(ROLE, 1),
        "expert_opinion": ListOf(ROLE),
        "appraises": ListOf(ROLE, 1),
        "approves": ListOf(ROLE, 1),
    },
    optional={"legal_basis": LEGAL_REFS, "note_vi": TEXT, "note_en": TEXT},
)
AUTHORITIES_FILE = Obj(
    required={
        "actors": ListOf(Obj(required={"code": SNAKE, "vi": TEXT, "en": TEXT}), 1),
        "levels": MapOf(LEVEL, LEVEL_AUTHORITY),
    },
    optional={
        "independent_appraisal": Anything(),  # a YAML anchor holder
        "national_security_important_follows": LEVEL,
        "national_security_important_basis": LEGAL_REFS,
    },
)
TIMER = Obj(
    required={
        "step": SNAKE,
        "levels": ListOf(LEVEL, 1, unique=True),
        "amount": Int(min=1, max=366),
        "unit": OneOf(("days", "working_days")),
        "label_vi": TEXT,
        "label_en": TEXT,
        "legal_basis": LEGAL_REFS,
    },
    optional={
        "reminders": ListOf(Int(min=1, max=366), unique=True),
        "roll_forward": Bool(),
        "note_vi": TEXT,
        "note_en": TEXT,
        "unverified": Bool(),
    },
)
TIMERS_FILE = Obj(required={"timers": ListOf(TIMER, 1)}, optional={"roll_forward_basis": LEGAL_REF})
CATEGORY = Obj(
    required={"code": SNAKE, "group": OneOf(("management", "technical")), "label_vi": TEXT, "label_en": TEXT}
)
LEVEL_REF = Obj(optional={"item": Str(max_len=40), "tcvn": Str(max_len=40)})
REQUIREMENT = Obj(
    required={
        "code": CODE,
        "key": SNAKE,
        "group": OneOf(("management", "technical")),
        "category": SNAKE,
        "text_vi": TEXT,
        "text_en": TEXT,
        "min_level": LEVEL,
        "max_level": LEVEL,
        "source": LEGAL_REFS,
    },
    optional={
        "area": OneOf(("network", "server", "application", "data")),
        "refs": MapOf(LEVEL, LEVEL_REF),
        "derived_from": LEGAL_REFS,
        "note_vi": TEXT,
        "note_en": TEXT,
        "unverified": Bool(),
    },
)
REQUIREMENTS_FILE = Obj(required={"categories": ListOf(CATEGORY, 1), "requirements": ListOf(REQUIREMENT, 1)})
CHECK_LEVEL = Obj(
    optional={
        "months": Int(min=1, max=120),
        "days": Int(min=1, max=3660),
        "critical_assets_months": Int(min=1, max=120),
        "note_vi": TEXT,
        "note_en": TEXT,
    }
)
CHECK = Obj(
    required={
        "kind": SNAKE,
        "measure": OneOf(("interval", "retention")),
        "label_vi": TEXT,
        "label_en": TEXT,
        "levels": MapOf(LEVEL, CHECK_LEVEL, min_len=1),
        "legal_basis": LEGAL_REFS,
    },
    optional={"performer": MapOf(LEVEL, BILINGUAL), "note_vi": TEXT, "note_en": TEXT, "unverified": Bool()},
)
CHECKS_FILE = Obj(
    required={"checks": ListOf(CHECK, 1)},
    optional={
        "risk_assessment_triggers": Obj(
            required={"legal_basis": LEGAL_REFS, "items": ListOf(NOTE, 1)},
        )
    },
)
MONTH_DAY = Obj(required={"month": Int(min=1, max=12), "day": Int(min=1, max=31)})
CODED = Obj(required={"code": Str(max_len=40), "vi": TEXT, "en": TEXT})
REPORT = Obj(
    required={
        "kind": SNAKE,
        "frequency": OneOf(("monthly", "annual", "on_request")),
        "label_vi": TEXT,
        "label_en": TEXT,
        "deadlines": ListOf(
            Obj(
                required={"senders": ListOf(SNAKE, 1), "recipient": SNAKE, "day": Int(min=1, max=31)},
                optional={"month": Int(min=1, max=12), "before": Bool()},
            )
        ),
        "sections": ListOf(CODED),
        "legal_basis": LEGAL_REFS,
    },
    optional={
        "window": Obj(required={"from": MONTH_DAY, "to": MONTH_DAY}),
        "channels": ListOf(CODED),
        "form": Obj(
            required={"code": Str(max_len=40), "title_vi": TEXT, "title_en": TEXT},
            optional={"legal_basis": LEGAL_REFS, "columns": ListOf(CODED)},
        ),
        "note_vi": TEXT,
        "note_en": TEXT,
        "unverified": Bool(),
    },
)
REPORTS_FILE = Obj(required={"reports": ListOf(REPORT, 1)})
HOLIDAY = Obj(
    required={"date": Date(), "vi": TEXT, "en": TEXT},
    optional={"kind": OneOf(("holiday", "compensatory", "swapped"))},
)
CALENDAR_FILE = Obj(
    required={
        "weekend": ListOf(OneOf(WEEKDAYS), unique=True),
        "fixed": ListOf(Obj(required={"month": Int(min=1, max=12), "day": Int(min=1, max=31), "vi": TEXT, "en": TEXT})),
        "years": MapOf(
            Int(min=1900, max=2200),
            Obj(
                required={"unverified": Bool(), "holidays": ListOf(HOLIDAY, 1)},
                optional={
                    "working_weekend_days": ListOf(Obj(required={"date": Date(), "vi": TEXT, "en": TEXT})),
                    "note_vi": TEXT,
                    "note_en": TEXT,
                },
            ),
        ),
    },
    optional={"instruments": ListOf(INSTRUMENT), "legal_basis": LEGAL_REFS},
)


# --- The catalogue --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Everything the data folder says, checked and frozen."""

    regimes: tuple[d.Regime, ...]
    facts: dict[str, FactDef]
    fact_groups: tuple[tuple[str, str, str], ...]  # (code, vi, en)
    calendar: WorkingCalendar
    messages: dict[str, d.Note]
    data_dir: Path

    def regime(self, code: str) -> d.Regime | None:
        return next((r for r in self.regimes if r.code == code), None)

    def facts_for(self, regime: str) -> dict[str, FactDef]:
        """The facts a regime's criteria may read (a fact limited to other regimes is left out)."""
        return {n: f for n, f in self.facts.items() if f.regimes is None or regime in f.regimes}


class _File:
    """Context for one file: turns Invalid into DataError with the file's name."""

    def __init__(self, name: str, data: Any, spec: Obj):
        self.name = name
        try:
            self.data = spec.check(data, "")
        except Invalid as exc:
            raise DataError(name, exc.path, exc.message) from None

    def fail(self, path: str, message: str) -> DataError:
        return DataError(self.name, path, message)


def _refs(
    file: _File, raw: list[dict] | None, path: str, instruments: dict[str, d.Instrument]
) -> tuple[d.LegalRef, ...]:
    out = []
    for i, ref in enumerate(raw or []):
        code = ref["instrument"]
        if code not in instruments:
            where = join(join(path, i), "instrument") if len(raw or []) > 1 else join(path, "instrument")
            raise file.fail(where, f"unknown instrument {code!r}; declare it under `instruments` in regime.yaml")
        out.append(
            d.LegalRef(
                instrument=instruments[code],
                article=ref.get("article"),
                clause=ref.get("clause"),
                point=ref.get("point"),
                indent=ref.get("indent"),
                annex=ref.get("annex"),
                item=ref.get("item"),
                section=ref.get("section"),
                form=ref.get("form"),
                note_vi=ref.get("note_vi", ""),
                note_en=ref.get("note_en", ""),
                unverified=ref.get("unverified", False) or instruments[code].unverified,
            )
        )
    return tuple(out)


def _instrument(raw: dict) -> d.Instrument:
    return d.Instrument(
        code=raw["code"],
        number=raw["number"],
        short_vi=raw["short_vi"],
        short_en=raw["short_en"],
        title_vi=raw["title_vi"],
        title_en=raw["title_en"],
        signed=raw.get("signed"),
        effective_from=raw.get("effective_from"),
        effective_to=raw.get("effective_to"),
        unverified=raw.get("unverified", False),
        note_vi=raw.get("note_vi", ""),
        note_en=raw.get("note_en", ""),
    )


def _check_message(file: _File, path: str, text: str) -> None:
    for _literal, field, _spec, _conv in string.Formatter().parse(text):
        if field is not None and field not in MESSAGE_FIELDS:
            raise file.fail(path, f"unknown placeholder {{{field}}}; allowed: {', '.join(sorted(MESSAGE_FIELDS))}")


def load_catalogue(data_dir: Path = DATA_DIR) -> Catalogue:
    """Read and check every file under `data_dir` (uncached: use catalogue() in the platform)."""
    data_dir = Path(data_dir)

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(data_dir))
        except ValueError:  # pragma: no cover
            return str(path)

    messages_file = _File("messages.yaml", read_yaml(data_dir / "messages.yaml", "messages.yaml"), MESSAGES_FILE)
    messages = _messages(messages_file, messages_file.data["messages"], ENGINE_MESSAGES)

    folders = sorted(p.parent for p in data_dir.glob("*/regime.yaml"))
    if not folders:
        raise DataError(rel(data_dir), "", "no regime folder (a folder with a regime.yaml) was found")
    regime_files = []
    for folder in folders:
        name = rel(folder / "regime.yaml")
        file = _File(name, read_yaml(folder / "regime.yaml", name), REGIME_FILE)
        if file.data["code"] != folder.name:
            raise file.fail("code", f"{file.data['code']!r} must equal the folder name {folder.name!r}")
        regime_files.append((folder, file))
    all_instruments: dict[str, d.Instrument] = {}
    for _folder, file in regime_files:
        seen = set()
        for i, raw in enumerate(file.data["instruments"]):
            if raw["code"] in seen:
                raise file.fail(f"instruments[{i}].code", f"{raw['code']!r} is declared twice")
            seen.add(raw["code"])
            all_instruments.setdefault(raw["code"], _instrument(raw))

    facts_name = "facts.yaml"
    facts_file = _File(facts_name, read_yaml(data_dir / facts_name, facts_name), FACTS_FILE)
    regime_codes = {f.data["code"] for _, f in regime_files}
    facts, groups = _facts(facts_file, all_instruments, regime_codes)

    calendar = _calendar(data_dir / "calendar" / "holidays.yaml", rel(data_dir / "calendar" / "holidays.yaml"))

    regimes = tuple(_regime(folder, file, facts, messages, rel) for folder, file in regime_files)
    regimes = tuple(sorted(regimes, key=lambda r: r.effective_from))
    for earlier, later in itertools.pairwise(regimes):
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            raise DataError(
                f"{earlier.code}/regime.yaml",
                "effective_to",
                f"the regime overlaps {later.code} (in force from {later.effective_from}); end it the day before",
            )
    return Catalogue(regimes, facts, groups, calendar, messages, data_dir)


def _messages(file: _File, raw: dict, required: tuple[str, ...], path: str = "messages") -> dict[str, d.Note]:
    for key in required:
        if key not in raw:
            raise file.fail(join(path, key), "is required but missing")
    out = {}
    for key, text in raw.items():
        _check_message(file, join(join(path, key), "vi"), text["vi"])
        _check_message(file, join(join(path, key), "en"), text["en"])
        out[key] = d.Note(key, text["vi"], text["en"])
    return out


def _facts(file: _File, instruments, regime_codes) -> tuple[dict[str, FactDef], tuple]:
    groups = tuple((g["code"], g["label_vi"], g["label_en"]) for g in file.data["groups"])
    group_codes = {g[0] for g in groups}
    defs: dict[str, FactDef] = {}
    raw_conditions = {}
    for i, raw in enumerate(file.data["facts"]):
        path = f"facts[{i}]"
        name = raw["name"]
        if name in defs or name == "level":
            raise file.fail(join(path, "name"), f"{name!r} is defined twice or reserved")
        kind = raw["type"]
        values = tuple(raw.get("values", ()))
        if kind in ("enum", "list") and not values:
            raise file.fail(join(path, "values"), f"a {kind} fact needs its list of values")
        if raw["group"] not in group_codes:
            raise file.fail(join(path, "group"), f"unknown group {raw['group']!r}")
        for code in raw.get("regimes", ()):
            if code not in regime_codes:
                raise file.fail(join(path, "regimes"), f"unknown regime {code!r}")
        labels = {}
        for value, pair in raw.get("value_labels", {}).items():
            if value not in values:
                raise file.fail(join(join(path, "value_labels"), value), f"{value!r} is not a value of {name}")
            labels[value] = (pair[0], pair[1])
        fact = FactDef(
            name=name,
            type=kind,
            default=None,
            label_vi=raw.get("label_vi", name),
            label_en=raw.get("label_en", name),
            help_vi=raw.get("help_vi", ""),
            help_en=raw.get("help_en", ""),
            values=values,
            value_labels=labels,
            min=raw.get("min"),
            max=raw.get("max"),
            nullable=raw.get("nullable", False),
            group=raw["group"],
            regimes=tuple(raw["regimes"]) if "regimes" in raw else None,
            legal_basis=_refs(file, raw.get("legal_basis"), join(path, "legal_basis"), instruments),
        )
        default = raw["default"]
        try:
            if kind == "list":
                if not isinstance(default, list):
                    raise Invalid(join(path, "default"), "the default of a list fact is a list")
                default = [fact.check_scalar(v, join(join(path, "default"), j)) for j, v in enumerate(default)]
            elif kind == "components":
                if default != []:
                    raise Invalid(join(path, "default"), "the default of components is []")
            else:
                default = fact.check_scalar(default, join(path, "default"))
        except Invalid as exc:
            raise file.fail(exc.path, exc.message) from None
        defs[name] = replace(fact, default=default)
        if "applies_when" in raw:
            raw_conditions[name] = (raw["applies_when"], join(path, "applies_when"))
    for name, (raw, path) in raw_conditions.items():
        try:
            condition = compile_condition(raw, defs, path)
        except Invalid as exc:
            raise file.fail(exc.path, exc.message) from None
        defs[name] = replace(defs[name], applies_when=condition)
    return defs, groups


def _calendar(path: Path, name: str) -> WorkingCalendar:
    file = _File(name, read_yaml(path, name), CALENDAR_FILE)
    data = file.data
    instruments = {raw["code"]: _instrument(raw) for raw in data.get("instruments", [])}
    _refs(file, data.get("legal_basis"), "legal_basis", instruments)
    fixed = []
    for i, raw in enumerate(data["fixed"]):
        try:
            dt.date(2000, raw["month"], raw["day"])
        except ValueError:
            raise file.fail(f"fixed[{i}]", f"{raw['day']}/{raw['month']} is not a date") from None
        fixed.append((raw["month"], raw["day"], raw["vi"], raw["en"]))
    weekend = frozenset(WEEKDAYS.index(day) for day in data["weekend"])
    holidays: dict[dt.date, Holiday] = {}
    swaps: dict[dt.date, str] = {}
    years = {}
    for year, raw in data["years"].items():
        ypath = f"years.{year}"
        for i, h in enumerate(raw["holidays"]):
            where = f"{ypath}.holidays[{i}].date"
            day = h["date"]
            if day.year != year:
                raise file.fail(where, f"{day} is not in {year}")
            if day in holidays:
                raise file.fail(where, f"{day} is listed twice")
            if day.weekday() in weekend:
                raise file.fail(where, f"{day} is a weekend day; list the compensatory working day instead")
            holidays[day] = Holiday(day, h["vi"], h["en"], h.get("kind", "holiday"), raw["unverified"])
        for i, w in enumerate(raw.get("working_weekend_days", [])):
            day = w["date"]
            if day.weekday() not in weekend or day.year != year:
                raise file.fail(f"{ypath}.working_weekend_days[{i}].date", f"{day} is not a weekend day of {year}")
            swaps[day] = w["en"]
        years[year] = CalendarYear(year, raw["unverified"], raw.get("note_vi", ""), raw.get("note_en", ""))
    return WorkingCalendar(weekend, holidays, swaps, years, tuple(fixed))


def _regime(folder: Path, regime_file: _File, all_facts, messages, rel) -> d.Regime:
    raw = regime_file.data
    code = raw["code"]
    instruments = {i["code"]: _instrument(i) for i in raw["instruments"]}

    def refs(file, value, path):
        return _refs(file, value, path, instruments)

    if raw["effective_to"] is not None and raw["effective_to"] < raw["effective_from"]:
        raise regime_file.fail("effective_to", "ends before it starts")
    periods = []
    for i, p in enumerate(raw["national_authorities"]):
        periods.append(
            d.AuthorityPeriod(
                valid_from=p["valid_from"],
                valid_to=p["valid_to"],
                ministry_code=p["ministry"]["code"],
                ministry_vi=p["ministry"]["vi"],
                ministry_en=p["ministry"]["en"],
                department_code=p["department"]["code"],
                department_vi=p["department"]["vi"],
                department_en=p["department"]["en"],
                legal_basis=refs(regime_file, p.get("legal_basis"), f"national_authorities[{i}].legal_basis"),
                note_vi=p.get("note_vi", ""),
                note_en=p.get("note_en", ""),
                unverified=p.get("unverified", False),
            )
        )
    notes = tuple(d.Note(n["code"], n["vi"], n["en"], n.get("unverified", False)) for n in raw.get("notes", []))

    def open_file(filename: str, spec: Obj) -> _File:
        name = rel(folder / filename)
        return _File(name, read_yaml(folder / filename, name), spec)

    facts = {n: f for n, f in all_facts.items() if f.regimes is None or code in f.regimes}
    criteria_file = open_file("criteria.yaml", CRITERIA_FILE)
    criteria, flags, fallback, composite, regime_messages = _criteria(
        criteria_file, code, facts, all_facts, messages, refs
    )
    actors, authorities, nsi_follows = _authorities(open_file("authorities.yaml", AUTHORITIES_FILE), code, refs)
    timers_file = open_file("timers.yaml", TIMERS_FILE)
    timers = _timers(timers_file, code, refs)
    roll_basis = (
        refs(timers_file, [timers_file.data["roll_forward_basis"]], "roll_forward_basis")
        if ("roll_forward_basis" in timers_file.data)
        else ()
    )
    categories, requirements = _requirements(open_file("requirements.yaml", REQUIREMENTS_FILE), code, refs)
    checks_file = open_file("checks.yaml", CHECKS_FILE)
    checks = _checks(checks_file, code, refs)
    triggers = checks_file.data.get("risk_assessment_triggers")
    reports = _reports(open_file("reports.yaml", REPORTS_FILE), code, actors, refs)
    return d.Regime(
        code=code,
        title_vi=raw["title_vi"],
        title_en=raw["title_en"],
        short_vi=raw["short_vi"],
        short_en=raw["short_en"],
        effective_from=raw["effective_from"],
        effective_to=raw["effective_to"],
        instruments=tuple(instruments.values()),
        national_authorities=tuple(periods),
        notes=notes,
        criteria=criteria,
        flags=flags,
        fallback_level=fallback,
        messages=regime_messages,
        composite_basis=composite,
        actors=tuple(actors.values()),
        authorities=authorities,
        nsi_follows_level=nsi_follows,
        timers=timers,
        categories=categories,
        requirements=requirements,
        checks=checks,
        risk_assessment_triggers=tuple(d.Note(t["code"], t["vi"], t["en"]) for t in (triggers or {}).get("items", [])),
        risk_assessment_basis=refs(checks_file, triggers["legal_basis"], "risk_assessment_triggers.legal_basis")
        if triggers
        else (),
        reports=reports,
        timer_roll_forward_basis=roll_basis,
    )


def _thresholds(condition: Condition) -> bool:
    """Whether a condition compares a number against a bound (then a failing example is required)."""
    if isinstance(condition, Compare):
        return condition.op in ("gt", "gte", "lt", "lte")
    items = getattr(condition, "items", None)
    if items is not None:
        return any(_thresholds(c) for c in items)
    inner = getattr(condition, "item", None)
    return _thresholds(inner) if inner is not None else False


def _example_facts(file: _File, raw: Any, path: str, all_facts) -> dict:
    try:
        return normalise(raw, all_facts, path)
    except InvalidFacts as exc:
        raise file.fail(exc.path, f"the example is not a valid facts document: {exc.message}") from None


def _criteria(file: _File, regime: str, facts, all_facts, messages, refs):
    data = file.data
    regime_messages = {**messages, **_messages(file, data.get("messages", {}), REGIME_MESSAGES)}
    criteria = []
    ids = set()
    for i, raw in enumerate(data["criteria"]):
        path = f"criteria[{i}]"
        if raw["id"] in ids:
            raise file.fail(join(path, "id"), f"{raw['id']!r} is used twice")
        ids.add(raw["id"])
        try:
            when = compile_condition(raw["when"], facts, join(path, "when"))
        except Invalid as exc:
            if "unknown fact" in exc.message and raw["when"] is not None:
                name = _unknown_fact(raw["when"], facts)
                if name in all_facts:
                    raise file.fail(
                        exc.path, f"the fact {name!r} is not read by {regime} (see `regimes` in facts.yaml)"
                    ) from None
            raise file.fail(exc.path, exc.message) from None
        examples = raw.get("examples", {})
        meet = [
            _example_facts(file, e, f"{path}.examples.meet[{j}]", all_facts)
            for j, e in enumerate(examples.get("meet", []))
        ]
        fail = [
            _example_facts(file, e, f"{path}.examples.fail[{j}]", all_facts)
            for j, e in enumerate(examples.get("fail", []))
        ]
        if not meet:
            raise file.fail(join(path, "examples.meet"), "every criterion needs at least one example that meets it")
        if _thresholds(when) and not fail:
            raise file.fail(
                join(path, "examples.fail"), "a criterion with a threshold needs an example just past it that fails"
            )
        for j, example in enumerate(meet):
            if not when.evaluate(example):
                raise file.fail(f"{path}.examples.meet[{j}]", f"the example does not meet {raw['id']}")
        for j, example in enumerate(fail):
            if when.evaluate(example):
                raise file.fail(f"{path}.examples.fail[{j}]", f"the example meets {raw['id']} but is listed as failing")
        criteria.append(
            d.Criterion(
                id=raw["id"],
                regime=regime,
                level=raw["level"],
                legal_basis=refs(file, raw["legal_basis"], join(path, "legal_basis")),
                text_vi=raw["text_vi"],
                text_en=raw["text_en"],
                when=when,
                examples_meet=tuple(examples.get("meet", [])),
                examples_fail=tuple(examples.get("fail", [])),
                note_vi=raw.get("note_vi", ""),
                note_en=raw.get("note_en", ""),
                unverified=raw.get("unverified", False),
            )
        )
    missing = [lvl for lvl in LEVELS if not any(c.level == lvl for c in criteria)]
    if missing:
        raise file.fail("criteria", f"no criterion for level(s) {', '.join(map(str, missing))}")
    flag_facts = {**facts, "level": level_fact()}
    flags = []
    for i, raw in enumerate(data.get("flags", [])):
        path = f"flags[{i}]"
        items = []
        for j, rc in enumerate(raw["criteria"]):
            cpath = f"{path}.criteria[{j}]"
            if rc["id"] in ids:
                raise file.fail(join(cpath, "id"), f"{rc['id']!r} is used twice")
            ids.add(rc["id"])
            when = None
            if rc["when"] is not None:
                try:
                    when = compile_condition(rc["when"], flag_facts, join(cpath, "when"))
                except Invalid as exc:
                    raise file.fail(exc.path, exc.message) from None
            examples = rc.get("examples", {})
            for kind in ("meet", "fail"):
                for k, e in enumerate(examples.get(kind, [])):
                    _example_facts(file, e, f"{cpath}.examples.{kind}[{k}]", all_facts)
            if when is not None and not examples.get("meet"):
                raise file.fail(join(cpath, "examples.meet"), "an evaluable ground needs at least one example")
            items.append(
                d.FlagCriterion(
                    id=rc["id"],
                    flag=raw["code"],
                    legal_basis=refs(file, rc["legal_basis"], join(cpath, "legal_basis")),
                    text_vi=rc["text_vi"],
                    text_en=rc["text_en"],
                    when=when,
                    examples_meet=tuple(examples.get("meet", [])),
                    examples_fail=tuple(examples.get("fail", [])),
                    unverified=rc.get("unverified", False),
                )
            )
        flags.append(
            d.Flag(
                code=raw["code"],
                label_vi=raw["label_vi"],
                label_en=raw["label_en"],
                criteria=tuple(items),
                manual_note_vi=raw.get("manual_note_vi", ""),
                manual_note_en=raw.get("manual_note_en", ""),
            )
        )
    composite = refs(file, data["composite"]["legal_basis"], "composite.legal_basis")
    return tuple(criteria), tuple(flags), data["fallback_level"], composite, regime_messages


def _unknown_fact(raw: Any, facts) -> str | None:
    if isinstance(raw, dict):
        if "fact" in raw and raw["fact"] not in facts:
            return raw["fact"]
        for value in raw.values():
            found = _unknown_fact(value, facts)
            if found:
                return found
    if isinstance(raw, list):
        for value in raw:
            found = _unknown_fact(value, facts)
            if found:
                return found
    return None


def _authorities(file: _File, regime: str, refs):
    data = file.data
    actors: dict[str, d.Actor] = {}
    for i, raw in enumerate(data["actors"]):
        if raw["code"] in actors:
            raise file.fail(f"actors[{i}].code", f"{raw['code']!r} is declared twice")
        actors[raw["code"]] = d.Actor(raw["code"], raw["vi"], raw["en"])
    out = []
    for level in LEVELS:
        if level not in data["levels"]:
            raise file.fail(f"levels.{level}", "is required but missing")
    for level, raw in sorted(data["levels"].items()):
        path = f"levels.{level}"
        steps = {}
        for step in d.STEPS:
            roles = []
            for j, role in enumerate(raw[step]):
                if role["actor"] not in actors:
                    raise file.fail(f"{path}.{step}[{j}].actor", f"unknown actor {role['actor']!r}")
                roles.append(
                    d.AuthorityRole(
                        actor=actors[role["actor"]],
                        condition_vi=role.get("condition_vi", ""),
                        condition_en=role.get("condition_en", ""),
                        scope_vi=role.get("scope_vi", ""),
                        scope_en=role.get("scope_en", ""),
                        legal_basis=refs(file, role.get("legal_basis"), f"{path}.{step}[{j}].legal_basis"),
                    )
                )
            steps[step] = tuple(roles)
        out.append(
            d.Authority(
                regime=regime,
                level=level,
                legal_basis=refs(file, raw.get("legal_basis"), f"{path}.legal_basis"),
                note_vi=raw.get("note_vi", ""),
                note_en=raw.get("note_en", ""),
                **steps,
            )
        )
    if "national_security_important_basis" in data:
        refs(file, data["national_security_important_basis"], "national_security_important_basis")
    return actors, tuple(out), data.get("national_security_important_follows")


def _timers(file: _File, regime: str, refs) -> tuple[d.TimerPolicy, ...]:
    seen: dict[tuple[str, int], int] = {}
    out = []
    for i, raw in enumerate(file.data["timers"]):
        path = f"timers[{i}]"
        if raw.get("roll_forward") and raw["unit"] != "days":
            raise file.fail(join(path, "roll_forward"), "only plain-day limits roll forward")
        for reminder in raw.get("reminders", []):
            if reminder >= raw["amount"]:
                raise file.fail(
                    join(path, "reminders"), f"a reminder {reminder} before the due date is not inside {raw['amount']}"
                )
        basis = refs(file, raw["legal_basis"], join(path, "legal_basis"))
        for level in raw["levels"]:
            key = (raw["step"], level)
            if key in seen:
                raise file.fail(
                    join(path, "levels"), f"step {raw['step']} for level {level} is also in timers[{seen[key]}]"
                )
            seen[key] = i
            out.append(
                d.TimerPolicy(
                    regime=regime,
                    step=raw["step"],
                    level=level,
                    amount=raw["amount"],
                    unit=raw["unit"],
                    reminders=tuple(sorted(raw.get("reminders", []), reverse=True)),
                    roll_forward=raw.get("roll_forward", False),
                    label_vi=raw["label_vi"],
                    label_en=raw["label_en"],
                    legal_basis=basis,
                    note_vi=raw.get("note_vi", ""),
                    note_en=raw.get("note_en", ""),
                    unverified=raw.get("unverified", False) or any(r.unverified for r in basis),
                )
            )
    for step in REQUIRED_TIMER_STEPS:
        for level in LEVELS:
            if (step, level) not in seen:
                raise file.fail("timers", f"no {step} timer for level {level}")
    return tuple(out)


def _requirements(file: _File, regime: str, refs):
    data = file.data
    categories = {}
    for i, raw in enumerate(data["categories"]):
        if raw["code"] in categories:
            raise file.fail(f"categories[{i}].code", f"{raw['code']!r} is declared twice")
        categories[raw["code"]] = d.Category(raw["code"], raw["group"], raw["label_vi"], raw["label_en"])
    codes: set[str] = set()
    key_levels: dict[tuple[str, int], str] = {}
    rows = []
    for i, raw in enumerate(data["requirements"]):
        path = f"requirements[{i}]"
        if raw["code"] in codes:
            raise file.fail(join(path, "code"), f"{raw['code']!r} is used twice")
        codes.add(raw["code"])
        if raw["min_level"] > raw["max_level"]:
            raise file.fail(join(path, "max_level"), "is below min_level")
        category = categories.get(raw["category"])
        if category is None:
            raise file.fail(join(path, "category"), f"unknown category {raw['category']!r}")
        if category.group != raw["group"]:
            raise file.fail(join(path, "group"), f"the category {category.code} belongs to {category.group}")
        if (raw["category"] == "configuration") != ("area" in raw):
            raise file.fail(join(path, "area"), "configuration rows, and only they, name their area")
        levels = range(raw["min_level"], raw["max_level"] + 1)
        for level in levels:
            other = key_levels.get((raw["key"], level))
            if other:
                raise file.fail(join(path, "key"), f"{raw['key']!r} at level {level} is also row {other}")
            key_levels[(raw["key"], level)] = raw["code"]
        level_refs = raw.get("refs", {})
        if level_refs and set(level_refs) != set(levels):
            raise file.fail(join(path, "refs"), f"must give exactly levels {raw['min_level']}–{raw['max_level']}")
        source = refs(file, raw["source"], join(path, "source"))
        derived = refs(file, raw.get("derived_from"), join(path, "derived_from"))
        rows.append(
            d.Requirement(
                regime=regime,
                code=raw["code"],
                key=raw["key"],
                group=raw["group"],
                category=category,
                area=raw.get("area"),
                text_vi=raw["text_vi"],
                text_en=raw["text_en"],
                min_level=raw["min_level"],
                max_level=raw["max_level"],
                source=source,
                level_refs=tuple((lvl, r.get("item"), r.get("tcvn")) for lvl, r in sorted(level_refs.items())),
                derived_from=derived,
                note_vi=raw.get("note_vi", ""),
                note_en=raw.get("note_en", ""),
                unverified=raw.get("unverified", False),
            )
        )
    for key in REQUIRED_KEYS:
        if not any(r.key == key for r in rows):
            raise file.fail("requirements", f"no row has the key {key!r}, which other modules rely on")
    return tuple(categories.values()), tuple(rows)


def _checks(file: _File, regime: str, refs) -> tuple[d.CheckPolicy, ...]:
    out = []
    kinds = set()
    for i, raw in enumerate(file.data["checks"]):
        path = f"checks[{i}]"
        if raw["kind"] in kinds:
            raise file.fail(join(path, "kind"), f"{raw['kind']!r} is listed twice")
        kinds.add(raw["kind"])
        basis = refs(file, raw["legal_basis"], join(path, "legal_basis"))
        performer = raw.get("performer", {})
        for level in performer:
            if level not in raw["levels"]:
                raise file.fail(f"{path}.performer.{level}", "names a performer for a level without a minimum")
        for level, value in sorted(raw["levels"].items()):
            where = f"{path}.levels.{level}"
            if ("months" in value) == ("days" in value):
                raise file.fail(where, "give exactly one of months or days")
            if raw["measure"] == "interval" and "days" in value:
                raise file.fail(where, "an interval is given in months")
            out.append(
                d.CheckPolicy(
                    regime=regime,
                    kind=raw["kind"],
                    level=level,
                    measure=raw["measure"],
                    months=value.get("months"),
                    days=value.get("days"),
                    critical_assets_months=value.get("critical_assets_months"),
                    label_vi=raw["label_vi"],
                    label_en=raw["label_en"],
                    performer_vi=performer.get(level, {}).get("vi", ""),
                    performer_en=performer.get(level, {}).get("en", ""),
                    legal_basis=basis,
                    note_vi=value.get("note_vi", raw.get("note_vi", "")),
                    note_en=value.get("note_en", raw.get("note_en", "")),
                    unverified=raw.get("unverified", False) or any(r.unverified for r in basis),
                )
            )
    if "periodic_check" not in kinds:
        raise file.fail("checks", "the periodic_check kind is required")
    return tuple(out)


def _reports(file: _File, regime: str, actors: dict[str, d.Actor], refs) -> tuple[d.ReportPolicy, ...]:
    out = []
    kinds = set()
    for i, raw in enumerate(file.data["reports"]):
        path = f"reports[{i}]"
        if raw["kind"] in kinds:
            raise file.fail(join(path, "kind"), f"{raw['kind']!r} is listed twice")
        kinds.add(raw["kind"])
        deadlines = []
        for j, dl in enumerate(raw["deadlines"]):
            where = f"{path}.deadlines[{j}]"
            for code in [*dl["senders"], dl["recipient"]]:
                if code not in actors:
                    raise file.fail(where, f"unknown actor {code!r}; actors are declared in authorities.yaml")
            if raw["frequency"] == "monthly" and "month" in dl:
                raise file.fail(join(where, "month"), "a monthly report is due in the month after the period")
            if raw["frequency"] == "annual":
                if "month" not in dl:
                    raise file.fail(join(where, "month"), "an annual deadline names its month")
                try:
                    dt.date(2001, dl["month"], dl["day"])
                except ValueError:
                    raise file.fail(where, "is not a date") from None
            if raw["frequency"] == "monthly" and dl["day"] > 28:
                raise file.fail(join(where, "day"), "a monthly deadline must exist in every month (day ≤ 28)")
            deadlines.append(
                d.ReportDeadline(
                    senders=tuple(actors[c] for c in dl["senders"]),
                    recipient=actors[dl["recipient"]],
                    day=dl["day"],
                    month=dl.get("month"),
                    before=dl.get("before", True),
                )
            )
        window = None
        if "window" in raw:
            w = raw["window"]
            window = ((w["from"]["month"], w["from"]["day"]), (w["to"]["month"], w["to"]["day"]))
        elif raw["frequency"] == "annual":
            raise file.fail(join(path, "window"), "an annual report states its data window")
        form = raw.get("form") or {}

        def sections(items):
            return tuple(d.ReportSection(s["code"], s["vi"], s["en"]) for s in items)

        out.append(
            d.ReportPolicy(
                regime=regime,
                kind=raw["kind"],
                frequency=raw["frequency"],
                label_vi=raw["label_vi"],
                label_en=raw["label_en"],
                deadlines=tuple(deadlines),
                sections=sections(raw["sections"]),
                window=window,
                form_code=form.get("code"),
                form_title_vi=form.get("title_vi", ""),
                form_title_en=form.get("title_en", ""),
                form_columns=sections(form.get("columns", [])),
                form_legal_basis=refs(file, form.get("legal_basis"), join(path, "form.legal_basis")),
                channels=sections(raw.get("channels", [])),
                legal_basis=refs(file, raw["legal_basis"], join(path, "legal_basis")),
                note_vi=raw.get("note_vi", ""),
                note_en=raw.get("note_en", ""),
                unverified=raw.get("unverified", False),
            )
        )
    return tuple(out)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The platform's catalogue, loaded and checked once per process."""
    return load_catalogue(DATA_DIR)


def reload() -> Catalogue:
    """Forget the cached catalogue and load the data again."""
    catalogue.cache_clear()
    return catalogue()
