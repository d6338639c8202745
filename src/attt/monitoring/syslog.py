"""The syslog gateway: TCP (newline- or octet-count-framed, RFC 6587) and UDP on one port, messages batched
(up to 1000 or every half second) into the same `accept` path as HTTP, per source: one listener can serve several
sources, chosen by the sender's address (`Routes`). With a certificate it is syslog over TLS
(RFC 5425) on TCP only: no plaintext UDP beside it; with a client CA too, senders must present a certificate it
signed (mutual TLS).

TCP framing is read frame by frame (`Framing`): "LEN SP <" is octet counting, anything else is a line up to its
LF. A message over MAX_MESSAGE is truncated to it (RFC 5424 §6.1) and the connection goes on; the last message of a
connection closed without its LF is taken as it came; each such problem is counted and logged with its sender
(`FramingLog`, rate-limited).

Nothing taken in is dropped: each source's batches are accepted in order, one at a time, and a batch `accept`
refuses (database busy, the NATS publish timing out) is retried with a growing pause until it is taken, or, when
the source has a place to park batches, until it has been refused for `park_after` seconds: it is then written
there (to be replayed with `attt ingest file`) so that one batch refused for good does not hold its source back,
and the batches after it are parked at their first refusal until one is taken again. When
accepting falls behind, TCP and TLS senders are slowed through TCP flow control (a connection is not read while
its source's queue of batches is full). UDP cannot be slowed and offers no delivery guarantee: past a hard cap
of lines waiting, datagrams are dropped, counted and logged. Use TCP or TLS where loss matters."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import logging
import re
import signal
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)
MAX_MESSAGE = 64 * 1024


Accept = Callable[[bytes], dict]
Park = Callable[[bytes], object]  # writes a batch somewhere durable (and says where), or raises
Intake = Accept | tuple[Accept, Park]  # a source's `accept`, with or without a place to park batches


class Throttle:
    """When a repeated warning may be logged again: at once the first time, then once every so many seconds at most,
    so that a sender failing over and over, or a hostile one, cannot flood the log."""

    def __init__(self) -> None:
        self._last: float | None = None

    def due(self, every: float) -> bool:
        now = time.monotonic()
        if self._last is not None and now - self._last < every:
            return False
        self._last = now
        return True


class Batcher:
    """One source's messages, batched and handed to its `accept` in order, a batch at a time, off the event loop
    (accepting uses the ORM, which Django refuses inside a running loop, and fsyncs). A refused batch is retried,
    not skipped: the batches behind it wait, and at most `queue_size` batches wait before senders are held back
    (`room`) or, for UDP, lines pile up in the open batch to `cap` and the datagrams beyond are dropped. With
    `park`, a batch refused for `park_after` seconds is parked and the next one tried (see the module's text)."""

    queue_size = 8  # batches waiting or being accepted
    retry_first = 0.5  # seconds before the first retry of a refused batch; doubles each time
    retry_max = 30.0
    park_after = 300.0  # seconds a batch is retried before it is parked (with `park`)
    warn_every = 5.0  # seconds between warnings about dropped datagrams
    shutdown_grace = 10.0  # seconds given on shutdown to accept what is still held

    def __init__(self, accept: Accept, park: Park | None = None, size: int = 1000, delay: float = 0.5) -> None:
        self.accept, self.park, self.size, self.delay = accept, park, size, delay
        self.parked = 0  # batches parked
        self._parking = False  # since a batch was parked and none taken
        self.cap = 10 * size  # lines the open batch may hold while the queue is full (UDP only)
        self.lines: list[bytes] = []
        self.held = 0  # lines taken in and not yet accepted
        self.dropped = 0  # datagrams dropped beyond the cap
        self._flush_at: asyncio.TimerHandle | None = None
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()  # (lines, batch), oldest first
        self._in_flight: asyncio.Future | None = None  # accepting `_pending[0]`
        self._has_batch, self._room = asyncio.Event(), asyncio.Event()
        self._worker: asyncio.Task | None = None
        self._closing = False
        self._warning = Throttle()

    def add(self, line: bytes) -> None:
        """Take one message in; never refused (TCP's senders are held back by `room` instead)."""
        line = line.rstrip(b"\r\n").replace(b"\n", b" ")
        if not line:
            return
        self.lines.append(line)
        self.held += 1
        if len(self.lines) >= self.size:
            self.flush()
        elif self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(self.delay, self.flush)

    def offer(self, datagram: bytes) -> None:
        """Take a datagram in unless `cap` lines already wait in the open batch: UDP cannot be slowed, so beyond
        that it is dropped, counted in `dropped` and logged (at most every `warn_every` seconds)."""
        if len(self.lines) < self.cap:
            self.add(datagram)
            return
        self.dropped += 1
        if self._warning.due(self.warn_every):
            logger.warning("syslog over UDP: accepting is behind, %d datagrams dropped so far", self.dropped)

    def flush(self) -> None:
        """Queue the open batch for accepting; while the queue is full it stays open and the worker queues it as
        soon as a batch is taken."""
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        if not self.lines or (self._full() and not self._closing):
            return
        lines, self.lines = self.lines, []
        self._pending.append((len(lines), b"\n".join(lines)))
        self._start_worker()

    async def room(self) -> None:
        """Wait until another batch may be queued: a TCP reader awaits this before reading on."""
        while self._full() and not self._closing:
            self._room.clear()
            await self._room.wait()

    async def close(self) -> None:
        """On shutdown, best effort: queue the open batch and give the worker `shutdown_grace` seconds to accept
        everything held; what is left is logged as lost."""
        self._closing = True
        self._room.set()
        self.flush()
        worker = self._start_worker()
        try:
            await asyncio.wait_for(asyncio.shield(worker), self.shutdown_grace)
        except TimeoutError:
            worker.cancel()
        finally:
            if self.held:
                logger.error("syslog: %d lines not accepted by shutdown are lost", self.held)
            if self.dropped:
                logger.warning("syslog over UDP: %d datagrams dropped in all", self.dropped)

    def _start_worker(self) -> asyncio.Task:
        """The task accepting the queued batches, started on the running loop when first needed (or again after
        it was cancelled), and woken."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._accept_in_order())
        self._has_batch.set()
        return self._worker

    def _full(self) -> bool:
        return len(self._pending) >= self.queue_size

    async def _accept_in_order(self) -> None:
        loop = asyncio.get_running_loop()
        pause, refused_since = self.retry_first, None
        while self._pending or not self._closing:
            if not self._pending:
                self._has_batch.clear()
                await self._has_batch.wait()
                continue
            count, batch = self._pending[0]
            if self._in_flight is None:  # else a cancelled worker left it running: its outcome decides
                self._in_flight = loop.run_in_executor(None, self.accept, batch)
            try:
                await asyncio.shield(self._in_flight)
            except Exception as refused:
                self._in_flight = None
                refused_since = refused_since if refused_since is not None else loop.time()
                due = self._parking or loop.time() - refused_since >= self.park_after
                if self.park is not None and due and await self._parked(loop, count, batch, refused):
                    pause, refused_since = self.retry_first, None
                    continue
                logger.error("syslog batch of %d lines refused, retrying in %.1f s: %s", count, pause, refused)
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.retry_max)
                continue
            self._in_flight, self._parking = None, False
            self._taken(count)
            pause, refused_since = self.retry_first, None

    async def _parked(self, loop, count: int, batch: bytes, refused: Exception) -> bool:
        """Park the refused head batch; False (and logged) when parking fails too, so it is retried as before."""
        try:
            where = await loop.run_in_executor(None, self.park, batch)
        except Exception as failed:
            logger.error("syslog batch of %d lines refused (%s) and could not be parked: %s", count, refused, failed)
            return False
        self._parking = True
        self.parked += 1
        logger.error("syslog batch of %d lines refused (%s), parked in %s for a replay", count, refused, where)
        self._taken(count)
        return True

    def _taken(self, count: int) -> None:
        """The head batch is accepted or parked: the next may go, and a batch held back may be queued."""
        self._pending.popleft()
        self.held -= count
        self._room.set()
        if self.lines and (len(self.lines) >= self.size or self._flush_at is None):
            self.flush()  # held back while the queue was full


class Routes:
    """Senders' addresses to the `accept` of their source: the longest matching network wins, others go to the
    default. Each source has its own batcher, so a batch never mixes sources."""

    def __init__(self, default: Intake, networks: Sequence[tuple[str, Intake]] = ()) -> None:
        self.default = _batcher(default)
        parsed = [(ipaddress.ip_network(cidr, strict=False), _batcher(intake)) for cidr, intake in networks]
        self.networks = sorted(parsed, key=lambda item: -item[0].prefixlen)
        self.framing = FramingLog()  # the TCP framing problems of every sender of this listener

    def batcher_for(self, address: str | None) -> Batcher:
        if address is not None and self.networks:
            ip = ipaddress.ip_address(address.split("%")[0])
            for network, batcher in self.networks:
                if ip.version == network.version and ip in network:
                    return batcher
        return self.default

    async def close(self) -> None:
        """Accept what every source's batcher still holds (see `Batcher.close`)."""
        await asyncio.gather(self.default.close(), *(batcher.close() for _, batcher in self.networks))
        if self.framing.counts:
            logger.warning("syslog over TCP: framing problems in all: %s", dict(self.framing.counts))


def _batcher(intake: Intake) -> Batcher:
    return Batcher(*intake) if isinstance(intake, tuple) else Batcher(intake)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, routes: Routes) -> None:
        self.routes = routes

    def datagram_received(self, data, addr) -> None:
        self.routes.batcher_for(addr[0]).offer(data[:MAX_MESSAGE])


