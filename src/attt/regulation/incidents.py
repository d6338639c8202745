"""Incident-response rules per regime (data/<REGIME>/incidents.yaml): statutory deadlines, the "serious" test,
forms and network-member report dates, read and checked once like the other data files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from attt.regulation import domain as d
from attt.regulation.errors import DataError, UnknownRegime
from attt.regulation.facts import pick
from attt.regulation.loader import DATA_DIR, _File, _refs, read_yaml
from attt.regulation.schema import CODE, LEGAL_REFS, SNAKE, TEXT, Bool, Int, ListOf, Obj, OneOf, Str

CONDITIONS = ("always", "serious", "beyond_capacity", "national_security")
STARTS = ("discovered", "responded")
UNITS = ("hours", "days", "working_days")
IMPACTS = ("service_interruption", "secret_disclosure", "integrity_loss", "loss_of_control", "wide_spread")
FORMS = ("notification", "initial_report", "closure_report", "member_report")

_INSTRUMENT = Obj(
    required={"code": CODE, "number": TEXT, "short_vi": TEXT, "short_en": TEXT},
    optional={"unverified": Bool()},
)
_FILE = Obj(
    required={
        "regime": CODE,
        "coordinator_vi": TEXT,
        "coordinator_en": TEXT,
        "instruments": ListOf(_INSTRUMENT, min_len=1),
        "serious_rule": Obj(
            required={
                "label_vi": TEXT,
                "label_en": TEXT,
                "min_level": Int(min=1, max=5),
                "national_important_counts": Bool(),
                "impacts": ListOf(OneOf(IMPACTS), min_len=1, unique=True),
                "requires_beyond_capacity": Bool(),
                "decided_by_vi": TEXT,
                "decided_by_en": TEXT,
                "legal_basis": LEGAL_REFS,
            }
        ),
        "deadlines": ListOf(
            Obj(
                required={
                    "code": SNAKE,
                    "label_vi": TEXT,
                    "label_en": TEXT,
                    "starts": OneOf(STARTS),
                    "amount": Int(min=0, max=720),
                    "unit": OneOf(UNITS),
                    "when": ListOf(OneOf(CONDITIONS), min_len=1, unique=True),
                    "form": OneOf(FORMS),
                    "legal_basis": LEGAL_REFS,
                },
                optional={"roll_forward": Bool(), "platform_choice": Bool(), "reminders": ListOf(Int(min=1))},
            ),
            min_len=1,
        ),
        "forms": ListOf(
            Obj(
                required={
                    "code": OneOf(FORMS),
                    "title_vi": TEXT,
                    "title_en": TEXT,
                    "form_vi": Str(min_len=0),
                    "legal_basis": LEGAL_REFS,
                }
            )
        ),
        "member_reports": ListOf(
            Obj(
                required={
                    "code": SNAKE,
                    "label_vi": TEXT,
                    "label_en": TEXT,
                    "month": Int(min=1, max=12),
                    "day": Int(min=1, max=31),
                    "legal_basis": LEGAL_REFS,
                },
                optional={"before": Bool()},
            )
        ),
        "contact_update_hours": Int(min=1, max=720),
        "contact_update_legal_basis": LEGAL_REFS,
    }
)


@dataclass(frozen=True)
class SeriousRule:
    label_vi: str
    label_en: str
    min_level: int
    national_important_counts: bool
    impacts: tuple[str, ...]
    requires_beyond_capacity: bool
    decided_by_vi: str
    decided_by_en: str
    legal_basis: tuple[d.LegalRef, ...]

    def label(self, lang: str | None = None) -> str:
        return pick(self.label_vi, self.label_en, lang)


@dataclass(frozen=True)
class IncidentDeadline:
    """One statutory time limit: `amount` `unit` after the incident's `starts` event, when any `when` holds."""

    code: str
    label_vi: str
    label_en: str
    starts: str
    amount: int
    unit: str
    when: tuple[str, ...]
    form: str
    reminders: tuple[int, ...]
    roll_forward: bool
    platform_choice: bool
    legal_basis: tuple[d.LegalRef, ...]

    def label(self, lang: str | None = None) -> str:
        return pick(self.label_vi, self.label_en, lang)

    @property
    def unverified(self) -> bool:
        return self.platform_choice or any(r.unverified for r in self.legal_basis)


@dataclass(frozen=True)
class IncidentForm:
    code: str
    title_vi: str
    title_en: str
    form_vi: str
    legal_basis: tuple[d.LegalRef, ...]


