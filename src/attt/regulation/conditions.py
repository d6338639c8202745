"""The condition language the criteria are written in, and its evaluator.

Grammar (YAML or JSON)::

    condition := {all: [condition, ...]}      every one holds (an empty list holds)
               | {any: [condition, ...]}      at least one holds
               | {not: condition}             it does not hold
               | {fact: NAME, OP: VALUE}      one comparison of a fact with a constant
    OP        := eq | ne | gt | gte | lt | lte | in | contains

`eq`/`ne` compare with a value the fact can take; `gt`/`gte`/`lt`/`lte` need a number fact (a fact
that may be null, such as `decided_level`, is then never compared true); `in` takes a list of values;
`contains` needs a list fact (`information_classes`). Fact names and values are checked against the
facts' definitions when the data is loaded, so a typo is a load-time error, not a silent "never met".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from attt.regulation.schema import Invalid, join

if TYPE_CHECKING:
    from attt.regulation.facts import FactDef

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains")
_SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "in": "∈", "contains": "∋"}


class Condition:
    """A compiled condition: immutable, evaluated against normalised facts."""

    def evaluate(self, facts: dict[str, Any]) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def facts_used(self) -> tuple[str, ...]:  # pragma: no cover - interface
        raise NotImplementedError

    def to_data(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self, lang: str = "en") -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _unique(names) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class All(Condition):
    items: tuple[Condition, ...]

    def evaluate(self, facts):
        return all(c.evaluate(facts) for c in self.items)

    def facts_used(self):
        return _unique(n for c in self.items for n in c.facts_used())

    def to_data(self):
        return {"all": [c.to_data() for c in self.items]}

    def describe(self, lang="en"):
        return "(" + (" và " if lang == "vi" else " and ").join(c.describe(lang) for c in self.items) + ")"


@dataclass(frozen=True)
class Any_(Condition):
    items: tuple[Condition, ...]

    def evaluate(self, facts):
        return any(c.evaluate(facts) for c in self.items)

    def facts_used(self):
        return _unique(n for c in self.items for n in c.facts_used())

    def to_data(self):
        return {"any": [c.to_data() for c in self.items]}

    def describe(self, lang="en"):
        return "(" + (" hoặc " if lang == "vi" else " or ").join(c.describe(lang) for c in self.items) + ")"


@dataclass(frozen=True)
class Not(Condition):
    item: Condition

    def evaluate(self, facts):
        return not self.item.evaluate(facts)

    def facts_used(self):
        return self.item.facts_used()

    def to_data(self):
        return {"not": self.item.to_data()}

    def describe(self, lang="en"):
        return ("không " if lang == "vi" else "not ") + self.item.describe(lang)


@dataclass(frozen=True)
class Compare(Condition):
    fact: str
    op: str
    value: Any

    def evaluate(self, facts):
        actual = facts[self.fact]
        op, value = self.op, self.value
        if op == "eq":
            return actual == value
        if op == "ne":
            return actual != value
        if op == "in":
            return actual in value
        if op == "contains":
            return value in actual
        if actual is None:
            return False
        if op == "gt":
            return actual > value
        if op == "gte":
            return actual >= value
        if op == "lt":
            return actual < value
        return actual <= value  # lte

    def facts_used(self):
        return (self.fact,)

    def to_data(self):
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"fact": self.fact, self.op: value}

    def describe(self, lang="en"):
        value = self.value
        value = "{" + ", ".join(_show(v) for v in value) + "}" if isinstance(value, tuple) else _show(value)
        return f"{self.fact} {_SYMBOLS[self.op]} {value}"


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    return str(value)


def compile_condition(data: Any, facts: dict[str, FactDef], path: str = "when") -> Condition:
    """Check a condition against the facts' definitions and build it; raise Invalid with the path."""
    if not isinstance(data, dict):
        raise Invalid(path, "a condition is a mapping: {all: […]}, {any: […]}, {not: …} or {fact: …, OP: …}")
    keys = set(data)
    for combinator in ("all", "any"):
        if combinator in keys:
            if keys != {combinator}:
                raise Invalid(path, f"'{combinator}' must stand alone, found also {sorted(keys - {combinator})}")
            items = data[combinator]
            if not isinstance(items, list) or not items:
                raise Invalid(join(path, combinator), "expected a non-empty list of conditions")
            built = tuple(compile_condition(c, facts, join(join(path, combinator), i)) for i, c in enumerate(items))
            return All(built) if combinator == "all" else Any_(built)
    if "not" in keys:
        if keys != {"not"}:
            raise Invalid(path, f"'not' must stand alone, found also {sorted(keys - {'not'})}")
        return Not(compile_condition(data["not"], facts, join(path, "not")))
    if "fact" not in keys:
        raise Invalid(path, f"unknown condition keys {sorted(map(str, keys))}; expected all, any, not or fact")
    name = data["fact"]
    if name not in facts:
        raise Invalid(join(path, "fact"), f"unknown fact {name!r}; known facts: {', '.join(sorted(facts))}")
    ops = keys - {"fact"}
    if len(ops) != 1:
        raise Invalid(path, f"a comparison needs exactly one operator of {', '.join(OPERATORS)}")
    op = ops.pop()
    if op not in OPERATORS:
        raise Invalid(join(path, str(op)), f"unknown operator; expected one of {', '.join(OPERATORS)}")
    fact = facts[name]
    value = data[op]
    where = join(path, op)
    if op in ("gt", "gte", "lt", "lte"):
        if fact.type != "int":
            raise Invalid(where, f"'{op}' compares numbers, but {name} is a {fact.type} fact")
        fact.check_scalar(value, where, allow_null=False)
    elif op == "in":
        if fact.type in ("list", "components"):
            raise Invalid(where, f"'in' needs a single-valued fact; use 'contains' for {name}")
        if not isinstance(value, list) or not value:
            raise Invalid(where, "expected a non-empty list of values")
        value = tuple(fact.check_scalar(v, join(where, i)) for i, v in enumerate(value))
    elif op == "contains":
        if fact.type != "list":
            raise Invalid(where, f"'contains' needs a list fact, but {name} is a {fact.type} fact")
        fact.check_scalar(value, where, allow_null=False)
    else:  # eq, ne
        if fact.type in ("list", "components"):
            raise Invalid(where, f"use 'contains' to test the list fact {name}")
        fact.check_scalar(value, where)
    return Compare(name, op, value)
