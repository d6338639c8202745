"""`attt intel import FILE [--format csv|stix|misp] [--owner CODE] [--tlp LEVEL] [--kind KIND] [--json]`,
`attt intel attack-load PATH`. A MISP feed mirrored on disk is imported by giving its directory."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attt.core.models import Organization
from attt.intel import attack, store
from attt.intel.sharing import OBSERVABLE_KINDS, TLP_LEVELS


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = "Threat intelligence: import indicators, load ATT&CK."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import indicators from a list, a STIX bundle, a MISP event or feed.")
        imp.add_argument("path", help="a file, or the directory of a MISP feed (manifest.json + <uuid>.json)")
        imp.add_argument("--format", choices=store.FORMATS, help="guessed from the file when left out")
        imp.add_argument("--owner", help="code of the owning organisation (default: the root of the tree)")
        imp.add_argument("--tlp", choices=TLP_LEVELS, help="overrides the TLP the file carries (lists: amber)")
        imp.add_argument("--kind", choices=OBSERVABLE_KINDS, help="kind of every value of a plain list")
        imp.add_argument("--json", action="store_true")
        load = sub.add_parser("attack-load", help="Load ATT&CK techniques and tactics from its STIX bundle.")
        load.add_argument("path")

    def handle(self, *args, **options):
        if options["action"] == "attack-load":
            try:
                tactics, techniques = attack.load(attack.read_bundle(Path(options["path"])))
            except ValueError as exc:
                raise _fail(str(exc)) from None
            self.stdout.write(f"{tactics} tactics, {techniques} techniques loaded.\n{attack.NOTICE}")
            return
        owner = self._owner(options["owner"])
        path = Path(options["path"])
        try:
            if path.is_dir():
                result = store.import_reports(owner, store.read_misp_feed(path), source="misp", label=path.name)
            elif path.is_file():
                store.check_size(path.stat().st_size)
                result = store.import_data(
                    owner,
                    path.read_bytes(),
                    fmt=options["format"],
                    name=path.name,
                    tlp=options["tlp"],
                    kind=options["kind"],
                )
            else:
                raise ValueError(f"{path} does not exist.")
        except store.RefusedImport as exc:
            if options["json"]:
                self.stdout.write(json.dumps({"errors": [{"row": w, "message": m} for w, m in exc.errors]}))
            raise _fail(str(exc)) from None
        except ValueError as exc:
            raise _fail(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            self.stdout.write(f"{result.created} created, {result.updated} updated, {result.reports} reports.")

    def _owner(self, code: str | None) -> Organization:
        if code:
            owner = Organization.objects.filter(code=code).first()
            if owner is None:
                raise _fail(f"No organisation has the code “{code}”.")
            return owner
        owner = Organization.objects.filter(parent__isnull=True).order_by("created_at").first()
        if owner is None:
            raise _fail("There is no organisation yet: create the tree (or load the demo) first.")
        return owner