@dataclass(frozen=True)
class MemberReportDate:
    code: str
    label_vi: str
    label_en: str
    month: int
    day: int
    legal_basis: tuple[d.LegalRef, ...]
    before: bool = False

    def label(self, lang: str | None = None) -> str:
        return pick(self.label_vi, self.label_en, lang)

    def due(self, year: int) -> dt.date:
        """The last day allowed: "trước ngày 20 tháng 6" (`before`) gives 19 June."""
        day = dt.date(year, self.month, self.day)
        return day - dt.timedelta(days=1) if self.before else day


@dataclass(frozen=True)
class IncidentPolicy:
    regime: str
    coordinator_vi: str
    coordinator_en: str
    serious_rule: SeriousRule
    deadlines: tuple[IncidentDeadline, ...]
    forms: dict[str, IncidentForm]
    member_reports: tuple[MemberReportDate, ...]
    contact_update_hours: int
    contact_update_legal_basis: tuple[d.LegalRef, ...] = ()

    def coordinator(self, lang: str | None = None) -> str:
        return pick(self.coordinator_vi, self.coordinator_en, lang)


def load_policy(path: Path, name: str) -> IncidentPolicy:
    """Read and check one incidents.yaml; DataError names the file and the path inside it."""
    file = _File(name, read_yaml(path, name), _FILE)
    data = file.data
    instruments = {
        raw["code"]: d.Instrument(
            code=raw["code"],
            number=raw["number"],
            short_vi=raw["short_vi"],
            short_en=raw["short_en"],
            title_vi=raw["short_vi"],
            title_en=raw["short_en"],
            unverified=raw.get("unverified", False),
        )
        for raw in data["instruments"]
    }
    rule = data["serious_rule"]
    codes = [x["code"] for x in data["deadlines"]]
    if len(set(codes)) != len(codes):
        raise file.fail("deadlines", "a deadline code is listed twice")
    form_codes = {f["code"] for f in data["forms"]}
    deadlines = []
    for i, x in enumerate(data["deadlines"]):
        if x["form"] not in form_codes:
            raise file.fail(f"deadlines[{i}].form", f"{x['form']!r} is not listed under `forms`")
        deadlines.append(
            IncidentDeadline(
                code=x["code"],
                label_vi=x["label_vi"],
                label_en=x["label_en"],
                starts=x["starts"],
                amount=x["amount"],
                unit=x["unit"],
                when=tuple(x["when"]),
                form=x["form"],
                reminders=tuple(sorted(set(x.get("reminders", [])), reverse=True)),
                roll_forward=x.get("roll_forward", False),
                platform_choice=x.get("platform_choice", False),
                legal_basis=_refs(file, x["legal_basis"], f"deadlines[{i}].legal_basis", instruments),
            )
        )
    return IncidentPolicy(
        regime=data["regime"],
        coordinator_vi=data["coordinator_vi"],
        coordinator_en=data["coordinator_en"],
        serious_rule=SeriousRule(
            label_vi=rule["label_vi"],
            label_en=rule["label_en"],
            min_level=rule["min_level"],
            national_important_counts=rule["national_important_counts"],
            impacts=tuple(rule["impacts"]),
            requires_beyond_capacity=rule["requires_beyond_capacity"],
            decided_by_vi=rule["decided_by_vi"],
            decided_by_en=rule["decided_by_en"],
            legal_basis=_refs(file, rule["legal_basis"], "serious_rule.legal_basis", instruments),
        ),
        deadlines=tuple(deadlines),
        forms={
            f["code"]: IncidentForm(
                f["code"],
                f["title_vi"],
                f["title_en"],
                f["form_vi"],
                _refs(file, f["legal_basis"], f"forms[{i}].legal_basis", instruments),
            )
            for i, f in enumerate(data["forms"])
        },
        member_reports=tuple(
            MemberReportDate(
                m["code"],
                m["label_vi"],
                m["label_en"],
                m["month"],
                m["day"],
                _refs(file, m["legal_basis"], f"member_reports[{i}].legal_basis", instruments),
                m.get("before", False),
            )
            for i, m in enumerate(data["member_reports"])
        ),
        contact_update_hours=data["contact_update_hours"],
        contact_update_legal_basis=_refs(
            file, data["contact_update_legal_basis"], "contact_update_legal_basis", instruments
        ),
    )


@lru_cache(maxsize=8)
def policy(regime: str, data_dir: Path = DATA_DIR) -> IncidentPolicy:
    path = Path(data_dir) / regime / "incidents.yaml"
    if not path.parent.is_dir():
        raise UnknownRegime(f"No legal regime {regime!r}.")
    found = load_policy(path, f"{regime}/incidents.yaml")
    if found.regime != regime:
        raise DataError(f"{regime}/incidents.yaml", "regime", f"{found.regime!r} must equal the folder name")
    return found
