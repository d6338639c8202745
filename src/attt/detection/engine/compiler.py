"""Sigma rule → our own predicate tree (plain tuples), via pySigma's parser.

pySigma reads the YAML, applies the value modifiers (contains, base64offset, windash, re flags, cidr, …) and
parses the condition; we walk its detections and condition parse tree once and emit a small tree of tuples
that our evaluator compiles to closures. The tree is plain data on purpose: it pickles (the compiled-rule cache),
it is what the index reads to pick each rule's cheap necessary condition, and it is what the naive evaluator
(the benchmark's baseline and the property tests' reference) interprets directly.

Tree nodes (field names keep their case; string values are lower-cased unless ``cased``):

- ``("and", [nodes])``, ``("or", [nodes])``, ``("not", node)``, ``("const", bool)``
- ``("str", field, kind, values, cased)`` with kind ``eq`` (values: frozenset), ``prefix``/``suffix``/``contains``
  (values: tuple) or ``glob`` (values: tuple of regex sources, full match). ``field`` None = keyword (any field).
- ``("re", field, source, flags)`` search semantics as Sigma's ``re`` modifier; ``("null", field)``;
  ``("exists", field, bool)``; ``("cmp", field, op, number)``; ``("cidr", field, (networks…))``;
  ``("fieldref", field, other, mode)`` with mode eq/prefix/suffix.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

Node = tuple


class Unsupported(Exception):
    """A construct the engine does not evaluate; the message is the reason shown to the analyst."""


_COMPARE = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
    CompareOperators.NEQ: "neq",
}
_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}


def compile_condition(rule: SigmaRule) -> Node:
    """The predicate tree of a rule: its conditions OR-ed (Sigma allows a list of conditions)."""
    detections = rule.detection
    trees = []
    for condition in detections.parsed_condition:
        parsed = condition.parse(postprocess=False)
        trees.append(_condition(parsed, detections))
    return simplify(("or", trees)) if len(trees) != 1 else simplify(trees[0])


def _condition(item: Any, detections: Any) -> Node:
    if isinstance(item, ConditionIdentifier):
        name = item.identifier
        if name not in detections.detections:
            raise Unsupported(f"condition names an undefined detection '{name}'")
        return _detection(detections.detections[name])
    if isinstance(item, ConditionSelector):
        names = [identifier.identifier for identifier in item.resolve_referenced_detections(detections)]
        if not names:
            raise Unsupported(f"'{item.args[0]} of {item.pattern}' matches no detection")
        children = [_detection(detections.detections[name]) for name in names]
        return ("and" if item.cond_class is ConditionAND else "or", children)
    if isinstance(item, ConditionNOT):
        return ("not", _condition(item.args[0], detections))
    if isinstance(item, ConditionAND | ConditionOR):
        kind = "and" if isinstance(item, ConditionAND) else "or"
        return (kind, [_condition(arg, detections) for arg in item.args])
    if isinstance(item, ConditionItem):  # pragma: no cover - a future pySigma condition class
        raise Unsupported(f"condition element {type(item).__name__}")
    raise Unsupported(f"condition element {type(item).__name__}")


def _detection(detection: SigmaDetection) -> Node:
    children = []
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            children.append(_detection(item))
        else:
            children.append(_detection_item(item))
    return ("and" if detection.item_linking is ConditionAND else "or", children)


def _detection_item(item: SigmaDetectionItem) -> Node:
    field = item.field
    linking = "and" if item.value_linking is ConditionAND else "or"
    nodes = [_value(field, value) for value in item.value]
    node = (linking, nodes)
    return ("not", node) if item.negated else node


def _value(field: str | None, value: Any) -> Node:
    if isinstance(value, SigmaExpansion):
        return ("or", [_value(field, inner) for inner in value.values])
    if isinstance(value, SigmaNull):
        if field is None:
            raise Unsupported("null keyword")
        return ("null", field)
    if isinstance(value, SigmaString):
        return _string(field, value)
    if isinstance(value, SigmaExists):
        if field is None:
            raise Unsupported("exists modifier without a field")
        return ("exists", field, bool(value.exists))
    if isinstance(value, SigmaBool):
        return ("str", field, "eq", frozenset({"true" if value.boolean else "false"}), False)
    if isinstance(value, SigmaCompareExpression):
        if field is None:
            raise Unsupported("comparison without a field")
        return ("cmp", field, _COMPARE[value.op], value.number.number)
    if isinstance(value, SigmaNumber):
        return ("str", field, "eq", frozenset({str(value.number).lower()}), False)
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= _RE_FLAGS.get(flag, 0)
        source = _plain(value.regexp)
        try:
            re.compile(source, flags)
        except re.error as error:
            raise Unsupported(f"regular expression Python cannot compile: {error}") from error
        return ("re", field, source, flags)
    if isinstance(value, SigmaCIDRExpression):
        if field is None:
            raise Unsupported("cidr without a field")
        return ("cidr", field, (str(value.network),))
    if isinstance(value, SigmaFieldReference):
        if field is None:
            raise Unsupported("fieldref without a field")
        mode = "prefix" if value.starts_with else "suffix" if value.ends_with else "eq"
        return ("fieldref", field, value.field, mode)
    raise Unsupported(f"value type {type(value).__name__}")


def _plain(value: SigmaString) -> str:
    parts = []
    for part in value.s:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, Placeholder):
            raise Unsupported(f"placeholder %{part.name}% needs a value list the engine does not have")
        else:
            parts.append("*" if part is SpecialChars.WILDCARD_MULTI else "?")
    return "".join(parts)


def _string(field: str | None, value: SigmaString) -> Node:
    """A Sigma string as the cheapest matcher that is exact: equality, prefix, suffix, substring or a glob."""
    cased = isinstance(value, SigmaCasedString)
    tokens: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise Unsupported(f"placeholder %{part.name}% needs a value list the engine does not have")
        if isinstance(part, str):
            text = part if cased else part.lower()
            if tokens and isinstance(tokens[-1], str):
                tokens[-1] += text
            else:
                tokens.append(text)
        elif part is SpecialChars.WILDCARD_MULTI and tokens and tokens[-1] is SpecialChars.WILDCARD_MULTI:
            continue
        else:
            tokens.append(part)
    if field is None:
        # a keyword is searched in the event's values, like a full-text search: a substring unless anchored
        if not tokens or tokens[0] is not SpecialChars.WILDCARD_MULTI:
            tokens.insert(0, SpecialChars.WILDCARD_MULTI)
        if tokens[-1] is not SpecialChars.WILDCARD_MULTI:
            tokens.append(SpecialChars.WILDCARD_MULTI)
    literals = [t for t in tokens if isinstance(t, str)]
    single = any(t is SpecialChars.WILDCARD_SINGLE for t in tokens)
    multi = sum(1 for t in tokens if t is SpecialChars.WILDCARD_MULTI)
    if not single:
        if multi == 0:
            return ("str", field, "eq", frozenset({literals[0] if literals else ""}), cased)
        if len(literals) == 1:
            star_first = tokens[0] is SpecialChars.WILDCARD_MULTI
            star_last = tokens[-1] is SpecialChars.WILDCARD_MULTI
            if star_first and star_last:
                return ("str", field, "contains", (literals[0],), cased)
            if star_last:
                return ("str", field, "prefix", (literals[0],), cased)
            if star_first:
                return ("str", field, "suffix", (literals[0],), cased)
    return ("str", field, "glob", (glob_regex(tokens),), cased)


def glob_regex(tokens: list[str | SpecialChars]) -> str:
    """A regex source matching, in full, what the Sigma wildcard string matches."""
    out = []
    for token in tokens:
        if isinstance(token, str):
            out.append(re.escape(token))
        elif token is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        else:
            out.append(".")
    return "".join(out)


def simplify(node: Node) -> Node:
    """Flatten nested and/or, drop single-child groups, merge same-field string tests of one kind in an OR."""
    kind = node[0]
    if kind == "not":
        inner = simplify(node[1])
        if inner[0] == "const":
            return ("const", not inner[1])
        if inner[0] == "not":
            return inner[1]
        return ("not", inner)
    if kind not in ("and", "or"):
        return node
    children: list[Node] = []
    for child in node[1]:
        child = simplify(child)
        if child[0] == kind:
            children.extend(child[1])
        else:
            children.append(child)
    if kind == "or":
        children = _merge_strings(children)
    if any(c[0] == "const" and c[1] == (kind == "or") for c in children):
        return ("const", kind == "or")
    children = [c for c in children if c[0] != "const"]
    if not children:
        return ("const", kind == "and")
    if len(children) == 1:
        return children[0]
    return (kind, children)


def _merge_strings(children: list[Node]) -> list[Node]:
    """OR-ed string tests on one field and kind become one test over all their values (one C-level call)."""
    merged: dict[tuple, list] = {}
    slots: list[Node | tuple] = []
    for child in children:
        if child[0] != "str":
            slots.append(child)
            continue
        key = (child[1], child[2], child[4])
        if key not in merged:
            merged[key] = []
            slots.append(("_merged", key))
        merged[key].append(child[3])
    result: list[Node] = []
    for slot in slots:
        if slot[0] != "_merged":
            result.append(slot)
            continue
        field, kind, cased = slot[1]
        values = merged[slot[1]]
        if kind == "eq":
            combined: Any = frozenset().union(*values)
        else:
            combined = tuple(dict.fromkeys(v for group in values for v in group))
        result.append(("str", field, kind, combined, cased))
    return result
