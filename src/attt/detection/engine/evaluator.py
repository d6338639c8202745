"""Predicate trees → Python closures, and each rule's cheap necessary condition (its anchors).

A compiled predicate is called as ``predicate(raw, low)``: ``raw`` is the event's field map, ``low`` the same
fields as lower-cased strings (computed once per event, shared by every rule), so case-insensitive Sigma tests
are plain ``==`` / ``startswith`` / ``endswith`` / ``in`` calls on ``low`` — C-level string operations, and a
single call for a whole list of OR-ed values (``str.endswith`` takes a tuple, equality is a set lookup).

Anchors: a list of tests such that if the rule matches, at least one of them holds (or None when no such list
is cheap). The index probes hash tables with the event's values to find the rules whose anchor holds, so only
those run their full predicate. Kinds: ``("eq", field, value)`` and ``("base", field, basename)`` are hash
lookups (``base``: the part after the last backslash, from an ``endswith '\\x.exe'`` test); ``("sub", field,
text)`` is a substring test.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any], Mapping[str, str]], bool]
Anchor = tuple[str, str, str]
SYSTEM_FIELDS = frozenset({"EventID", "Channel", "Provider_Name"})
# fields with few distinct values: an equality on them says little about whether the rule can match
COMMON_VALUE_FIELDS = frozenset(
    {
        "IntegrityLevel",
        "Company",
        "Product",
        "Signed",
        "SignatureStatus",
        "Signature",
        "EventType",
        "Initiated",
        "Protocol",
        "LogonType",
        "Level",
        "Keywords",
        "State",
        "Type",
        "AuthenticationPackageName",
        "ObjectType",
    }
)
KEYWORD = "*"  # anchor field of keyword (field-less) tests: probed against all the event's values joined


def ip_to_int(text: str) -> tuple[int, int] | None:
    """(version, integer) of an IP address (IPv4 strict dotted quad, IPv6 any form, brackets and zone allowed)."""
    try:  # the usual case first: a bare dotted quad (inet_pton refuses a NUL in the text with ValueError)
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        pass
    bare = text.strip()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    if bare != text:
        try:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, bare), "big")
        except (OSError, ValueError):
            pass
    try:
        return 6, int(ipaddress.IPv6Address(bare.split("%", 1)[0]))
    except ValueError:
        return None


def lower_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """Every non-null field as a lower-case string: the view case-insensitive tests read."""
    return {
        key: (value if type(value) is str else str(value)).lower() for key, value in fields.items() if value is not None
    }


def _as_str(value: Any) -> str:
    return value if type(value) is str else str(value)


_COST = {"eq": 1, "prefix": 2, "suffix": 2, "contains": 3, "glob": 6}


def cost(node: tuple) -> float:
    """A rough evaluation cost, so AND/OR groups test their cheap members first and short-circuit early."""
    kind = node[0]
    if kind in ("and", "or"):
        return sum(cost(child) for child in node[1])
    if kind == "not":
        return cost(node[1])
    if kind == "str":
        return _COST[node[2]] * (1 if node[1] is not None else 30) + (1 if len(node[3]) > 4 else 0)
    if kind == "re":
        return 8
    return 2


def _chain(parts: list[Predicate], conjunction: bool) -> Predicate:
    """Nested two-way closures: cheaper than all()/any() over a generator for the short groups rules have."""
    if len(parts) == 1:
        return parts[0]
    first, rest = parts[0], _chain(parts[1:], conjunction)
    if conjunction:
        return lambda raw, low: first(raw, low) and rest(raw, low)
    return lambda raw, low: first(raw, low) or rest(raw, low)


def compile_node(node: tuple) -> Predicate:
    kind = node[0]
    if kind in ("and", "or"):
        children = sorted(node[1], key=cost)
        if len(children) > 8:
            parts = [compile_node(child) for child in children]
            if kind == "and":
                return lambda raw, low: all(p(raw, low) for p in parts)
            return lambda raw, low: any(p(raw, low) for p in parts)
        return _chain([compile_node(child) for child in children], kind == "and")
    if kind == "not":
        inner = compile_node(node[1])
        return lambda raw, low: not inner(raw, low)
    if kind == "const":
        value = node[1]
        return lambda raw, low: value
    if kind == "str":
        return _compile_str(*node[1:])
    if kind == "re":
        return _compile_re(node[1], node[2], node[3])
    if kind == "null":
        field = node[1]
        return lambda raw, low: raw.get(field) in (None, "")
    if kind == "exists":
        field, wanted = node[1], node[2]
        return lambda raw, low: (raw.get(field) is not None) is wanted
    if kind == "cmp":
        return _compile_cmp(node[1], node[2], node[3])
    if kind == "cidr":
        return _compile_cidr(node[1], node[2])
    if kind == "fieldref":
        return _compile_fieldref(node[1], node[2], node[3])
    raise ValueError(f"unknown node {kind}")


def _string_test(kind: str, values: Any) -> Callable[[str], bool]:
    """A one-argument test of a string against OR-ed values of one kind."""
    if kind == "eq":
        return values.__contains__
    if kind == "prefix":
        return lambda s: s.startswith(values)
    if kind == "suffix":
        return lambda s: s.endswith(values)
    if kind == "contains":
        if len(values) == 1:
            needle = values[0]
            return lambda s: needle in s
        if len(values) <= 4:
            return lambda s: any(v in s for v in values)
        search = re.compile("|".join(re.escape(v) for v in values), re.DOTALL).search
        return lambda s: search(s) is not None
    if kind == "glob":
        full = re.compile("|".join(f"(?:{v})" for v in values), re.DOTALL).fullmatch
        return lambda s: full(s) is not None
    raise ValueError(f"unknown string test {kind}")


def _compile_str(field: str | None, kind: str, values: Any, cased: bool) -> Predicate:
    test = _string_test(kind, values)
    if field is None:
        if cased:
            return lambda raw, low: any(test(_as_str(v)) for v in raw.values() if v is not None)
        return lambda raw, low: any(test(v) for v in low.values())
    if cased:

        def cased_test(raw: Mapping[str, Any], low: Mapping[str, str]) -> bool:
            value = raw.get(field)
            return value is not None and test(_as_str(value))

        return cased_test
    if kind == "eq":
        return lambda raw, low: low.get(field) in values
    if kind == "prefix":
        return lambda raw, low: low.get(field, "").startswith(values) and field in low
    if kind == "suffix":
        return lambda raw, low: low.get(field, "").endswith(values) and field in low

    def field_test(raw: Mapping[str, Any], low: Mapping[str, str]) -> bool:
        value = low.get(field)
        return value is not None and test(value)

    return field_test


def _compile_re(field: str | None, source: str, flags: int) -> Predicate:
    search = re.compile(source, flags).search
    if field is None:
        return lambda raw, low: any(search(_as_str(v)) for v in raw.values() if v is not None)

    def regex_test(raw: Mapping[str, Any], low: Mapping[str, str]) -> bool:
        value = raw.get(field)
        return value is not None and search(_as_str(value)) is not None

    return regex_test


_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "neq": lambda a, b: a != b,
}


def _compile_cmp(field: str, op: str, number: float) -> Predicate:
    operator = _OPERATORS[op]

    def compare(raw: Mapping[str, Any], low: Mapping[str, str]) -> bool:
        value = raw.get(field)
        if value is None or isinstance(value, bool):
            return False
        try:
            return operator(float(value), number)
        except (TypeError, ValueError):
            return False

    return compare


def _compile_cidr(field: str, networks: tuple[str, ...]) -> Predicate:
    ranges = []
    for network in networks:
        parsed = ipaddress.ip_network(network)
        first = int(parsed.network_address)
        ranges.append((parsed.version, first, first + parsed.num_addresses - 1))

    def in_range(raw: Mapping[str, Any], low: Mapping[str, str]) -> bool:
        value = raw.get(field)
        if not isinstance(value, str):
            return False
        parsed = ip_to_int(value)
        if parsed is None:
            return False
        version, number = parsed
        return any(v == version and first <= number <= last for v, first, last in ranges)

    return in_range


def _compile_fieldref(field: str, other: str, mode: str) -> Predicate:
    def compare(raw: Mapping[str, Any], low: Mapping[str, str]) -> bool:
        value, reference = low.get(field), low.get(other)
        if value is None or reference is None:
            return False
        if mode == "prefix":
            return value.startswith(reference)
        if mode == "suffix":
            return value.endswith(reference)
        return value == reference

    return compare


# --- anchors ----------------------------------------------------------------------------------------------


def _cost(anchors: list[Anchor]) -> float:
    cost = 0.0
    for kind, field, value in anchors:
        if kind == "sub":
            cost += 1.0 if len(value) > 4 else 3.0
        elif field in SYSTEM_FIELDS:
            cost += 0.5
        elif field in COMMON_VALUE_FIELDS:
            cost += 1.5
        else:
            cost += 0.01
    return cost


def anchors(node: tuple) -> list[Anchor] | None:
    """Tests at least one of which holds whenever the node holds; None when there is no such short list."""
    kind = node[0]
    if kind == "and":
        best: list[Anchor] | None = None
        for child in node[1]:
            found = anchors(child)
            if found is not None and (best is None or _cost(found) < _cost(best)):
                best = found
        return best
    if kind == "or":
        union: list[Anchor] = []
        for child in node[1]:
            found = anchors(child)
            if found is None:
                return None
            union.extend(found)
        return list(dict.fromkeys(union))
    if kind == "const":
        return [] if node[1] is False else None
    if kind == "re" and node[1] is not None:
        literal = required_literal(node[2], node[3])
        return [("sub", node[1], literal)] if len(literal) >= 3 else None
    if kind != "str":
        return None
    _tag, field, test, values, cased = node
    out: list[Anchor] = []
    for value in values:
        if test == "glob":  # the longest literal run of the wildcard pattern
            literal = required_literal(value, re.DOTALL)
            if len(literal) < 3:
                return None
            out.append(("sub", KEYWORD if field is None else field, literal))
            continue
        value = value.lower() if cased else value
        if field is None:
            # a keyword is a substring of one of the values, hence of all of them joined
            if test == "eq" or not value:
                return None
            out.append(("sub", KEYWORD, value))
        elif test == "eq":
            out.append(("eq", field, value))
        elif test == "suffix" and "\\" in value:
            out.append(("base", field, value.rsplit("\\", 1)[1]))
        elif value:
            out.append(("sub", field, value))
        else:
            return None  # an empty substring holds for every present value
    return out


def required_literal(source: str, flags: int) -> str:
    """The longest run of literal characters every match of the regex contains, lower-cased ("" if none).

    Only the top-level sequence is read (a branch, a repeat or a class ends a run), so the result is always a
    true necessary substring; lower-casing keeps it necessary for the lower-cased view whatever the flags.
    """
    try:
        from re import _parser as parser  # the stdlib regex parser (3.11+)

        parsed = parser.parse(source, flags)
    except Exception:
        return ""
    literal_code = parser.LITERAL
    best, run = "", []
    for op, argument in parsed:
        if op is literal_code:
            run.append(chr(argument))
            continue
        if len("".join(run)) > len(best):
            best = "".join(run)
        run = []
    if len("".join(run)) > len(best):
        best = "".join(run)
    return best.lower()


# --- generated code ---------------------------------------------------------------------------------------


def compile_predicate(tree: tuple) -> Predicate:
    """The whole rule as one generated Python function: no closure call per node for the common tests.

    Equality, prefix, suffix and substring tests on a field become inline expressions; everything else calls the
    node's closure. The source only holds ``repr`` literals of field names and names of constants we bind, so
    rule text cannot inject code. Falls back to the closure tree if the expression is too deep to compile.
    """
    constants: dict[str, object] = {}

    def constant(value: object) -> str:
        name = f"_k{len(constants)}"
        constants[name] = value
        return name

    def emit(node: tuple) -> str:
        kind = node[0]
        if kind in ("and", "or"):
            joined = f" {kind} ".join(emit(child) for child in sorted(node[1], key=cost))
            return f"({joined})"
        if kind == "not":
            return f"(not {emit(node[1])})"
        if kind == "const":
            return "True" if node[1] else "False"
        if kind == "str" and node[1] is not None and not node[4]:
            _tag, field, test, values, _cased = node
            get = f"low.get({field!r})"
            if test == "eq":
                return f"({get} in {constant(values)})"
            if test == "prefix":
                return f"((_v := {get}) is not None and _v.startswith({constant(values)}))"
            if test == "suffix":
                return f"((_v := {get}) is not None and _v.endswith({constant(values)}))"
            if test == "contains" and len(values) <= 4:
                needles = " or ".join(f"{constant(value)} in _v" for value in values)
                return f"((_v := {get}) is not None and ({needles}))"
        return f"{constant(compile_node(node))}(raw, low)"

    try:
        source = f"def predicate(raw, low):\n    return {emit(tree)}\n"
        code = compile(source, "<sigma rule>", "exec")
    except (RecursionError, SyntaxError, MemoryError, ValueError):
        return compile_node(tree)
    namespace = dict(constants)
    exec(code, namespace)  # noqa: S102 - source built above from repr() literals and our own names only
    return namespace["predicate"]