class FramingLog:
    """A listener's TCP framing problems, counted by kind ("truncated", "unterminated", "failed") and logged with
    the sender, but at most one line every `warn_every` seconds (it says how many went unlogged since the last): a
    hostile sender cannot flood the log."""

    warn_every = 5.0

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._warning = Throttle()
        self._unlogged = 0

    def note(self, peer: str, kind: str, problem: str) -> None:
        self.counts[kind] += 1
        if not self._warning.due(self.warn_every):
            self._unlogged += 1
            return
        unlogged, self._unlogged = self._unlogged, 0
        logger.warning(
            "syslog over TCP from %s: %s (%d framing problems since the listener started, %d not logged since the "
            "previous warning)",
            peer,
            problem,
            self.counts.total(),
            unlogged,
        )


# RFC 6587 §3.4.1 "MSG-LEN SP SYSLOG-MSG", the message starting with its <PRI>: a count has at most 6 digits and no
# leading zero, so that a line starting with a date or a number ("5 events dropped") is not taken for one.
_OCTET_COUNT = re.compile(rb"([1-9][0-9]{0,5}) <")
_MAYBE_OCTET_COUNT = re.compile(rb"[1-9][0-9]{0,5} ?\Z")  # too little read yet to tell
_START, _LINE, _COUNTED, _SKIPPING = range(4)


