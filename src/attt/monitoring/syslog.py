"""The syslog gateway: TCP (newline- or octet-count-framed, RFC 6587) and UDP on one port, messages batched
(up to 1000 or every half second) into the same `accept` path as HTTP, per source: one listener can serve several
sources, chosen by the sender's address (`Routes`). With a certificate it is syslog over TLS
(RFC 5425) on TCP only: no plaintext UDP beside it; with a client CA too, senders must present a certificate it
signed (mutual TLS)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)
MAX_MESSAGE = 64 * 1024


class Batcher:
    def __init__(self, accept: Callable[[bytes], dict], size: int = 1000, delay: float = 0.5) -> None:
        self.accept, self.size, self.delay = accept, size, delay
        self.lines: list[bytes] = []
        self._flush_at: asyncio.TimerHandle | None = None

    def add(self, line: bytes) -> None:
        line = line.rstrip(b"\r\n").replace(b"\n", b" ")
        if not line:
            return
        self.lines.append(line)
        if len(self.lines) >= self.size:
            self.flush()
        elif self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(self.delay, self.flush)

    def flush(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        lines, self.lines = self.lines, []
        if lines:
            # Off the event loop: accepting uses the ORM (Django refuses it inside a running loop) and fsyncs.
            done = asyncio.get_running_loop().run_in_executor(None, self.accept, b"\n".join(lines))
            done.add_done_callback(lambda f: f.exception() and logger.error("syslog batch refused: %s", f.exception()))


class Routes:
    """Senders' addresses to the `accept` of their source: the longest matching network wins, others go to the
    default. Each source has its own batcher, so a batch never mixes sources."""

    def __init__(self, default: Callable[[bytes], dict], networks: Sequence[tuple[str, Callable]] = ()) -> None:
        self.default = Batcher(default)
        parsed = [(ipaddress.ip_network(cidr, strict=False), Batcher(accept)) for cidr, accept in networks]
        self.networks = sorted(parsed, key=lambda item: -item[0].prefixlen)

    def batcher_for(self, address: str | None) -> Batcher:
        if address is not None and self.networks:
            ip = ipaddress.ip_address(address.split("%")[0])
            for network, batcher in self.networks:
                if ip.version == network.version and ip in network:
                    return batcher
        return self.default


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, routes: Routes) -> None:
        self.routes = routes

    def datagram_received(self, data, addr) -> None:
        self.routes.batcher_for(addr[0]).add(data[:MAX_MESSAGE])


async def _tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, routes: Routes) -> None:
    peer = writer.get_extra_info("peername")
    batcher = routes.batcher_for(peer[0] if peer else None)
    try:
        while True:
            head = await reader.read(1)
            if not head:
                break
            if head.isdigit():  # octet counting: "LEN SP MSG"
                digits = head + await reader.readuntil(b" ")
                length = int(digits[:-1])
                if length > MAX_MESSAGE:
                    break
                batcher.add(await reader.readexactly(length))
            else:
                batcher.add(head + (await reader.readuntil(b"\n"))[:MAX_MESSAGE])
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, ConnectionError):
        pass
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


async def run(
    host: str,
    port: int,
    accept: Callable[[bytes], dict] | Routes,
    ready: Callable[[], None] | None = None,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Listen until cancelled; `accept` is one source's, or `Routes` for several."""
    loop = asyncio.get_running_loop()
    routes = accept if isinstance(accept, Routes) else Routes(accept)
    if tls is None:
        await loop.create_datagram_endpoint(lambda: _Udp(routes), local_addr=(host, port))
    server = await asyncio.start_server(lambda r, w: _tcp(r, w, routes), host, port, limit=MAX_MESSAGE, ssl=tls)
    if ready:
        ready()
    async with server:
        await server.serve_forever()


def serve(host: str, port: int, accept: Callable[[bytes], dict] | Routes, tls: ssl.SSLContext | None = None) -> None:
    asyncio.run(run(host, port, accept, tls=tls))
