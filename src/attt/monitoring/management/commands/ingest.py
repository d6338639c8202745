"""`attt ingest syslog --port N --source ID`, `attt ingest file PATH --source ID`, `attt ingest worker`,
`attt ingest nats-worker`: the non-HTTP gateways and the workers."""

import argparse
import ipaddress
import json
import logging
import ssl
import time
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attt.core.services import jobs
from attt.monitoring import services
from attt.monitoring.models import Source
from attt.monitoring.normalise import SYSLOG_FORMATS
from attt.monitoring.syslog import Throttle

logger = logging.getLogger("attt.monitoring.syslog")  # the listener's: its operators follow one logger


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


def _port(value: str) -> int:
    """`--port`: a number from 1 to 65535 (argparse answers anything else with a sentence and exit code 2)."""
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number from 1 to 65535")
    return port


def _takes_syslog(sources: list[Source]) -> None:
    """The listener's sources must be syslog or CEF ones (`normalise_lines` reads only those one message a line: a
    listener for any other would reject every message it is sent); any other exits 2 with a sentence."""
    for source in sources:
        if source.log_format not in SYSLOG_FORMATS:
            raise CommandError(
                f"Event source {source} ({source.pk}) expects {source.get_log_format_display()}: the syslog listener "
                f"takes sources whose format is syslog or CEF.",
                returncode=2,
            )


def _replay(source: Source, path: Path) -> dict:
    """`attt ingest file`: the file's acknowledgement; a file that cannot be read, or a replay stopped by the system
    (disk full), exits 2 with a sentence instead of a traceback."""
    try:
        return services.replay_file(source, path)
    except OSError as error:
        reason = error.strerror or str(error)
        if error.filename in (str(path), path):  # reading it, before anything was accepted
            raise CommandError(f"Cannot read {path}: {reason}.", returncode=2) from None
        message = f"The replay of {path} stopped: {reason}. The batches accepted before the error are kept."
        raise CommandError(message, returncode=2) from None


class SourceUnavailable(Exception):
    """A listener's source can no longer take batches: its batches are refused, so retried and then parked."""


class _Intake:
    """The syslog listener's way in for one source. Each batch goes to `services.accept` for the source as it is
    now (read again when the last read is `fresh_for` seconds old): deactivated, deleted or given a format the
    listener does not read since it started, the source has its batches refused (retried, then parked: kept, not
    lost), which is logged once per change. Lines rejected are logged too, at most every `warn_every` seconds."""

    fresh_for = 5.0
    warn_every = 10.0

    def __init__(self, source: Source) -> None:
        self.source = source  # as last read; kept when deleted, for parking under its id
        self._read_at: float | None = None  # read again before the first batch
        self._gone = False
        self._refusal: str | None = None
        self.rejected = 0  # lines rejected since the start
        self._unlogged = 0  # of which not logged yet
        self._warning = Throttle()

    def accept(self, data: bytes) -> dict:
        jobs.between_units_of_work()
        ack = services.accept(self._current(), data)
        if ack["rejected"]:
            self._rejections(ack)
        return ack

    def park(self, data: bytes) -> Path:
        return services.park(self.source, data)

    def _current(self) -> Source:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self.fresh_for:
            found = Source.objects.filter(pk=self.source.pk).select_related("organization").first()
            self._read_at, self._gone = now, found is None
            self.source = found or self.source
        refusal = _refusal(self.source, self._gone)
        if refusal != self._refusal:
            self._refusal = refusal
            if refusal:
                logger.error(
                    "syslog for event source %s (%s): %s; its batches are refused (retried, then parked)",
                    self.source,
                    self.source.pk,
                    _REFUSALS[refusal],
                )
            else:
                logger.warning("syslog for event source %s (%s): taking batches again", self.source, self.source.pk)
        if refusal:
            raise SourceUnavailable(f"event source {self.source.pk}: {_REFUSALS[refusal]}")
        return self.source

    def _rejections(self, ack: dict) -> None:
        self.rejected += ack["rejected"]
        self._unlogged += ack["rejected"]
        if not self._warning.due(self.warn_every):
            return
        first = ack["errors"][0] if ack["errors"] else {"line": "?", "reason": "?"}
        logger.warning(
            "syslog for event source %s (%s): %d lines rejected since the last report, %d since the start "
            "(e.g. line %s of a batch: %r)",
            self.source,
            self.source.pk,
            self._unlogged,
            self.rejected,
            first["line"],
            str(first["reason"])[:200],
        )
        self._unlogged = 0


_REFUSALS = {
    "deleted": "it was deleted",
    "inactive": "it is not active",
    "format": "its format is no longer syslog or CEF",
}


def _refusal(source: Source, gone: bool) -> str | None:
    if gone:
        return "deleted"
    if not source.is_active:
        return "inactive"
    if source.log_format not in SYSLOG_FORMATS:
        return "format"
    return None


def _intake(source: Source) -> tuple:
    """The syslog listener's way in for a source: `accept`, and where a batch refused for good is parked."""
    intake = _Intake(source)
    return intake.accept, intake.park


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
        syslog.add_argument("--port", type=_port, required=True, help="TCP and UDP port, 1 to 65535")
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
            self.stdout.write(json.dumps(_replay(_source(options["source"]), path), ensure_ascii=False))
        elif mode == "syslog":
            from attt.monitoring.syslog import CannotListen, Routes, serve

            source = _source(options["source"])
            routes = _routes(options["route"])
            tls = _tls(options)
            _takes_syslog([source, *(routed for _, routed in routes)])
            transport = "TLS over TCP" if tls else "TCP and UDP"
            listening = f"syslog on {options['host']}:{options['port']} ({transport}) for {source}" + "".join(
                f"; {cidr} for {routed}" for cidr, routed in routes
            )
            try:
                serve(
                    options["host"],
                    options["port"],
                    Routes(_intake(source), [(cidr, _intake(routed)) for cidr, routed in routes]),
                    tls=tls,
                    ready=lambda: self.stdout.write(listening),
                )
            except CannotListen as refused:
                raise CommandError(str(refused), returncode=2) from None
        elif mode == "worker":
            total = services.drain_spool(follow=options["follow"])
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
