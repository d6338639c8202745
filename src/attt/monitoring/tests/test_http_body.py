"""How the ingest gateway reads a batch's body: chunked transfer, content codings, and gzip bodies built to cost
the gateway more than their size. A body read wrongly must be refused, never acknowledged as fewer lines."""

import gzip
import io
import json
import os
import time

import pytest
from django.test.client import ClientHandler

from attt.monitoring import services
from attt.monitoring.api.views import MAX_GZIP_MEMBERS, _gunzip
from attt.monitoring.tests.factories import make_source

INGEST = "/api/v1/ingest/events"
GOOD = b'{"@timestamp": "2026-01-01T00:00:00Z", "source": {"ip": "198.51.100.7"}, "message": "login"}'
BATCH = GOOD + b"\n" + GOOD.replace(b"login", b"logout")


@pytest.fixture
def token(tree):
    return make_source(tree.dept_a)[1]


def chunked(token: str, body: bytes, *, terminated: bool) -> tuple[int, dict]:
    """The request as a WSGI server hands over `Transfer-Encoding: chunked`: no CONTENT_LENGTH; gunicorn marks
    the input as readable to its end (`wsgi.input_terminated`)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": INGEST,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/x-ndjson",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.input_terminated": terminated,
    }
    # Django's test handler: the whole WSGI path, without closing the test's database connection at the end
    response = ClientHandler()(environ)
    return response.status_code, json.loads(response.content)


def test_a_chunked_body_is_read_whole_or_refused(token):
    status, ack = chunked(token, BATCH, terminated=True)
    assert status == 202 and ack["accepted"] == 2
    status, problem = chunked(token, BATCH, terminated=False)  # a server that cannot say where the body ends
    assert status == 411 and "Content-Length" in problem["detail"]
    assert services.store().total() == 2


def test_a_content_coding_other_than_gzip_is_refused(api, token):
    response = api.post(
        INGEST,
        BATCH,
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_CONTENT_ENCODING="br",
    )
    assert response.status_code == 415 and response["Content-Type"] == "application/problem+json"
    assert services.store().total() == 0


def test_gzip_members_and_padding_are_all_read():
    members = [gzip.compress(b"%d\n" % n) for n in range(300)]
    assert _gunzip(b"".join(members) + b"\0" * 70_000, 1 << 20) == b"".join(b"%d\n" % n for n in range(300))
    big = gzip.compress(b"x" * 300_000)  # a member longer than one feeding step
    assert _gunzip(big + big, 1 << 20) == b"x" * 600_000


def test_a_body_of_many_tiny_gzip_members_is_refused_at_once():
    """4 MiB of empty members took a gateway worker 7 s (each member was handed, and copied, the whole rest of
    the body); a sender may post hundreds of batches a minute."""
    from rest_framework.exceptions import ParseError

    empty = gzip.compress(b"", mtime=0)
    start = time.process_time()
    with pytest.raises(ParseError):
        _gunzip(empty * ((4 << 20) // len(empty)), 32 << 20)
    assert time.process_time() - start < 1.0
    tail = os.urandom(2 << 20)  # the most members taken, then a long one: read whole
    assert _gunzip(empty * (MAX_GZIP_MEMBERS - 1) + gzip.compress(tail, compresslevel=1), 4 << 20) == tail


def test_a_batch_of_too_many_lines_is_refused_before_it_is_read(api, token, settings):
    """32 MiB of two-byte bad lines (a few KB gzipped) made the gateway hold and answer 16 million rejections,
    gigabytes of memory for one request. A batch of more lines than the limit is refused whole, nothing stored."""
    settings.ATTT_MONITORING_MAX_BATCH_LINES = 3
    many = b"\n".join([GOOD] * 4)  # the last line without its LF counts too
    response = api.post(
        INGEST, gzip.compress(many), content_type="application/x-ndjson", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 400 and " 3 " in response.json()["errors"]["body"][0]  # "more than 3 lines"
    assert services.store().total() == 0
    accepted = api.post(
        INGEST,
        b"\n".join([GOOD] * 3) + b"\n",
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert accepted.status_code == 202 and accepted.json()["accepted"] == 3
