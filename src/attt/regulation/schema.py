"""A small validator for the data files (no jsonschema dependency).

Specs are plain objects that check a parsed YAML value and return it (possibly normalised). Every
failure names the path inside the file (`criteria[3].when.all[1].fact`), so the loader can report
"file: path: what is wrong" in one line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any


class Invalid(Exception):
    """A value does not match its spec; `path` is where inside the document."""

    def __init__(self, path: str, message: str):
        self.path = path or "(top level)"
        self.message = message
        super().__init__(f"{self.path}: {message}")


def join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _kind(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    return {
        dict: "a mapping",
        list: "a list",
        str: f"the text {value!r}",
        int: f"the number {value}",
        float: f"the number {value}",
    }.get(type(value), type(value).__name__)


class Spec:
    def check(self, value: Any, path: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class Anything(Spec):
    def check(self, value, path):
        return value


class Str(Spec):
    def __init__(self, pattern: str | None = None, min_len: int = 1, max_len: int = 4000):
        self.pattern = re.compile(pattern) if pattern else None
        self.min_len, self.max_len = min_len, max_len

    def check(self, value, path):
        if not isinstance(value, str):
            raise Invalid(path, f"expected text, found {_kind(value)}")
        if not self.min_len <= len(value.strip()) <= self.max_len:
            raise Invalid(path, f"expected text of {self.min_len} to {self.max_len} characters")
        if self.pattern and not self.pattern.fullmatch(value):
            raise Invalid(path, f"{value!r} does not match the pattern {self.pattern.pattern}")
        return value


class Int(Spec):
    def __init__(self, min: int | None = None, max: int | None = None):
        self.min, self.max = min, max

    def check(self, value, path):
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(path, f"expected a whole number, found {_kind(value)}")
        if self.min is not None and value < self.min:
            raise Invalid(path, f"expected at least {self.min}, found {value}")
        if self.max is not None and value > self.max:
            raise Invalid(path, f"expected at most {self.max}, found {value}")
        return value


class Bool(Spec):
    def check(self, value, path):
        if not isinstance(value, bool):
            raise Invalid(path, f"expected true or false, found {_kind(value)}")
        return value


class Date(Spec):
    def check(self, value, path):
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise Invalid(path, f"expected a date written YYYY-MM-DD, found {_kind(value)}")
        return value


class OneOf(Spec):
    """One of a fixed set of values (compared with their type, so `1` is not `true`)."""

    def __init__(self, values: Iterable[object]):
        self.values = tuple(values)

    def check(self, value, path):
        if not any(type(value) is type(v) and value == v for v in self.values):
            allowed = ", ".join(str(v) for v in self.values)
            raise Invalid(path, f"expected one of {allowed}; found {_kind(value)}")
        return value


class Nullable(Spec):
    def __init__(self, inner: Spec):
        self.inner = inner

    def check(self, value, path):
        return None if value is None else self.inner.check(value, path)


class ListOf(Spec):
    def __init__(self, item: Spec, min_len: int = 0, unique: bool = False):
        self.item, self.min_len, self.unique = item, min_len, unique

    def check(self, value, path):
        if not isinstance(value, list):
            raise Invalid(path, f"expected a list, found {_kind(value)}")
        if len(value) < self.min_len:
            raise Invalid(path, f"expected at least {self.min_len} item(s), found {len(value)}")
        out = [self.item.check(v, join(path, i)) for i, v in enumerate(value)]
        if self.unique:
            seen: list = []
            for i, v in enumerate(out):
                if v in seen:
                    raise Invalid(join(path, i), f"{v!r} is listed twice")
                seen.append(v)
        return out


class MapOf(Spec):
    """A mapping whose keys and values each follow a spec (e.g. level → reference)."""

    def __init__(self, key: Spec, value: Spec, min_len: int = 0):
        self.key, self.value, self.min_len = key, value, min_len

    def check(self, value, path):
        if not isinstance(value, dict):
            raise Invalid(path, f"expected a mapping, found {_kind(value)}")
        if len(value) < self.min_len:
            raise Invalid(path, f"expected at least {self.min_len} entries")
        out = {}
        for k, v in value.items():
            out[self.key.check(k, join(path, str(k)))] = self.value.check(v, join(path, str(k)))
        return out


class Obj(Spec):
    """A mapping with known keys: missing required keys and unknown keys are both errors."""

    def __init__(self, required: dict[str, Spec] | None = None, optional: dict[str, Spec] | None = None):
        self.required = required or {}
        self.optional = optional or {}

    def check(self, value, path):
        if not isinstance(value, dict):
            raise Invalid(path, f"expected a mapping, found {_kind(value)}")
        for name in self.required:
            if name not in value:
                raise Invalid(join(path, name), "is required but missing")
        known = {**self.required, **self.optional}
        for name in value:
            if name not in known:
                raise Invalid(join(path, str(name)), f"unknown key; allowed here: {', '.join(sorted(known))}")
        return {name: known[name].check(v, join(path, name)) for name, v in value.items()}


class Check(Spec):
    """A spec followed by a custom rule `func(value, path) -> value` that raises Invalid."""

    def __init__(self, inner: Spec, func: Callable[[Any, str], Any]):
        self.inner, self.func = inner, func

    def check(self, value, path):
        return self.func(self.inner.check(value, path), path)


# --- Specs shared by several data files ------------------------------------------------------------

CODE = Str(pattern=r"[A-Za-z0-9_.\-]+", max_len=64)
SNAKE = Str(pattern=r"[a-z][a-z0-9_]*", max_len=64)
TEXT = Str(max_len=4000)
LEVEL = Int(min=1, max=5)

LEGAL_REF = Obj(
    required={"instrument": CODE},
    optional={
        "article": Int(min=1, max=999),
        "clause": Int(min=1, max=99),
        "point": Str(pattern=r"[a-zđ]{1,2}", max_len=2),
        "indent": Int(min=1, max=20),
        "annex": Str(max_len=20),
        "item": Str(max_len=40),
        "section": Str(max_len=60),
        "form": Str(max_len=40),
        "note_vi": TEXT,
        "note_en": TEXT,
        "unverified": Bool(),
    },
)


def refs(value: Any, path: str) -> list[dict]:
    """`legal_basis`/`source` may be one reference or a list of them; always return a list."""
    if isinstance(value, dict):
        return [LEGAL_REF.check(value, path)]
    return ListOf(LEGAL_REF, min_len=1).check(value, path)


LEGAL_REFS = Check(Anything(), refs)
