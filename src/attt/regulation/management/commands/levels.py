"""`attt levels`: the level engine and the regulation data from the command line.

    attt levels assess FACTS.json [--regime ND85_2016|ND331_2026] [--on YYYY-MM-DD] [--json]
    attt levels regimes [--json]
    attt levels requirements --regime CODE --level N [--json]

FACTS.json holds a facts object (docs/level-facts.md), or the API's body {"regime": …, "facts": {…}};
"-" reads standard input. Any problem with the input ends with exit code 2 and one sentence on stderr.
"""

import datetime as dt
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attt.regulation import services

INPUT_ERROR = 2


def _dump(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


class Command(BaseCommand):
    help = "Assess a system's level from its facts, list the legal regimes or a level's requirement catalogue."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{assess,regimes,requirements}")
        assess = sub.add_parser("assess", help="Assess the level of the system described by a facts file.")
        assess.add_argument("facts_file", metavar="FACTS.json", help='Facts as JSON ("-" for standard input).')
        assess.add_argument("--regime", help="Regime code (default: the regime in force on --on).")
        assess.add_argument("--on", help="Pick the regime in force on this date (YYYY-MM-DD; default today).")
        assess.add_argument("--json", action="store_true", help="Print one JSON object.")
        assess.add_argument("--language", choices=["en", "vi"], default="en", help="Language of the text output.")
        regimes = sub.add_parser("regimes", help="List the legal regimes in the data.")
        regimes.add_argument("--json", action="store_true", help="Print JSON.")
        reqs = sub.add_parser("requirements", help="List the requirement catalogue of a level.")
        reqs.add_argument("--regime", required=True, help="Regime code, e.g. ND85_2016.")
        reqs.add_argument("--level", required=True, type=int, choices=range(1, 6), help="Level 1 to 5.")
        reqs.add_argument("--json", action="store_true", help="Print JSON.")
        reqs.add_argument("--language", choices=["en", "vi"], default="en", help="Language of the text output.")

    def handle(self, *args, action, **options):
        try:
            return getattr(self, f"do_{action}")(**options)
        except services.UnknownRegime as exc:
            raise CommandError(str(exc), returncode=INPUT_ERROR) from None
        except services.DataError as exc:  # a broken deployment, not bad input
            raise CommandError(f"The regulation data is broken: {exc}") from None

    # --- assess -------------------------------------------------------------------------------

    def _read(self, name: str):
        label = "standard input" if name == "-" else name
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CommandError(f"Cannot read {label}: {reason}.", returncode=INPUT_ERROR) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{label} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                returncode=INPUT_ERROR,
            ) from None

    def do_assess(self, facts_file, regime, on, json: bool, language, **_):
        data = self._read(facts_file)
        if isinstance(data, dict) and isinstance(data.get("facts"), dict) and set(data) <= {"facts", "regime", "on"}:
            regime = regime or data.get("regime")
            on = on or data.get("on")
            data = data["facts"]
        day = None
        if on:
            try:
                day = dt.date.fromisoformat(str(on))
            except ValueError:
                raise CommandError(
                    f"--on must be a date written YYYY-MM-DD, not {on!r}.", returncode=INPUT_ERROR
                ) from None
        try:
            result = services.assess(data, regime=regime, on=day)
        except services.InvalidFacts as exc:
            raise CommandError(f"Invalid facts: {str(exc).rstrip('.')}.", returncode=INPUT_ERROR) from None
        except services.NoRegimeInForce as exc:
            raise CommandError(str(exc), returncode=INPUT_ERROR) from None
        if json:
            self.stdout.write(_dump(result.to_dict()))
            return
        lang = language
        reg = services.get_regime(result.regime)
        out = self.stdout.write
        out(f"Level {result.level} ({reg.short(lang)}, {reg.code})")
        if result.deciding:
            where = f" in component {result.deciding_path}" if result.deciding_path else ""
            out(f"Deciding criterion{where}: {result.deciding.id} ({result.deciding.citation(lang)})")
            out(f"  {result.deciding.text(lang)}")
        else:
            out("Deciding criterion: none (no criterion met; the level is the regime's floor)")
        for path, criterion in result.all_met():
            marker = "*" if criterion is result.deciding else "-"
            where = f" [{path}]" if path else ""
            out(f"  {marker} {criterion.id} (level {criterion.level}){where}")
        for flag in result.flags:
            out(f"{flag.label(lang)}: {'yes' if flag.value else 'no'}")
        for note in result.notes:
            out(f"Note: {note.text(lang)}")
        out("")
        out(result.explanation(lang))

    # --- regimes ------------------------------------------------------------------------------

    def do_regimes(self, json: bool, **_):
        today = dt.date.today()
        rows = []
        for reg in services.regimes():
            data = reg.to_dict()
            data["in_force_today"] = reg.in_force(today)
            data["criteria"] = len(reg.criteria)
            data["requirements_per_level"] = {
                lvl: sum(1 for r in reg.requirements if r.applies_to(lvl)) for lvl in range(1, 6)
            }
            rows.append(data)
        if json:
            self.stdout.write(_dump(rows))
            return
        for data, reg in zip(rows, services.regimes(), strict=True):
            until = reg.effective_to.isoformat() if reg.effective_to else "…"
            mark = "  (in force)" if data["in_force_today"] else ""
            self.stdout.write(f"{reg.code}: {reg.title('en')}{mark}")
            per_level = ", ".join(f"L{lvl} {n}" for lvl, n in data["requirements_per_level"].items())
            self.stdout.write(
                f"  {reg.effective_from.isoformat()} – {until}; {data['criteria']} criteria; requirements {per_level}"
            )

    # --- requirements -------------------------------------------------------------------------

    def do_requirements(self, regime, level, json: bool, language, **_):
        rows = services.requirements(regime, level)
        if json:
            self.stdout.write(_dump([r.to_dict() for r in rows]))
            return
        for r in rows:
            parts = [r.citation(language)]
            if r.item:
                parts.append(f"item {r.item}")
            if r.clause:
                parts.append(f"standard § {r.clause}")
            flag = " [unverified]" if r.unverified else ""
            self.stdout.write(f"{r.code:<24} {r.category.code:<18} {r.text(language)}  ({'; '.join(parts)}){flag}")
        self.stdout.write(f"{len(rows)} requirement(s) at level {level} under {regime}.")
