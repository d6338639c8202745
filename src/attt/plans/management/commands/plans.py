"""`attt plans import FILE…` (seed documents or XLSX), `attt plans remind`, `attt plans occurrences YEAR`."""

import json
import uuid
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from attt.core.models import Organization

BAD_INPUT = 2  # the exit status of a refused file or argument (1 stays for failures of the platform)


def refuse(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


def find_plan(value: str):
    """A plan by its id (UUID) or its code."""
    from attt.plans.models import Plan

    try:
        return Plan.objects.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        return Plan.objects.filter(code=value).first()


class Command(BaseCommand):
    help = "Strategy plans: import plan documents, send reminders, create periodic occurrences."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import plan documents (seed .txt or .xlsx); idempotent.")
        imp.add_argument("files", nargs="+")
        imp.add_argument("--owner", help="Code of the owning organisation (default: matched by name, else the root).")
        imp.add_argument("--parent", help="Id or code of an existing plan the imported plan implements (cascade).")
        imp.add_argument("--json", action="store_true", help="Print the summary as one JSON object per file.")
        sub.add_parser("remind", help="Mark overdue assignments, send reminders, escalate.")
        occ = sub.add_parser("occurrences", help="Create the periodic reports of recurring tasks for a year.")
        occ.add_argument("year", type=int)

    def handle(self, *args, action, **options):
        if action == "import":
            return self._import(options)
        if action == "remind":
            from attt.plans.services import remind

            self.stdout.write(json.dumps(remind()))
        if action == "occurrences":
            from attt.plans.services import create_occurrences

            self.stdout.write(str(create_occurrences(options["year"])))

    def _import(self, options):
        from attt.plans.importer import import_plan

        owner = None
        if options.get("owner"):
            owner = Organization.objects.filter(code=options["owner"]).first()
            if owner is None:
                raise refuse(f"No organisation with code '{options['owner']}'.")
        parent = None
        if options.get("parent"):
            parent = find_plan(options["parent"])
            if parent is None:
                raise refuse(f"No plan with id or code '{options['parent']}'.")
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise refuse(f"{name}: no such file")
            try:
                summary = import_plan(path, owner=owner, parent=parent)
            except ValueError as exc:  # the file is refused as a whole; nothing was written
                raise refuse(str(exc)) from exc
            except ValidationError as exc:
                raise refuse(" ".join(exc.messages)) from exc
            except OSError as exc:
                raise refuse(f"{name}: cannot be read ({exc.strerror or exc})") from exc
            if options.get("json"):
                self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
                continue
            self.stdout.write(f"{path.name}: {summary['plan']}")
            if summary.get("parent"):
                self.stdout.write(f"  implements {summary['parent']}")
            for code, count in summary["sections"].items():
                self.stdout.write(f"  {code}: {count} tasks")
            self.stdout.write(
                f"  total {summary['total_tasks']} tasks, {summary['indicators']} indicators, "
                f"{summary['objectives']} objectives, {summary['documents']} documents, "
                f"{summary['tasks_to_review']} tasks with units to review"
            )
            for row in summary["unparsed"]:
                self.stderr.write(f"  unparsed line {row['line']}: {row['text']}")
