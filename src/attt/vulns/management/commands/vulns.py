"""`attt vulns import PATH…`, `attt vulns affected CPE|purl [--json]`, `attt vulns sync`, `attt vulns rematch`."""

import json

from django.core.management.base import BaseCommand, CommandError

from attt.vulns import services


class Command(BaseCommand):
    help = "Vulnerability feeds and matching."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import feed files (NVD 2.0, CVE JSON 5, KEV, EPSS, CSAF).")
        imp.add_argument("paths", nargs="+")
        imp.add_argument("--no-match", action="store_true", help="Do not match the registry after import.")
        aff = sub.add_parser("affected", help="Vulnerabilities affecting one component version.")
        aff.add_argument("identifier", help="CPE 2.3 name or package URL")
        aff.add_argument("--json", action="store_true")
        sub.add_parser("sync", help="Import the configured feeds (VULNS_FEEDS: URLs or local paths).")
        sub.add_parser("rematch", help="Match every registry component against the corpus.")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "import":
            reports = services.import_paths(options["paths"], match=not options["no_match"])
            self._print_reports(
                reports, "{n} file(s) could not be imported (the errors above); any other file was imported."
            )
        elif action == "sync":
            self._print_reports(
                services.sync_feeds(),
                "{n} feed(s) could not be synced (the errors above); any other feed was imported.",
            )
        elif action == "rematch":
            self.stdout.write(json.dumps(services.rematch_all()))
        elif action == "affected":
            try:
                rows = services.affected(options["identifier"])
            except ValueError as exc:
                raise CommandError(str(exc), returncode=2) from None
            if options["json"]:
                self.stdout.write(json.dumps(rows, indent=2))
            else:
                for row in rows:
                    kev = " KEV" if row["kev"] else ""
                    self.stdout.write(f"{row['cve']} CVSS {row['cvss']}{kev}")
                    for criterion in row["criteria"]:
                        self.stdout.write(f"    {criterion}")

    def _print_reports(self, reports, failed: str):
        """Every report, then exit 2 if a file or feed was refused (what it names was not imported)."""
        for report in reports:
            data = report.as_dict()
            if report.kind == "error":
                for item in data["skipped"]:
                    self.stdout.write(f"error: {item['record']}: {item['reason']}")
                continue
            self.stdout.write(
                f"{data['kind']}: {data['created']} created, {data['updated']} updated, {data['unchanged']} unchanged, "
                f"{data['kev_changed']} KEV changes, {data['epss_changed']} EPSS changes, "
                f"{data['warnings_created']} warnings, {data['skipped_total']} skipped"
            )
            for item in data["skipped"][:50]:
                self.stdout.write(f"  skipped {item['record']}: {item['reason']}")
        errors = sum(len(report.skipped) for report in reports if report.kind == "error")
        if errors:
            raise CommandError(failed.format(n=errors), returncode=2)