class Framing:
    """One TCP connection's bytes cut into messages, frame by frame: "LEN SP <" starts an octet-counted frame,
    anything else is a line up to its LF. Nothing is dropped silently: a message over MAX_MESSAGE is truncated to
    it, the rest of its frame skipped, and reading goes on with the next frame; the connection closing in the middle
    of a message gives what came of it (`end`); each of these is noted in the listener's `FramingLog`. Holds at most
    MAX_MESSAGE bytes of a message."""

    def __init__(self, peer: str, problems: FramingLog) -> None:
        self.peer, self.problems = peer, problems
        self._state = _START
        self._kept = bytearray()  # the message being read, when it spans reads
        self._due = 0  # bytes of the octet-counted frame still to come
        self._head = b""  # a frame's first bytes, too few to tell its framing

    def feed(self, data: bytes) -> list[bytes]:
        """The messages `data` completes, in order."""
        if self._head:
            data, self._head = self._head + data, b""
        messages: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end:
            if self._state == _START:
                if data[pos] == 0x3C:  # "<": a line, by far the most common case
                    self._state = _LINE
                elif count := _OCTET_COUNT.match(data, pos):
                    self._state, self._due, pos = _COUNTED, int(count[1]), count.end() - 1
                    if self._due > MAX_MESSAGE:
                        self._note(
                            "truncated",
                            f"an octet-counted message of {self._due} bytes truncated to its first {MAX_MESSAGE}",
                        )
                elif _MAYBE_OCTET_COUNT.match(data, pos):
                    self._head = data[pos:]
                    break
                else:
                    self._state = _LINE
            elif self._state == _COUNTED:
                take = min(self._due, end - pos)
                self._kept += data[pos : pos + min(take, MAX_MESSAGE - len(self._kept))]
                pos, self._due = pos + take, self._due - take
                if not self._due:
                    messages.append(self._taken())
            elif self._state == _LINE:
                lf = data.find(b"\n", pos)
                stop = end if lf < 0 else lf
                room = MAX_MESSAGE - len(self._kept)
                if stop - pos > room:
                    self._kept += data[pos : pos + room]
                    messages.append(self._taken())
                    self._state, pos = _SKIPPING, pos + room
                    self._note(
                        "truncated",
                        f"a message longer than {MAX_MESSAGE} bytes truncated to its first "
                        f"{MAX_MESSAGE}, the rest up to its LF skipped",
                    )
                elif lf < 0:
                    self._kept += data[pos:]
                    pos = end
                else:
                    if self._kept:
                        self._kept += data[pos:lf]
                        messages.append(self._taken())
                    else:
                        messages.append(data[pos:lf])
                        self._state = _START
                    pos = lf + 1
            else:  # _SKIPPING the rest of a line too long
                lf = data.find(b"\n", pos)
                pos, self._state = (end, _SKIPPING) if lf < 0 else (lf + 1, _START)
        return messages

    def end(self) -> bytes | None:
        """The connection is closed: what came of the message it was in the middle of (noted), else None."""
        partial = self._head or bytes(self._kept)
        state, due = self._state, self._due
        self._head, self._kept, self._state, self._due = b"", bytearray(), _START, 0
        if state == _SKIPPING or not partial.strip():
            return None
        if state == _COUNTED:
            problem = f"closed {due} bytes short of an octet-counted message; the {len(partial)} received are taken"
        else:
            problem = f"closed before the LF ending its last message; its {len(partial)} bytes are taken as they are"
        self._note("unterminated", problem)
        return partial

    def failed(self, error: OSError) -> None:
        """The connection broke (reset by the sender, a TLS error): noted like a framing problem."""
        self._note("failed", f"the connection failed ({error})")

    def _taken(self) -> bytes:
        message = bytes(self._kept)
        self._kept.clear()
        self._state = _START
        return message

    def _note(self, kind: str, problem: str) -> None:
        self.problems.note(self.peer, kind, problem)


