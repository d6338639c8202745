"""The level engine: facts in, level out, with the criterion that decided it and the grounds.

Rules (both decrees): a system is at a level when it meets any criterion of that level; when it meets
criteria of several levels, or is made of components, the highest level applies. The engine only
evaluates the regime's data; every legal statement, including the sentences of the explanation, is data.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from attt.regulation.domain import Assessment, Criterion, FlagResult, Note, Regime
from attt.regulation.facts import FactDef, normalise


def assess_regime(
    regime: Regime,
    raw_facts: Any,
    facts_defs: dict[str, FactDef],
    on: dt.date | None = None,
) -> Assessment:
    """Check the facts (InvalidFacts on the first problem) and assess them under `regime`."""
    facts = normalise(raw_facts, facts_defs)
    return _assess(regime, facts, facts_defs, "", on)


def _assess(regime: Regime, facts: dict, defs: dict[str, FactDef], path: str, on: dt.date | None) -> Assessment:
    met = tuple(c for c in regime.criteria if c.when.evaluate(facts))
    components = tuple(
        _assess(regime, comp, defs, f"{path}.components[{i}]" if path else f"components[{i}]", on)
        for i, comp in enumerate(facts["components"])
    )
    own_level = max((c.level for c in met), default=None)
    levels = [lvl for lvl in [own_level, *(c.level for c in components if not c.fallback)] if lvl is not None]
    deciding: Criterion | None = None
    deciding_path = ""
    if levels:
        level = max(levels)
        fallback = False
        if own_level == level:
            deciding = next(c for c in met if c.level == level)
        else:
            for i, comp in enumerate(components):
                if comp.level == level and not comp.fallback:
                    deciding = comp.deciding
                    sub = comp.deciding_path
                    deciding_path = f"components[{i}]" + (f".{sub}" if sub else "")
                    break
    else:
        level = regime.fallback_level
        fallback = True
    flags = _flags(regime, facts, level)
    notes = _notes(regime, facts, defs, met)
    vi, en = _explain(regime, level, deciding, deciding_path, met, components, flags, notes, facts, defs, fallback)
    return Assessment(
        regime=regime.code,
        level=level,
        deciding=deciding,
        deciding_path=deciding_path,
        met=met,
        components=components,
        flags=flags,
        fallback=fallback,
        notes=notes,
        explanation_vi=vi,
        explanation_en=en,
        facts=facts,
        on=on,
    )


def _flags(regime: Regime, facts: dict, level: int) -> tuple[FlagResult, ...]:
    context = {**facts, "level": level}
    out = []
    for flag in regime.flags:
        grounds = tuple(c for c in flag.criteria if c.when is not None and c.when.evaluate(context))
        out.append(FlagResult(flag.code, flag.label_vi, flag.label_en, bool(grounds), grounds))
    return tuple(out)


def _notes(regime: Regime, facts: dict, defs: dict[str, FactDef], met: tuple[Criterion, ...]) -> tuple[Note, ...]:
    """Warnings about facts that were given but cannot count (wrong regime, wrong system type)."""
    msgs = regime.messages
    notes: list[Note] = []
    for name, fact in defs.items():
        if fact.derived or fact.type == "components":
            continue
        value = facts[name]
        if value == fact.default:
            continue
        if fact.regimes is not None and regime.code not in fact.regimes:
            notes.append(_note(msgs["fact_not_read"], f"fact_not_read:{name}", fact=name, regime=regime.code))
        elif fact.applies_when is not None and not fact.applies_when.evaluate(facts):
            notes.append(
                _note(
                    msgs["fact_not_applicable"],
                    f"fact_not_applicable:{name}",
                    fact=name,
                    condition=(fact.applies_when.describe("vi"), fact.applies_when.describe("en")),
                )
            )
    decided = facts.get("decided_level")
    if decided is not None and not any("decided_level" in c.when.facts_used() for c in met):
        notes.append(_note(msgs["decided_level_unused"], "decided_level_unused", value=decided))
    for flag in regime.flags:
        if (flag.manual_note_vi or flag.manual_note_en) and any(c.when is None for c in flag.criteria):
            notes.append(Note(f"manual_review:{flag.code}", flag.manual_note_vi, flag.manual_note_en))
    return tuple(notes)


def _note(template: Note, code: str, **fields: Any) -> Note:
    vi_fields = {k: (v[0] if isinstance(v, tuple) else v) for k, v in fields.items()}
    en_fields = {k: (v[1] if isinstance(v, tuple) else v) for k, v in fields.items()}
    return Note(code, template.vi.format(**vi_fields), template.en.format(**en_fields))


def _show(fact: FactDef, value: Any, lang: str) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "." if lang == "vi" else ",")
    return str(value)


def _explain(regime, level, deciding, deciding_path, met, components, flags, notes, facts, defs, fallback):
    msgs = regime.messages
    out = {}
    for lang in ("vi", "en"):
        sentences = [_t(msgs["level"], lang, level=level, regime=regime.short(lang))]
        if deciding is not None:
            fields = {"id": deciding.id, "citation": deciding.citation(lang), "text": deciding.text(lang)}
            if deciding_path:
                sentences.append(_t(msgs["deciding_component"], lang, path=path_label(deciding_path), **fields))
            else:
                sentences.append(_t(msgs["deciding"], lang, **fields))
                shown = ", ".join(
                    f"{name} = {_show(defs[name], facts[name], lang)}" for name in deciding.when.facts_used()
                )
                sentences.append(_t(msgs["grounds"], lang, facts=shown))
        if fallback:
            sentences.append(_t(msgs["fallback"], lang))
        others = [c for c in met if c is not deciding]
        if others:
            items = "; ".join(f"{c.id} ({_level_word(lang)} {c.level})" for c in others)
            sentences.append(_t(msgs["also_met"], lang, items=items))
        if components:
            sentences.append(
                _t(
                    msgs["composite"],
                    lang,
                    count=len(components),
                    citation="; ".join(r.cite(lang) for r in regime.composite_basis),
                )
            )
        for flag in flags:
            if flag.value:
                grounds = "; ".join(f"{g.id}, {g.citation(lang)}" for g in flag.grounds)
                sentences.append(_t(msgs["flag"], lang, label=flag.label(lang), grounds=grounds))
        if (deciding is not None and deciding.unverified) or any(n.unverified for n in notes):
            sentences.append(_t(msgs["unverified"], lang))
        out[lang] = " ".join(s.strip() for s in sentences if s.strip())
    return out["vi"], out["en"]


def path_label(path: str) -> str:
    """'components[0].components[2]' → '1.3': the component's position, counted from 1."""
    return ".".join(str(int(n) + 1) for n in re.findall(r"\[(\d+)\]", path))


def _t(template: Note, lang: str, **fields: Any) -> str:
    return (template.vi if lang == "vi" else template.en).format(**fields)


def _level_word(lang: str) -> str:
    return "cấp độ" if lang == "vi" else "level"
