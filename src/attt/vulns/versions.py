"""Version comparison for vulnerability ranges.

Vendors do not use semver: NVD ranges hold versions like 12.1-55.300, 10.0.19045.4046, 2019.1,
1.1.1k or 2.0.0-rc1. A version is split into numeric and alphabetic runs (separators only delimit),
numbers compare as integers, pre-release words (alpha, beta, rc, dev, …) sort before the release and
other words (patch letters, sp, update) after it. Trailing zero components are not significant
(1.0 == 1.0.0), and a leading "v" (a tag, v2.4.1) is dropped. `version_key` returns a plain tuple, so the
order is total by construction (antisymmetric and transitive), which the matcher relies on for sorting and
bisecting.
"""

import re
from functools import lru_cache

_TOKEN = re.compile(r"\d+|[a-z]+")
# Rank of pre-release words: all below the release itself.
_PRE = {"dev": 0, "snapshot": 0, "pre": 3, "preview": 3, "alpha": 1, "beta": 2, "rc": 4, "cr": 4}
# Words that mean "the release itself".
_RELEASE = {"final", "ga", "release", "stable"}
# Single letters that are pre-release only when a number follows (1.0a1, 1.0b2, 5.0m3), but a patch
# letter otherwise (OpenSSL 1.1.1k is after 1.1.1).
_PRE_LETTER = {"a": 1, "b": 2, "c": 4, "m": 3}

_END = (2, 0, "")
_ZERO = (4, 0, "")


@lru_cache(maxsize=200_000)
def version_key(version: str) -> tuple:
    """A sort key for `version`; equal keys mean equal versions."""
    raw = _TOKEN.findall(version.lower())
    if raw[:1] == ["v"] and len(raw) > 1 and raw[1].isdigit():
        raw = raw[1:]  # a tag (v2.4.1) is the release itself
    tokens: list[tuple] = []
    for index, part in enumerate(raw):
        if part.isdigit():
            tokens.append((4, int(part), ""))
            continue
        follows_number = index + 1 < len(raw) and raw[index + 1].isdigit()
        if part in _PRE:
            tokens.append((1, _PRE[part], ""))
        elif part in _PRE_LETTER and follows_number:
            tokens.append((1, _PRE_LETTER[part], ""))
        elif part in _RELEASE:
            continue
        else:
            tokens.append((3, 0, part))
    # Zeros at the end of a numeric run that ends the version or precedes a word are not significant.
    out: list[tuple] = []
    for i, token in enumerate(tokens):
        out.append(token)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None or nxt[0] != 4:
            while out and out[-1] == _ZERO and (len(out) == 1 or out[-2][0] == 4):
                out.pop()
    return (*out, _END)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is before, equal to or after `b`."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


def in_range(
    version: str,
    *,
    start_including: str = "",
    start_excluding: str = "",
    end_including: str = "",
    end_excluding: str = "",
) -> bool:
    """Whether `version` lies in the range; an empty bound is open."""
    key = version_key(version)
    if start_including and key < version_key(start_including):
        return False
    if start_excluding and key <= version_key(start_excluding):
        return False
    if end_including and key > version_key(end_including):
        return False
    return not (end_excluding and key >= version_key(end_excluding))
