"""Syslog over TCP never loses a message to its framing, `attt ingest` answers bad input with a sentence, and the
listener follows its source's state after it started."""

import logging
import pathlib
import socket
import struct
import time

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from attt.monitoring import services, syslog
from attt.monitoring.management.commands import ingest
from attt.monitoring.models import Source
from attt.monitoring.tests.factories import make_source
from attt.monitoring.tests.test_gateways import _free_port, _lines, _listen, _stop, _until

MAX = syslog.MAX_MESSAGE
LINE = b"<13>Oct 11 22:14:15 host app: %s"


def _framing() -> syslog.Framing:
    return syslog.Framing("192.0.2.1:5140", syslog.FramingLog())


def _frame(data: bytes, *, cuts: tuple[int, ...] = ()) -> tuple[list[bytes], bytes | None, dict]:
    """Messages, the connection's last (unterminated) one and the problems counted, for `data` read in pieces."""
    framing, messages, start = _framing(), [], 0
    for cut in [*sorted(cuts), len(data)]:
        messages += framing.feed(data[start:cut])
        start = cut
    return messages, framing.end(), dict(framing.problems.counts)


def _counted(message: bytes) -> bytes:
    return b"%d %s" % (len(message), message)


# --- Framing, without sockets ------------------------------------------------------------------------------------