def _peer_name(peer: tuple | None) -> str:
    if not peer:
        return "an unknown sender"
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, routes: Routes) -> None:
    peer = writer.get_extra_info("peername")
    batcher = routes.batcher_for(peer[0] if peer else None)
    framing = Framing(_peer_name(peer), routes.framing)
    try:
        while True:
            # Not reading while accepting is behind lets the stream's buffer fill, which pauses the transport: TCP
            # flow control then slows the sender instead of memory growing here.
            await batcher.room()
            try:
                data = await reader.read(MAX_MESSAGE)
            except OSError as error:
                framing.failed(error)
                data = b""
            if not data:
                break
            for message in framing.feed(data):
                await batcher.room()
                batcher.add(message)
        last = framing.end()
        if last is not None:
            await batcher.room()
            batcher.add(last)
    finally:
        writer.close()


def tls_context(certificate: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """The server side of RFC 5425: TLS 1.2 or later, the listener's certificate and key, and with `client_ca`
    a certificate required of every sender. Raises OSError / ssl.SSLError with the reason when a file is bad."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class CannotListen(Exception):
    """The listener cannot bind its address and port (in use, not this machine's, out of range, privileged): the
    exception's text is a sentence for the operator."""


async def run(
    host: str,
    port: int,
    accept: Intake | Routes,
    ready: Callable[[], None] | None = None,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Listen until cancelled; `accept` is one source's, or `Routes` for several. Cancelled, it stops listening and
    still accepts what it had taken in (best effort, see `Batcher.close`). Raises `CannotListen` when it cannot
    bind."""
    loop = asyncio.get_running_loop()
    routes = accept if isinstance(accept, Routes) else Routes(accept)
    udp = None
    try:
        try:
            if tls is None:
                udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(routes), local_addr=(host, port))
            server = await asyncio.start_server(lambda r, w: _tcp(r, w, routes), host, port, limit=MAX_MESSAGE, ssl=tls)
        except (OSError, OverflowError) as error:
            raise CannotListen(_cannot_listen(host, port, error)) from error
        if ready:
            ready()
        async with server:
            await server.serve_forever()
    finally:
        if udp is not None:
            udp.close()
        await routes.close()


def _cannot_listen(host: str, port: int, error: OSError | OverflowError) -> str:
    reason = (getattr(error, "strerror", None) or str(error)).rstrip(".")
    if isinstance(error, PermissionError) and port < 1024:
        reason += " (a port below 1024 needs root or the CAP_NET_BIND_SERVICE capability)"
    return f"Cannot listen for syslog on {host} port {port}: {reason}."


def serve(
    host: str,
    port: int,
    accept: Intake | Routes,
    tls: ssl.SSLContext | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """`run` until Ctrl-C (KeyboardInterrupt, as before) or SIGTERM (how systemd and container runtimes stop a
    service: a clean return); either way what was taken in is accepted first, as far as it can be. `ready` is called
    once listening; `CannotListen` is raised when it cannot."""

    async def main() -> None:
        listening = asyncio.create_task(run(host, port, accept, ready, tls=tls))
        terminated = asyncio.Event()

        def terminate() -> None:
            terminated.set()
            listening.cancel()

        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' event loops
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
        try:
            await listening
        except asyncio.CancelledError:
            if not terminated.is_set():
                raise

    asyncio.run(main())
