"""The syslog listener (UDP, TCP newline- and octet-count-framed) and the `attt ingest` command."""

import asyncio
import contextlib
import json
import socket
import threading
import time

import pytest
from django.core.management import CommandError, call_command

from attt.monitoring import conf, services, syslog
from attt.monitoring.tests.factories import make_source


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listen(port, accept, tls=None):
    """The listener on a loop in a thread; returns (ready event, loop)."""
    ready, loop = threading.Event(), asyncio.new_event_loop()

    def run():
        asyncio.set_event_loop(loop)
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(syslog.run("127.0.0.1", port, accept, ready.set, tls=tls))

    threading.Thread(target=run, daemon=True).start()
    assert ready.wait(10)
    return loop


def _stop(loop):
    loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_syslog_listener_feeds_the_source_through_the_orm(tree):
    source, _ = make_source(tree.dept_a, log_format="cef")
    port = _free_port()
    loop = _listen(port, lambda data: services.accept(source, data))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"<134>Oct 11 22:14:15 fw CEF:0|V|P|1|7|deny|5|src=203.0.113.4", ("127.0.0.1", port))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        source.refresh_from_db()
        if source.last_seen_at is not None:  # set once the batch is stored
            break
        time.sleep(0.05)
    _stop(loop)
    assert source.last_seen_at is not None
    assert services.store().total() == 1


def test_syslog_listener_batches_udp_and_tcp_messages():
    port, received = _free_port(), []
    loop = _listen(port, received.append)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"<13>Oct 11 22:14:15 host app: over udp", ("127.0.0.1", port))
    with socket.create_connection(("127.0.0.1", port)) as tcp:
        framed = b"<13>1 2026-01-01T00:00:00Z h a - - - octet counted\nwith newline"
        tcp.sendall(b"<13>Oct 11 22:14:15 host app: line one\n" + b"%d " % len(framed) + framed)
    deadline = time.monotonic() + 10
    while sum(b.count(b"\n") + 1 for b in received) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    _stop(loop)
    lines = sorted(line for batch in received for line in batch.split(b"\n"))
    assert lines == sorted(
        [
            b"<13>Oct 11 22:14:15 host app: over udp",
            b"<13>Oct 11 22:14:15 host app: line one",
            b"<13>1 2026-01-01T00:00:00Z h a - - - octet counted with newline",
        ]
    )


def test_ingest_file_command(tree, tmp_path, capsys):
    source, _ = make_source(tree.dept_a)
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"message": "a"}\n{"message": "b"}\nnot json\n')
    call_command("ingest", "file", str(path), "--source", str(source.pk))
    ack = json.loads(capsys.readouterr().out)
    assert (ack["accepted"], ack["rejected"], ack["errors"][0]["line"]) == (2, 1, 3)
    assert services.store().total() == 2


@pytest.mark.parametrize("args", [["file", "/nonexistent.json", "--source", "x"], ["worker", "--bogus"]])
def test_ingest_command_bad_input(tree, args):
    with pytest.raises((CommandError, SystemExit)):
        call_command("ingest", *args)


@pytest.mark.parametrize("source_id", ["0" * 32, "z" * 36, "x"])
def test_ingest_command_unknown_source(tree, tmp_path, source_id):
    path = tmp_path / "e.ndjson"
    path.write_bytes(b"{}")
    with pytest.raises(CommandError, match="No active event source") as raised:
        call_command("ingest", "file", str(path), "--source", source_id)
    assert raised.value.returncode == 2


