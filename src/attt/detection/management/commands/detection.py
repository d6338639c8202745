"""`attt detection rules load DIR…`: load or refresh Sigma rules (bad files are listed, the rest load)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attt.detection import services


class Command(BaseCommand):
    help = "Detection: Sigma rules."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="object", required=True)
        rules = sub.add_parser("rules", help="Sigma rules.").add_subparsers(dest="action", required=True)
        load = rules.add_parser("load", help="Load Sigma rule files or folders (searched for *.yml, *.yaml).")
        load.add_argument("paths", nargs="+")
        load.add_argument("--json", action="store_true", help="Print the report as one JSON object.")

    def handle(self, *args, **options):
        paths = [Path(p) for p in options["paths"]]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"No such file or folder: {', '.join(missing)}.", returncode=2)
        report = services.load_rules(paths)
        if options["json"]:
            self.stdout.write(json.dumps({**report.__dict__, "errors": [list(e) for e in report.errors]}))
        else:
            self.stdout.write(
                f"{report.files} files: {report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged, {report.unsupported} not supported by the engine, "
                f"{len(report.errors)} refused"
            )
            for path, reason in report.errors:
                self.stdout.write(f"  refused {path}: {reason}")
        if not report.files:
            raise CommandError("No Sigma rule files (*.yml, *.yaml) in the given folders.", returncode=2)
        if len(report.errors) == report.files:
            raise CommandError("None of the files is a Sigma rule.", returncode=2)
