"""A long-running ingest process (the syslog listener, a spool or JetStream worker) outlives database connections:
the server restarts, a proxy cuts an idle link. Django drops such a connection between requests; these processes
have no requests, so they drop it before each batch (`jobs.between_units_of_work`). Without that, one lost
connection fails every batch after it until the process is restarted."""

import pytest
from django.db import OperationalError, connection

from attt.core.testing import postgresql_only
from attt.monitoring import pipeline, services
from attt.monitoring.management.commands import ingest
from attt.monitoring.models import Source
from attt.monitoring.normalise import decode_batch, events_payload, normalise_lines
from attt.monitoring.tests.factories import make_source

LINE = b"<134>1 2026-11-24T08:00:00Z fw01 app - - - %s"
GOOD = b'{"@timestamp": "2026-11-24T08:00:00Z", "source": {"ip": "198.51.100.7"}, "message": "login"}'

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def lose_the_connection() -> None:
    """As a server restart does: the backend ends this session under the process's feet."""
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def test_the_syslog_listener_takes_batches_again_after_losing_its_connection(tree):
    source, _ = make_source(tree.dept_a, log_format="syslog")
    accept, _park = ingest._intake(source)
    assert accept(LINE % b"before")["accepted"] == 1
    lose_the_connection()
    assert accept(LINE % b"after")["accepted"] == 1
    assert services.store().total() == 2


def test_the_workers_process_batches_again_after_losing_their_connection(tree, monkeypatch):
    """The spool worker (`attt ingest worker`) and a JetStream worker's step, each after a lost connection: the
    registry index and the consumers read the database again."""
    source, _ = make_source(tree.dept_a, log_format="ndjson")
    handed: list[int] = []
    monkeypatch.setattr(services, "INDEX_TTL_S", 0)  # rebuilt from the registry for every batch
    monkeypatch.setattr(pipeline, "_consumers", {"count": lambda events: handed.append(Source.objects.count())})
    payload = events_payload(normalise_lines(GOOD, services.source_ref(source))[0], services.source_ref(source), GOOD)
    services.spool().append(source.pk, 1, payload)
    lose_the_connection()
    assert services.drain_spool() == 1
    lose_the_connection()
    services.consume_nats(decode_batch(payload)[0], payload)
    assert handed == [1, 1]
