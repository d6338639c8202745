"""`attt registry import|export`: the spreadsheet exchange of the registry, from the command line."""

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from attt.core.audit import audit_context
from attt.core.models import Organization, User
from attt.registry import services
from attt.registry.transfer import detect_format

BAD_INPUT = 2


def refuse(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


class Command(BaseCommand):
    help = "Import or export information systems as CSV or XLSX (one row per system; see docs/registry.md)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        importing = sub.add_parser("import", help="Create or update systems from a file; all or nothing.")
        importing.add_argument("file", help="A .csv (UTF-8, comma or semicolon) or .xlsx file.")
        importing.add_argument("--dry-run", action="store_true", help="Check the file and write nothing.")
        importing.add_argument(
            "--user", help="Import with this user's scope and permissions (default: national scope)."
        )
        importing.add_argument("--format", choices=["csv", "xlsx"], help="Default: from the file name.")
        exporting = sub.add_parser("export", help="Write systems to a .csv or .xlsx file in the import format.")
        exporting.add_argument("file", help="FILE.csv or FILE.xlsx")
        exporting.add_argument("--user", help="Export what this user may export (default: everything).")
        exporting.add_argument("--organization", help="Only the systems of this organisation code and its units.")

    def handle(self, *args, verb, **options):
        user = self._user(options.get("user"))
        with audit_context(actor_name=f"cli:{user.username}"):
            if verb == "import":
                self._import(Path(options["file"]), user, options["dry_run"], options.get("format"))
            else:
                self._export(Path(options["file"]), user, options.get("organization"))

    def _user(self, username: str | None) -> User:
        if not username:
            return services.system_actor()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise refuse(f"There is no active user named '{username}'.")
        return user

    def _import(self, path: Path, user: User, dry_run: bool, fmt: str | None) -> None:
        if not path.is_file():
            raise refuse(f"The file {path} does not exist.")
        with path.open("rb") as handle:
            fmt = fmt or detect_format(path.name, handle.read(4))
            handle.seek(0)
            try:
                report = services.import_systems(handle, fmt, user, dry_run=dry_run)
            except (services.ImportFileError, PermissionDenied) as exc:
                raise refuse(f"{path}: {exc}") from exc
        for error in report.errors:
            self.stderr.write(f"row {error.row}, column {error.column}: {error.message}")
        if not report.ok:
            raise refuse(f"{path}: {len(report.bad_rows)} row(s) are not valid; nothing was written.")
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"{report.rows} rows: {report.created} {verb} created, {report.updated} {verb} updated, "
            f"{report.unchanged} unchanged." + (" Dry run: nothing was written." if dry_run else "")
        )

    def _export(self, path: Path, user: User, organization: str | None) -> None:
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in {"csv", "xlsx"}:
            raise refuse(f"The export file must end in .csv or .xlsx, not '{path.name}'.")
        if not path.parent.is_dir():
            raise refuse(f"The folder {path.parent} does not exist.")
        queryset = services.visible_systems(user, "export")
        if organization:
            org = Organization.objects.filter(code=organization).first()
            if org is None:
                raise refuse(f"There is no organisation with code '{organization}'.")
            queryset = queryset.filter(organization__path__startswith=org.path)
        path.write_bytes(services.export_systems(queryset, fmt))
        self.stdout.write(f"{queryset.count()} systems written to {path}.")
