"""The facts of an information system (docs/level-facts.md) as the engine reads them.

The definitions live in data/facts.yaml (type, allowed values, default, labels and help with the legal
hook). This module turns a facts document into a complete, checked dict, or raises InvalidFacts with
the path of the first wrong value, so that the engine never sees a half-valid input.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from attt.regulation.errors import InvalidFacts
from attt.regulation.schema import Invalid

MAX_COMPONENT_DEPTH = 4
MAX_COMPONENTS = 200
FACT_TYPES = ("enum", "list", "int", "bool", "components")


def pick(vi: str, en: str, lang: str | None = None) -> str:
    """The Vietnamese or English variant of a text: for `lang`, else the active language."""
    if lang is None:
        from django.utils.translation import get_language

        lang = get_language() or "vi"
    return en if lang.startswith("en") else vi


@dataclass(frozen=True, eq=False)
class FactDef:
    """One fact of the contract: its type, allowed values and default, and how to ask for it."""

    name: str
    type: str
    default: Any
    label_vi: str = ""
    label_en: str = ""
    help_vi: str = ""
    help_en: str = ""
    values: tuple = ()
    value_labels: dict = field(default_factory=dict)  # value -> (vi, en)
    min: int | None = None
    max: int | None = None
    nullable: bool = False
    group: str = "other"
    regimes: tuple[str, ...] | None = None  # None: every regime reads it
    applies_when: Any = None  # a Condition, or None for "always"
    legal_basis: tuple = ()
    derived: bool = False  # computed by the engine (the `level` of flag conditions), not given

    def label(self, lang: str | None = None) -> str:
        return pick(self.label_vi, self.label_en, lang)

    def help(self, lang: str | None = None) -> str:
        return pick(self.help_vi, self.help_en, lang)

    def value_label(self, value: Any, lang: str | None = None) -> str:
        labels = self.value_labels.get(value)
        return pick(*labels, lang) if labels else str(value)

    def check_scalar(self, value: Any, path: str, allow_null: bool = True) -> Any:
        """Check a constant written in the data (a condition operand or a default); raise Invalid."""
        if self.type in ("enum", "list"):
            if not isinstance(value, str) or value not in self.values:
                raise Invalid(path, f"{value!r} is not a value of {self.name} ({', '.join(self.values)})")
            return value
        if self.type == "bool":
            if not isinstance(value, bool):
                raise Invalid(path, f"{self.name} is true or false, found {value!r}")
            return value
        if self.type == "int":
            if value is None and self.nullable and allow_null:
                return None
            if isinstance(value, bool) or not isinstance(value, int):
                raise Invalid(path, f"{self.name} is a whole number, found {value!r}")
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise Invalid(path, f"{value} is outside the range of {self.name} ({self.min}–{self.max})")
            return value
        raise Invalid(path, f"{self.name} cannot be compared with a constant")


def level_fact() -> FactDef:
    """The pseudo-fact `level` that flag conditions may read: the level the engine has found."""
    return FactDef(name="level", type="int", default=1, min=1, max=5, derived=True, label_vi="Cấp độ", label_en="Level")


class _Budget:
    def __init__(self) -> None:
        self.components = 0


def normalise(raw: Any, definitions: dict[str, FactDef], path: str = "facts") -> dict[str, Any]:
    """A complete facts dict (defaults filled in, lists de-duplicated), or InvalidFacts."""
    return _normalise(raw, definitions, path, 0, _Budget())


def _normalise(raw: Any, defs: dict[str, FactDef], path: str, depth: int, budget: _Budget) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidFacts(path, _("expected an object of facts (see docs/level-facts.md)"))
    given = dict(raw.items())
    for key in given:
        if not isinstance(key, str):
            raise InvalidFacts(path, _("fact names must be text, found %(key)r") % {"key": key})
        if key not in defs or defs[key].derived:
            known = [n for n, d in defs.items() if not d.derived]
            close = difflib.get_close_matches(key, known, n=1)
            hint = _(" Did you mean '%(name)s'?") % {"name": close[0]} if close else ""
            raise InvalidFacts(f"{path}.{key}", _("unknown fact.") + hint)
    out: dict[str, Any] = {}
    for name, fact in defs.items():
        if fact.derived:
            continue
        where = f"{path}.{name}"
        if name not in given:
            value = fact.default
            out[name] = list(value) if isinstance(value, list | tuple) else value
            continue
        value = given[name]
        if fact.type == "components":
            out[name] = _components(value, defs, where, depth, budget)
        else:
            out[name] = check_value(fact, value, where)
    return out


def check_value(fact: FactDef, value: Any, where: str) -> Any:
    """Check one given value of a scalar or list fact; raise InvalidFacts with a readable reason."""
    if fact.type == "enum":
        if not isinstance(value, str) or value not in fact.values:
            raise InvalidFacts(where, _("expected one of: %(values)s") % {"values": ", ".join(fact.values)})
        return value
    if fact.type == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) and v in fact.values for v in value):
            raise InvalidFacts(where, _("expected a list drawn from: %(values)s") % {"values": ", ".join(fact.values)})
        return list(dict.fromkeys(value))
    if fact.type == "bool":
        if not isinstance(value, bool):
            raise InvalidFacts(where, _("expected true or false"))
        return value
    # int
    if value is None and fact.nullable:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and ((fact.min is not None and value < fact.min) or (fact.max is not None and value > fact.max)):
        ok = False
    if not ok:
        if fact.nullable:
            message = _("expected null or a whole number from %(min)s to %(max)s")
        else:
            message = _("expected a whole number from %(min)s to %(max)s")
        raise InvalidFacts(where, message % {"min": fact.min, "max": fact.max})
    return value


def _components(value: Any, defs: dict[str, FactDef], where: str, depth: int, budget: _Budget) -> list[dict]:
    if not isinstance(value, list):
        raise InvalidFacts(where, _("expected a list of facts objects, one per component system"))
    if value and depth + 1 > MAX_COMPONENT_DEPTH:
        raise InvalidFacts(
            where, _("components are nested too deeply (at most %(n)s levels)") % {"n": MAX_COMPONENT_DEPTH}
        )
    out = []
    for i, item in enumerate(value):
        budget.components += 1
        if budget.components > MAX_COMPONENTS:
            raise InvalidFacts(where, _("too many components (at most %(n)s in all)") % {"n": MAX_COMPONENTS})
        out.append(_normalise(item, defs, f"{where}[{i}]", depth + 1, budget))
    return out