def test_a_line_over_the_maximum_is_truncated_and_the_next_messages_are_kept():
    """A newline-framed message over MAX_MESSAGE used to close the connection, losing everything after it."""
    big = LINE % (b"x" * (MAX + 5000))
    data = LINE % b"before" + b"\n" + big + b"\n" + LINE % b"after" + b"\n" + _counted(LINE % b"counted")
    messages, last, problems = _frame(data, cuts=(100, MAX // 2, MAX + 3000))
    assert messages == [LINE % b"before", big[:MAX], LINE % b"after", LINE % b"counted"]
    assert (last, problems) == (None, {"truncated": 1})


def test_an_octet_counted_frame_over_the_maximum_is_truncated_and_the_next_messages_are_kept():
    """An octet-counted frame over MAX_MESSAGE used to end the connection (`break`), losing what followed."""
    big = b"<13>1 2026-01-01T00:00:00Z h a - - - " + b"y" * (MAX + 7000)
    after = b"<13>1 2026-01-01T00:00:00Z h a - - - after"
    messages, last, problems = _frame(_counted(big) + _counted(after) + LINE % b"line" + b"\n", cuts=(3, 70000))
    assert messages == [big[:MAX], after, LINE % b"line"]
    assert (last, problems) == (None, {"truncated": 1})


@pytest.mark.parametrize(
    "line",
    [
        b"2026-01-01T00:00:00Z fw01 kernel: no PRI",  # used to be int("2026-01-01T…"): the connection closed
        b"5 events dropped by relay",  # used to be a 5-byte octet-counted frame, the rest garbled
        b"1234567 <13> seven digits are not a count",
        b"012 <13> a count has no leading zero",
        b"42",
    ],
)
def test_a_line_starting_with_digits_is_not_taken_for_an_octet_count(line):
    messages, last, problems = _frame(line + b"\n" + LINE % b"next" + b"\n", cuts=(1, 2, 3))
    assert (messages, last, problems) == ([line, LINE % b"next"], None, {})


@pytest.mark.parametrize(
    ("tail", "taken"),
    [
        (LINE % b"two (no LF, then close)", LINE % b"two (no LF, then close)"),
        (b"12", b"12"),  # too short to tell its framing when the sender closed
        (b"40 " + LINE % b"short", LINE % b"short"),  # closed before the count was reached
    ],
)
def test_the_last_message_of_a_closed_connection_is_taken_as_it_came(tail, taken):
    """The sender closing without a final LF used to lose that message (IncompleteReadError)."""
    messages, last, problems = _frame(LINE % b"one" + b"\n" + tail)
    assert (messages, last, problems) == ([LINE % b"one"], taken, {"unterminated": 1})


def test_a_connection_closed_between_messages_or_in_a_skipped_rest_has_nothing_left():
    assert _frame(LINE % b"one\n\n") == ([LINE % b"one", b""], None, {})
    too_long = LINE % (b"x" * MAX) + b"rest, skipped"
    assert _frame(too_long) == ([too_long[:MAX]], None, {"truncated": 1})


_messages = st.lists(
    st.one_of(
        st.binary(max_size=40).filter(lambda b: b"\n" not in b and not syslog._OCTET_COUNT.match(b)),
        st.binary(max_size=40).map(lambda b: b"<13>" + b).map(lambda b: (b,)),  # octet-counted
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(messages=_messages, cuts=st.lists(st.integers(0, 600), max_size=8))
def test_framing_gives_the_messages_sent_whichever_way_they_are_framed_and_split(messages, cuts):
    """Newline- and octet-counted frames mixed on one connection, read in any pieces, give each message once."""
    data = b"".join(_counted(m[0]) if isinstance(m, tuple) else m + b"\n" for m in messages)
    sent = [m[0] if isinstance(m, tuple) else m for m in messages]
    assert _frame(data, cuts=tuple(c for c in cuts if c <= len(data))) == (sent, None, {})


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_any_bytes_read_in_any_pieces_frame_the_same_way(data, cuts):
    """Fuzz: no input raises, and where reads split the bytes changes nothing."""
    assert _frame(data, cuts=tuple(c for c in cuts if c <= len(data))) == _frame(data)


def test_framing_problems_are_counted_each_but_logged_at_most_every_few_seconds(caplog, monkeypatch):
    """A hostile sender must not flood the log: one line, then nothing until `warn_every` has passed."""
    problems = syslog.FramingLog()
    for _ in range(50):
        problems.note("192.0.2.1:5140", "truncated", "a message truncated")
    logged = [r.getMessage() for r in caplog.records if "192.0.2.1:5140" in r.getMessage()]
    assert problems.counts == {"truncated": 50} and len(logged) == 1
    monkeypatch.setattr(syslog.FramingLog, "warn_every", 0.0)
    problems.note("192.0.2.1:5140", "unterminated", "closed early")
    assert "51 framing problems since the listener started, 49 not logged since" in caplog.records[-1].getMessage()


# --- Framing, over a socket ---------------------------------------------------------------------------------------


def test_the_listener_keeps_a_connection_through_framing_problems_and_logs_them(caplog):
    port, received = _free_port(), []
    routes = syslog.Routes(received.append)
    loop = _listen(port, routes)
    sent = [
        LINE % b"before",
        LINE % (b"x" * (MAX + 100)),
        b"2026-01-01T00:00:00Z fw01 kernel: no PRI",
        b"5 events dropped by relay",
        LINE % b"last, no LF",
    ]
    with socket.create_connection(("127.0.0.1", port)) as tcp:
        tcp.sendall(b"\n".join(sent))
    assert _until(lambda: len(_lines(received)) >= len(sent))
    _stop(loop)
    assert _lines(received) == [sent[0], sent[1][:MAX], *sent[2:]]
    assert routes.framing.counts == {"truncated": 1, "unterminated": 1}
    assert any("syslog over TCP from 127.0.0.1:" in r.getMessage() for r in caplog.records)
    assert _until(lambda: any("framing problems in all" in r.getMessage() for r in caplog.records))  # on stopping


def test_a_connection_reset_by_its_sender_keeps_the_message_it_was_in():
    port, received = _free_port(), []
    routes = syslog.Routes(received.append)
    loop = _listen(port, routes)
    with socket.create_connection(("127.0.0.1", port)) as tcp:
        tcp.sendall(LINE % b"one\n" + LINE % b"cut short by a reset")
        time.sleep(0.3)  # read by the listener before the reset
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
    assert _until(lambda: len(_lines(received)) >= 2)
    _stop(loop)
    assert _lines(received) == [LINE % b"one", LINE % b"cut short by a reset"]
    assert routes.framing.counts == {"failed": 1, "unterminated": 1}


# --- `attt ingest`: a sentence and exit code 2 ------------------------------------------------------------------


def test_an_unreadable_file_exits_2_with_a_sentence(tree, tmp_path, monkeypatch):
    source, _ = make_source(tree.dept_a)
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"message": "a"}\n')

    def denied(self):  # what a 0600 file of another user gives (the tests run as root, where chmod would not do)
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "read_bytes", denied)
    with pytest.raises(CommandError, match=r"Cannot read .*events.ndjson: Permission denied\.") as raised:
        call_command("ingest", "file", str(path), "--source", str(source.pk))
    assert raised.value.returncode == 2


def test_a_replay_stopped_by_the_system_exits_2_with_a_sentence(tree, tmp_path, monkeypatch):
    source, _ = make_source(tree.dept_a)
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"message": "a"}\n')

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(services, "accept", full)
    with pytest.raises(CommandError, match=r"stopped: No space left on device\. The batches accepted") as raised:
        call_command("ingest", "file", str(path), "--source", str(source.pk))
    assert raised.value.returncode == 2


@pytest.mark.parametrize("port", ["0", "65536", "70000", "-1", "514x"])
def test_a_port_outside_1_to_65535_is_refused_by_the_parser(tree, port):
    source, _ = make_source(tree.dept_a, log_format="syslog")
    with pytest.raises(CommandError, match="is not a port number from 1 to 65535"):
        call_command("ingest", "syslog", "--port", port, "--source", str(source.pk))


def test_a_busy_port_exits_2_with_a_sentence(tree, capsys):
    source, _ = make_source(tree.dept_a, log_format="syslog")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot listen for syslog on 127.0.0.1 port {port}: ") as raised:
            call_command("ingest", "syslog", "--port", str(port), "--source", str(source.pk))
    assert raised.value.returncode == 2 and "Address already in use" in str(raised.value)
    assert "syslog on" not in capsys.readouterr().out  # "listening" is said only once it is


@pytest.mark.parametrize("routed", [False, True])
def test_a_syslog_listener_for_a_source_of_another_format_exits_2(tree, monkeypatch, routed):
    """An NDJSON source's listener would reject every message it is sent."""
    monkeypatch.setattr(syslog, "serve", lambda *args, **kwargs: pytest.fail("listening for an NDJSON source"))
    syslog_source, _ = make_source(tree.dept_a, log_format="cef")
    ndjson_source, _ = make_source(tree.dept_a, log_format="ndjson")
    args = ["--source", str(syslog_source.pk), "--route", f"10.0.0.0/8={ndjson_source.pk}"]
    if not routed:
        args = ["--source", str(ndjson_source.pk)]
    with pytest.raises(CommandError, match=f"{ndjson_source.pk}.* takes sources whose format is syslog or CEF") as e:
        call_command("ingest", "syslog", "--port", "1", *args)
    assert e.value.returncode == 2


# --- The listener follows its source ---------------------------------------------------------------------------


def test_a_source_deactivated_or_deleted_after_the_start_has_its_batches_refused_and_parked(tree, caplog, monkeypatch):
    """Refused, the Batcher retries then parks the batch: nothing is stored for a source no longer active, and
    nothing is lost. Each change is logged once."""
    source, _ = make_source(tree.dept_a, log_format="syslog")
    accept, park = ingest._intake(Source.objects.get(pk=source.pk))  # what the listener builds at its start
    assert accept(LINE % b"while active")["accepted"] == 1
    Source.objects.filter(pk=source.pk).update(is_active=False)
    monkeypatch.setattr(ingest._Intake, "fresh_for", 0.0)  # the answer is otherwise cached for a few seconds
    for _ in range(2):
        with pytest.raises(ingest.SourceUnavailable, match="not active"):
            accept(LINE % b"after deactivation")
    Source.objects.filter(pk=source.pk).update(is_active=True)
    assert accept(LINE % b"active again")["accepted"] == 1
    Source.objects.filter(pk=source.pk).delete()
    with pytest.raises(ingest.SourceUnavailable, match="deleted"):
        accept(LINE % b"after deletion")
    assert services.store().total() == 2
    assert park(LINE % b"after deletion").read_bytes() == LINE % b"after deletion" + b"\n"
    changes = [r.getMessage() for r in caplog.records if f"event source {source}" in r.getMessage()]
    assert len(changes) == 3 and "it is not active" in changes[0] and "taking batches again" in changes[1]


def test_a_source_given_another_format_after_the_start_has_its_batches_refused(tree):
    source, _ = make_source(tree.dept_a, log_format="syslog")
    accept, _park = ingest._intake(source)
    Source.objects.filter(pk=source.pk).update(log_format="ndjson")
    with pytest.raises(ingest.SourceUnavailable, match="no longer syslog or CEF"):
        accept(LINE % b"one")
    assert services.store().total() == 0


def test_the_listener_logs_the_lines_its_source_rejects_at_most_every_few_seconds(tree, caplog, monkeypatch):
    caplog.set_level(logging.WARNING)
    source, _ = make_source(tree.dept_a, log_format="syslog")
    accept, _park = ingest._intake(source)
    for _ in range(3):
        assert accept(LINE % b"good\n<999>not syslog\n<998>nor this")["rejected"] == 2
    reports = [r.getMessage() for r in caplog.records if "lines rejected" in r.getMessage()]
    assert len(reports) == 1 and "2 lines rejected since the last report, 2 since the start" in reports[0]
    monkeypatch.setattr(ingest._Intake, "warn_every", 0.0)
    accept(LINE % b"good\n<999>not syslog")
    reports = [r.getMessage() for r in caplog.records if "lines rejected" in r.getMessage()]
    assert "5 lines rejected since the last report, 7 since the start" in reports[-1]
