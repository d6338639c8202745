import json
import sys

from django.core.management.base import BaseCommand, CommandError

from attt.core.api.serializers import AuditEventSerializer
from attt.core.audit import verify_chain
from attt.core.models import AuditEvent


class Command(BaseCommand):
    help = "Audit log: 'verify' checks the hash chain; 'export' writes events as JSON lines."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        verify = sub.add_parser("verify", help="Check every link of the chain; exit 1 at the first broken one.")
        verify.add_argument(
            "--expect-head", default="", help="The head hash recorded earlier: also detects events cut off the end."
        )
        export = sub.add_parser("export", help="Write events as JSON lines to standard output.")
        export.add_argument("--since-seq", type=int, default=0)

    def handle(self, *args, verb, **options):
        if verb == "verify":
            report = verify_chain()
            if not report.ok:
                self.stdout.write(
                    f"BROKEN at event #{report.broken_seq}: {report.reason} "
                    f"({report.checked} events verified before it)"
                )
                sys.exit(1)
            expected = options["expect_head"]
            if expected and expected != report.head_hash and not AuditEvent.objects.filter(hash=expected).exists():
                raise CommandError("The expected head hash is not in the chain: events were removed or replaced.")
            self.stdout.write(f"OK: {report.checked} events, head #{report.head_seq} {report.head_hash}")
        else:
            for event in AuditEvent.objects.filter(seq__gt=options["since_seq"]).order_by("seq").iterator():
                self.stdout.write(json.dumps(AuditEventSerializer(event).data, ensure_ascii=False, default=str))
