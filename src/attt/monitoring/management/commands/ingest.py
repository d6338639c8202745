"""`attt ingest syslog --port N --source ID`, `attt ingest file PATH --source ID`, `attt ingest worker`,
`attt ingest nats-worker`: the non-HTTP gateways and the workers."""

import ipaddress
import json
import ssl
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attt.monitoring import services
from attt.monitoring.models import Source


def _source(value: str) -> Source:
    try:
        source = Source.objects.filter(pk=uuid.UUID(value), is_active=True).first()
    except ValueError:  # not a UUID at all: the same answer as an unknown one, not a traceback
        source = None
    if source is None:
        raise CommandError(f"No active event source with id {value!r}.", returncode=2)
    return source


def _routes(given: list[str]) -> list[tuple[str, Source]]:
    """`CIDR=ID` options as (network, source); a malformed one or an unknown source exits 2 with a sentence."""
    routes = []
    for item in given:
        cidr, sep, source_id = item.partition("=")
        try:
            if not sep:
                raise ValueError(item)
            ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            message = f"--route {item!r} is not CIDR=SOURCE_ID (e.g. 10.1.0.0/16=<id>)."
            raise CommandError(message, returncode=2) from None
        routes.append((cidr.strip(), _source(source_id.strip())))
    return routes


def _intake(source: Source) -> tuple:
    """The syslog listener's way in for a source: `accept`, and where a batch refused for good is parked."""
    return (lambda data: services.accept(source, data)), (lambda data: services.park(source, data))


def _tls(options: dict):
    """The TLS context the options ask for, or None; a missing half or an unreadable file exits 2 with a sentence."""
    from attt.monitoring.syslog import tls_context

    cert, key, client_ca = options["tls_cert"], options["tls_key"], options["tls_client_ca"]
    if cert is None and key is None:
        if client_ca is not None:
            raise CommandError("--tls-client-ca needs --tls-cert and --tls-key.", returncode=2)
        return None
    if cert is None or key is None:
        raise CommandError("Syslog over TLS needs both --tls-cert and --tls-key.", returncode=2)
    try:
        return tls_context(cert, key, client_ca)
    except (OSError, ssl.SSLError) as exc:
        raise CommandError(f"Cannot use the TLS certificate, key or CA given: {exc}.", returncode=2) from None


class Command(BaseCommand):
    help = "Event ingest: syslog listener, file replay, spool worker, JetStream worker."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="mode", required=True)
        syslog = sub.add_parser("syslog", help="listen for syslog (RFC 5424/3164, CEF) on TCP and UDP")
        syslog.add_argument("--port", type=int, required=True)
        syslog.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
        syslog.add_argument("--source", required=True, help="id of the event source the messages belong to")
        syslog.add_argument(
            "--route",
            action="append",
            default=[],
            metavar="CIDR=ID",
            help="messages from senders in CIDR belong to source ID (repeatable; longest match; others: --source)",
        )
        syslog.add_argument("--tls-cert", type=Path, help="certificate (PEM) for syslog over TLS, RFC 5425 (TCP only)")
        syslog.add_argument("--tls-key", type=Path, help="its private key (PEM)")
        syslog.add_argument("--tls-client-ca", type=Path, help="CA (PEM) whose certificate every sender must show")
        file = sub.add_parser("file", help="replay an EVTX-JSON or NDJSON file")
        file.add_argument("path")
        file.add_argument("--source", required=True)
        worker = sub.add_parser("worker", help="process batches left in the spool")
        worker.add_argument("--follow", action="store_true", help="keep waiting for new batches")
        sub.add_parser("nats-worker", help="consume batches from NATS JetStream (ATTT_MONITORING_TRANSPORT=nats)")
        aside = sub.add_parser("set-aside", help="list the batches set aside after failing every attempt")
        aside.add_argument("--retry", action="store_true", help="put them back in the queue (once the cause is mended)")

    def handle(self, *args, mode, **options):
        if mode == "file":
            path = Path(options["path"])
            if not path.is_file():
                raise CommandError(f"{path} is not a readable file.", returncode=2)
            ack = services.replay_file(_source(options["source"]), path)
            self.stdout.write(json.dumps(ack, ensure_ascii=False))
        elif mode == "syslog":
            from attt.monitoring.syslog import Routes, serve

            source = _source(options["source"])
            routes = _routes(options["route"])
            tls = _tls(options)
            transport = "TLS over TCP" if tls else "TCP and UDP"
            self.stdout.write(
                f"syslog on {options['host']}:{options['port']} ({transport}) for {source}"
                + "".join(f"; {cidr} for {routed}" for cidr, routed in routes)
            )
            serve(
                options["host"],
                options["port"],
                Routes(_intake(source), [(cidr, _intake(routed)) for cidr, routed in routes]),
                tls=tls,
            )
        elif mode == "worker":
            from attt.monitoring.worker import drain

            total = drain(services.spool(), services.store(), services.enrichment_index(), follow=options["follow"])
            self.stdout.write(f"{total} events processed")
        elif mode == "set-aside":
            self._set_aside(retry=options["retry"])
        else:
            from attt.monitoring import transport

            transport.run_worker(services.consume_nats)

    def _set_aside(self, *, retry: bool) -> None:
        from attt.monitoring import conf

        if conf.transport() == "nats":
            import asyncio

            from attt.monitoring import transport

            if retry:
                self.stdout.write(f"{asyncio.run(transport.revive_set_aside())} batches put back in the stream")
            else:
                self.stdout.write(f"{asyncio.run(transport.set_aside_count())} batches set aside in the stream")
            return
        if retry:
            self.stdout.write(f"{services.spool().revive()} batches put back in the queue")
            return
        for batch in services.spool().set_aside():
            self.stdout.write(json.dumps(batch, ensure_ascii=False))