def _certificates(folder):
    """A CA, a server certificate for 127.0.0.1 and a client certificate it signed, and a client certificate of
    another CA, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def issue(name, issuer_name=None, issuer_key=None, ca=False, san=None):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name or subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        certificate = builder.sign(issuer_key or key, hashes.SHA256())
        (folder / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return certificate, key

    ca, ca_key = issue("ca", ca=True)
    issue("server", ca.subject, ca_key, san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    issue("sender", ca.subject, ca_key)
    other, other_key = issue("other-ca", ca=True)
    issue("stranger", other.subject, other_key)
    return folder


def test_syslog_over_tls_takes_senders_with_a_certificate_of_its_ca_only(tmp_path):
    import ssl

    pem = _certificates(tmp_path)
    port, received = _free_port(), []
    tls = syslog.tls_context(pem / "server.pem", pem / "server.key", pem / "ca.pem")
    loop = _listen(port, received.append, tls)

    def send(name, message, refused=False):
        context = ssl.create_default_context(cafile=pem / "ca.pem")
        context.load_cert_chain(pem / f"{name}.pem", pem / f"{name}.key")
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tcp:
            tcp.sendall(b"%d %s" % (len(message), message))
            if refused and not tcp.recv(1):  # TLS 1.3: the refusal comes after the handshake
                raise ConnectionError("closed by the listener")

    send("sender", b"<13>1 2026-01-01T00:00:00Z h a - - - over TLS")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        send("stranger", b"<13>1 2026-01-01T00:00:00Z h a - - - not signed by the CA", refused=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:  # no plaintext UDP beside TLS
        udp.sendto(b"<13>Oct 11 22:14:15 host app: plaintext", ("127.0.0.1", port))
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)  # a batch would have been flushed by now
    _stop(loop)
    assert received == [b"<13>1 2026-01-01T00:00:00Z h a - - - over TLS"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--tls-cert", "server.pem"], "both --tls-cert and --tls-key"),
        (["--tls-client-ca", "ca.pem"], "needs --tls-cert"),
        (["--tls-cert", "server.pem", "--tls-key", "missing.key"], "Cannot use the TLS certificate"),
    ],
)
def test_syslog_tls_options_refused_with_a_sentence(tree, tmp_path, monkeypatch, args, reason):
    source, _ = make_source(tree.dept_a)
    monkeypatch.chdir(_certificates(tmp_path))
    with pytest.raises(CommandError, match=reason) as raised:
        call_command("ingest", "syslog", "--port", "1", "--source", str(source.pk), *args)
    assert raised.value.returncode == 2


def test_one_listener_routes_senders_to_their_sources_by_address():
    port, first, second, rest = _free_port(), [], [], []
    routes = syslog.Routes(rest.append, [("127.0.0.0/8", first.append), ("127.0.0.2/32", second.append)])
    loop = _listen(port, routes)
    for sender, text in (("127.0.0.1", b"from one"), ("127.0.0.2", b"from two")):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((sender, 0))
            udp.sendto(b"<13>Oct 11 22:14:15 host app: udp " + text, ("127.0.0.1", port))
        tcp = socket.socket()
        tcp.bind((sender, 0))
        with tcp:
            tcp.connect(("127.0.0.1", port))
            tcp.sendall(b"<13>Oct 11 22:14:15 host app: tcp " + text + b"\n")
    deadline = time.monotonic() + 10
    while sum(len(b.split(b"\n")) for b in first + second) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    _stop(loop)
    assert sorted(line for b in first for line in b.split(b"\n")) == [
        b"<13>Oct 11 22:14:15 host app: tcp from one",
        b"<13>Oct 11 22:14:15 host app: udp from one",
    ]
    assert sorted(line for b in second for line in b.split(b"\n")) == [
        b"<13>Oct 11 22:14:15 host app: tcp from two",  # the longest match wins
        b"<13>Oct 11 22:14:15 host app: udp from two",
    ]
    assert rest == [] and syslog.Routes(rest.append).batcher_for("192.0.2.1") is not None


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("10.0.0.0/8", "is not CIDR=SOURCE_ID"),
        ("not-a-network=x", "is not CIDR=SOURCE_ID"),
        ("10.0.0.0/8=00000000-0000-0000-0000-000000000000", "No active event source"),
    ],
)
def test_syslog_route_options_refused_with_a_sentence(tree, route, reason):
    source, _ = make_source(tree.dept_a)
    with pytest.raises(CommandError, match=reason) as raised:
        call_command("ingest", "syslog", "--port", "1", "--source", str(source.pk), "--route", route)
    assert raised.value.returncode == 2


def _lines(batches):
    return [line for batch in batches for line in batch.split(b"\n")]


def _until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def _connects(port):
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _held_up():
    """Routes to an `accept` that takes nothing until released (a slow database); and what it took, the release."""
    received, release = [], threading.Event()

    def accept(batch):
        release.wait(10)
        received.append(batch)
        return {}

    return syslog.Routes(accept), received, release


def test_syslog_batch_refused_is_retried_until_taken_and_in_order(caplog):
    port, calls, received = _free_port(), [], []

    def accept(batch):  # the database busy twice, then back
        calls.append(batch)
        if len(calls) <= 2:
            raise RuntimeError("database is locked")
        received.append(batch)
        return {}

    routes = syslog.Routes(accept)
    routes.default.size, routes.default.delay, routes.default.retry_first = 5, 0.05, 0.01
    loop = _listen(port, routes)
    sent = [b"<13>Oct 11 22:14:15 host app: line %d" % i for i in range(23)]
    with socket.create_connection(("127.0.0.1", port)) as tcp:
        tcp.sendall(b"".join(line + b"\n" for line in sent))
    _until(lambda: len(_lines(received)) >= len(sent))
    _stop(loop)
    assert _lines(received) == sent  # each line once, in order
    assert calls[0] == calls[1] == calls[2] == received[0]  # the refused batch was retried, not skipped
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 2 and all("batch of 5 lines" in message for message in refusals)


def _send(port, lines):
    with socket.create_connection(("127.0.0.1", port)) as tcp:
        tcp.sendall(b"".join(line + b"\n" for line in lines))


def test_syslog_batch_refused_for_good_is_parked_and_the_source_goes_on(caplog):
    """One batch `accept` always refuses (a line it cannot take) is parked after `park_after` seconds; the batches
    after it are taken as before, in order, and none is parked while they are."""
    port, taken, parked = _free_port(), [], []

    def accept(batch):
        if b"poison" in batch:
            raise RuntimeError("cannot take this batch")
        taken.append(batch)
        return {}

    routes = syslog.Routes((accept, lambda batch: parked.append(batch) or "/parked/here"))
    routes.default.size, routes.default.delay, routes.default.retry_first = 5, 0.05, 0.01
    routes.default.park_after = 0.1
    loop = _listen(port, routes)
    sent = [b"<13>Oct 11 22:14:15 host app: line %d%s" % (i, b" poison" if i == 7 else b"") for i in range(23)]
    _send(port, sent)
    _until(lambda: len(_lines(taken)) + len(_lines(parked)) >= len(sent))
    _stop(loop)
    assert _lines(parked) == sent[5:10] and routes.default.parked == 1  # the refused batch, once
    assert _lines(taken) == sent[:5] + sent[10:]  # the others, in order
    assert any("parked in /parked/here" in r.getMessage() for r in caplog.records)


def test_syslog_source_refused_throughout_parks_each_batch_until_one_is_taken():
    """While everything is refused, once one batch is parked the next are parked at their first refusal (not after
    `park_after` each); when `accept` takes one again, the batches are retried as before rather than parked."""
    port, taken, parked, calls = _free_port(), [], [], []
    down = threading.Event()
    down.set()

    def accept(batch):
        calls.append(batch)
        if down.is_set():
            raise RuntimeError("database unavailable")
        taken.append(batch)
        return {}

    routes = syslog.Routes((accept, parked.append))
    batcher = routes.default
    batcher.size, batcher.delay, batcher.retry_first, batcher.park_after = 5, 0.05, 0.01, 0.2
    loop = _listen(port, routes)
    first = [b"<13>Oct 11 22:14:15 host app: first %d" % i for i in range(15)]
    _send(port, first)
    assert _until(lambda: len(_lines(parked)) == 15)
    assert calls.count(calls[-1]) == 1 and calls.count(calls[0]) > 1  # the first was retried, the last tried once
    down.clear()
    then = [b"<13>Oct 11 22:14:15 host app: then %d" % i for i in range(10)]
    _send(port, then)
    assert _until(lambda: len(_lines(taken)) == 10)
    down.set()
    last = [b"<13>Oct 11 22:14:15 host app: last %d" % i for i in range(5)]
    _send(port, last)
    time.sleep(0.1)  # shorter than `park_after`: retried, not parked
    assert len(_lines(parked)) == 15 and batcher.held == 5
    down.clear()
    assert _until(lambda: len(_lines(taken)) == 15)
    _stop(loop)
    assert _lines(parked) == first and _lines(taken) == then + last and batcher.parked == 3


def test_syslog_batch_that_cannot_be_parked_either_is_kept_and_retried():
    port, taken = _free_port(), []
    failures = iter(range(4))

    def accept(batch):
        if next(failures, None) is not None:
            raise RuntimeError("database unavailable")
        taken.append(batch)
        return {}

    def park(batch):
        raise OSError(28, "No space left on device")

    routes = syslog.Routes((accept, park))
    routes.default.size, routes.default.delay, routes.default.retry_first, routes.default.park_after = 5, 0.05, 0.01, 0
    loop = _listen(port, routes)
    sent = [b"<13>Oct 11 22:14:15 host app: line %d" % i for i in range(5)]
    _send(port, sent)
    _until(lambda: len(_lines(taken)) >= len(sent))
    _stop(loop)
    assert _lines(taken) == sent and routes.default.parked == 0


def test_a_parked_batch_is_written_whole_and_replayed_by_ingest_file(tree, capsys):
    source, _ = make_source(tree.dept_a, log_format="syslog")
    batch = b"<13>Oct 11 22:14:15 host app: one\n<13>Oct 11 22:14:16 host app: two"
    path = services.park(source, batch)
    assert path.parent == conf.data_dir() / "parked" / str(source.pk) and path.read_bytes() == batch + b"\n"
    assert oct(path.stat().st_mode & 0o777) == "0o600" and not list(path.parent.glob("*.partial"))
    call_command("ingest", "file", str(path), "--source", str(source.pk))
    assert json.loads(capsys.readouterr().out)["accepted"] == 2


@pytest.mark.parametrize("over_tls", [False, True])
def test_syslog_tcp_sender_is_held_back_while_accepting_is_behind(tmp_path, over_tls):
    import ssl

    port, (routes, received, release) = _free_port(), _held_up()
    batcher = routes.default
    batcher.size = 100
    tls, client = None, None
    if over_tls:
        pem = _certificates(tmp_path)
        tls = syslog.tls_context(pem / "server.pem", pem / "server.key")
        client = ssl.create_default_context(cafile=pem / "ca.pem")
    loop = _listen(port, routes, tls)
    line, per_chunk, chunks = b"<13>Oct 11 22:14:15 host app: " + b"x" * 994 + b"\n", 64, 250
    sent = [0]

    def send():
        raw = socket.create_connection(("127.0.0.1", port))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
        with raw, client.wrap_socket(raw, server_hostname="127.0.0.1") if client else raw as tcp:
            for _ in range(chunks):
                tcp.sendall(line * per_chunk)
                sent[0] += per_chunk
            if client:  # close_notify, reading the session tickets: closing with them unread would reset
                tcp.unwrap()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    most_held, last, still_since = 0, -1, time.monotonic()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and time.monotonic() - still_since < 0.3:  # until the sender is stuck
        most_held = max(most_held, batcher.held)
        if sent[0] != last:
            last, still_since = sent[0], time.monotonic()
        time.sleep(0.01)
    sent_while_behind = sent[0]
    release.set()
    sender.join(5)
    _until(lambda: len(_lines(received)) >= per_chunk * chunks)
    _stop(loop)
    assert sent_while_behind < per_chunk * chunks  # TCP flow control stopped the sender
    assert 0 < most_held <= (batcher.queue_size + 1) * batcher.size  # bounded memory meanwhile
    assert _lines(received) == [line.rstrip(b"\n")] * (per_chunk * chunks)  # then everything arrived


def test_syslog_udp_beyond_the_cap_is_dropped_and_counted(caplog):
    port, (routes, received, release) = _free_port(), _held_up()
    batcher = routes.default
    batcher.size, batcher.cap, batcher.queue_size = 5, 20, 1
    loop = _listen(port, routes)
    sent = [b"<13>Oct 11 22:14:15 host app: datagram %d" % i for i in range(100)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for datagram in sent:
            udp.sendto(datagram, ("127.0.0.1", port))
    _until(lambda: batcher.held + batcher.dropped >= len(sent))
    held, dropped = batcher.held, batcher.dropped
    release.set()
    _until(lambda: len(_lines(received)) >= held)
    _stop(loop)
    assert (held, dropped) == (5 + 20, 75)  # one batch being accepted, the open one at the cap, the rest counted
    assert _lines(received) == sent[:25]
    warnings = [r.getMessage() for r in caplog.records if "dropped so far" in r.getMessage()]
    assert len(warnings) == 1  # at most one every few seconds


def test_syslog_listener_stopped_still_accepts_what_it_took_in():
    port, (routes, received, release) = _free_port(), _held_up()
    routes.default.size, routes.default.delay = 5, 60.0  # the open batch is left to the shutdown
    loop = _listen(port, routes)
    sent = [b"<13>Oct 11 22:14:15 host app: line %d" % i for i in range(12)]
    with socket.create_connection(("127.0.0.1", port)) as tcp:
        tcp.sendall(b"".join(line + b"\n" for line in sent))
    assert _until(lambda: routes.default.held == len(sent))  # one batch being accepted, one queued, two open
    _stop(loop)
    time.sleep(0.1)
    release.set()
    _until(lambda: len(_lines(received)) >= len(sent))
    assert _lines(received) == sent  # the batch accepted while cancelled is not sent twice


def test_syslog_serve_stopped_by_sigterm_accepts_what_it_took_in(tmp_path):
    import signal
    import subprocess
    import sys

    port, out = _free_port(), tmp_path / "accepted"
    listener = subprocess.Popen(  # a process of its own: the signal is the one systemd sends to stop a service
        [
            sys.executable,
            "-c",
            "import sys; from attt.monitoring import syslog\n"
            "routes = syslog.Routes(lambda batch: open(sys.argv[2], 'ab').write(batch + b'\\n'))\n"
            "routes.default.delay = 60.0\n"  # nothing is accepted before the signal
            "syslog.serve('127.0.0.1', int(sys.argv[1]), routes)",
            str(port),
            str(out),
        ]
    )
    try:
        sent = b"<13>Oct 11 22:14:15 host app: held until the signal\n"
        assert _until(lambda: listener.poll() is None and _connects(port), 10)
        with socket.create_connection(("127.0.0.1", port)) as tcp:
            tcp.sendall(sent)
        time.sleep(0.2)
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(10) == 0  # a clean stop
    finally:
        listener.kill()
    assert out.read_bytes() == sent
