"""Scale-out transport: NATS JetStream between ingest gateways and detection workers
(ATTT_MONITORING_TRANSPORT=nats, ATTT_MONITORING_NATS_URL=nats://a:4222,nats://b:4222,…).

A gateway acknowledges its sender only after JetStream's publish acknowledgement, which comes once the batch is
stored (file storage) on a quorum of the stream's replicas (3 by default), so losing a node — or the gateway —
loses nothing acknowledged. Each batch carries a `Nats-Msg-Id` (hash of its bytes), so a gateway retrying a
publish within the stream's duplicate window stores it once. Workers share one durable pull consumer: each batch
goes to one worker, is acknowledged after it is stored and handed to consumers, and is delivered again when a
worker dies before acknowledging (`ack_wait`); the store drops repeated events by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NoStreamResponseError, ServiceUnavailableError

from attt.monitoring import conf
from attt.monitoring.normalise import SourceRef, decode_batch, encode_chunks, gc_paused
from attt.monitoring.pipeline import NormalisedEvent

logger = logging.getLogger(__name__)

STREAM = "ATTT_EVENTS"
SUBJECT = "attt.events.batch"
CONSUMER = "detection-workers"
SET_ASIDE_STREAM = "ATTT_EVENTS_SET_ASIDE"  # batches whose every delivery failed, kept for a later retry
SET_ASIDE_SUBJECT = "attt.events.set-aside"
# Failed deliveries before a batch is set aside (as the spool's MAX_ATTEMPTS). Counted by the worker, not by the
# consumer's max_deliver: a batch whose worker died at its last delivery would then never come again.
MAX_DELIVER = 8
MAX_MESSAGE = 900 * 1024  # under the server's default max_payload (1 MB)
CLOSE_TIMEOUT_S = 5.0  # closing the connection when a worker stops
# A worker's step per message: its events, and the message itself when it holds exactly those (for the store).
Handler = Callable[[list[NormalisedEvent], bytes | None], None]


def replicas() -> int:
    return int(os.environ.get("ATTT_MONITORING_NATS_REPLICAS", "3"))


async def connect(servers: list[str] | None = None):
    return await nats.connect(
        servers=servers or conf.nats_servers(), max_reconnect_attempts=-1, reconnect_time_wait=0.2
    )


async def ensure_stream(js, *, num_replicas: int | None = None) -> None:
    """The batch stream and the stream of batches set aside (both replicated, file storage)."""
    for name, subject in ((STREAM, SUBJECT), (SET_ASIDE_STREAM, SET_ASIDE_SUBJECT)):
        config = StreamConfig(
            name=name,
            subjects=[subject],
            storage=StorageType.FILE,
            num_replicas=num_replicas or replicas(),
            duplicate_window=120,
        )
        try:
            await js.add_stream(config)
        except BadRequestError:  # exists with another config: bring it to this one
            await js.update_stream(config)


async def ensure_consumer(js, name: str = CONSUMER) -> None:
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=name,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30,
            max_ack_pending=64,
        ),
    )


async def publish(js, payload: bytes, *, retry_for: float = 15.0, msg_id: str | None = None) -> int:
    """Publish one encoded batch; returns its stream sequence once JetStream has it on a quorum of replicas.
    While a node is lost (reconnection, stream leader election) the publish is retried with the same message
    id, so a retry of a batch that did get stored is not stored twice."""
    headers = {"Nats-Msg-Id": msg_id or hashlib.blake2b(payload, digest_size=16).hexdigest()}
    deadline = asyncio.get_running_loop().time() + retry_for
    delay = 0.1
    while True:
        try:
            return (await js.publish(SUBJECT, payload, headers=headers, timeout=5)).seq
        except (NoStreamResponseError, nats.errors.TimeoutError, nats.errors.ConnectionClosedError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


class Publisher:
    """A synchronous face for the Django gateway: one connection on a background event loop per process."""

    def __init__(self, servers: list[str] | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True, name="attt-nats").start()
        self._nc = self._run(connect(servers))
        self._js = self._nc.jetstream()
        self._run(ensure_stream(self._js))

    def _run(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def publish(self, payload: bytes) -> int:
        return self._run(publish(self._js, payload))

    def close(self) -> None:
        self._run(self._nc.drain())
        self._loop.call_soon_threadsafe(self._loop.stop)


_publisher: Publisher | None = None
_publisher_lock = threading.Lock()


def publish_events_sync(events: list[NormalisedEvent], source: SourceRef) -> None:
    """The gateway's step with ATTT_MONITORING_TRANSPORT=nats: the batch's accepted lines go out (compressed) and
    this returns once every part is stored by the stream."""
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = Publisher()
    for payload in encode_chunks(source, events[0].ingested, [e.original for e in events], MAX_MESSAGE):
        _publisher.publish(payload)


async def consume(
    servers: list[str],
    handle: Handler,
    *,
    durable: str = CONSUMER,
    stop: asyncio.Event | None = None,
    batch: int = 4,
    until_drained: bool = False,
    ahead: int = 2,
    on_batch: Callable[[int], None] | None = None,
    retry_delay: float = 30.0,
) -> int:
    """Fetch batches from the shared durable consumer, handle each, acknowledge it after; runs until `stop` (or,
    with `until_drained`, until the consumer has nothing pending). Returns the number of events handled.

    Up to `ahead` pulls are fetched while the current batch is decoded and handled in a thread, so a worker does
    not wait for the network (or for servers sharing its cores) between batches; pulls are small (`batch`
    messages of up to 1 MB each) so that workers sharing the consumer get even shares up to the end of the
    stream."""
    nc = await connect(servers)
    js = nc.jetstream()
    subscription = await _retry(lambda: js.pull_subscribe(SUBJECT, durable=durable, stream=STREAM))
    pulled: asyncio.Queue = asyncio.Queue()
    room = asyncio.Semaphore(ahead)  # pulls fetched ahead of the handler
    handled = 0

    async def pull() -> list | None:
        while stop is None or not stop.is_set():
            try:
                return await subscription.fetch(batch, timeout=0.25 if until_drained else 1)
            except (nats.errors.TimeoutError, TimeoutError):
                if until_drained and (await subscription.consumer_info()).num_pending == 0:
                    return None
            except nats.errors.Error:  # a node lost, a leader being elected: try again shortly
                await asyncio.sleep(0.2)
        return None

    async def fetch_ahead() -> None:
        try:
            while True:
                await room.acquire()
                messages = await pull()
                if messages is None:
                    return
                pulled.put_nowait(messages)
        finally:
            pulled.put_nowait(None)

    fetcher = asyncio.create_task(fetch_ahead())
    try:
        while (messages := await pulled.get()) is not None:
            room.release()
            for message in messages:
                try:  # off the event loop: handlers use the ORM, and the next pull arrives meanwhile
                    count = await asyncio.to_thread(_handle_payload, message.data, handle)
                except Exception as exc:
                    await _failed(js, message, exc, retry_delay)
                    continue
                # Acknowledged without waiting for the server's confirmation: if the ack is lost the batch
                # comes again after ack_wait, and its events are dropped by id in the store.
                await message.ack()
                handled += count
                if on_batch:
                    on_batch(count)
        await fetcher
    finally:
        fetcher.cancel()
        # Bounded: when the worker is cancelled with the cluster busy or gone, closing must not hold up the
        # process's shutdown (a test's event loop waited on it for ever).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(nc.close(), CLOSE_TIMEOUT_S)
    return handled


async def _failed(js, message, exc: Exception, retry_delay: float) -> None:
    """A batch whose handling failed is delivered again after a delay that doubles each time (the batches behind
    it go on meanwhile); at its last delivery it is copied to the set-aside stream and taken out of this one."""
    delivered = message.metadata.num_delivered
    if delivered < MAX_DELIVER:
        logger.exception(
            "batch %s failed (delivery %d); JetStream will deliver it again", message.metadata.sequence, delivered
        )
        await message.nak(delay=min(retry_delay * 2 ** (delivered - 1), 3600))
        return
    logger.exception("batch %s failed %d times; set aside", message.metadata.sequence, delivered)
    error = f"{type(exc).__name__}: {exc}"[:1000]
    await js.publish(
        SET_ASIDE_SUBJECT,
        message.data,
        headers={"Nats-Msg-Id": f"set-aside-{message.metadata.sequence.stream}", "Attt-Error": error},
    )
    await message.term()


async def set_aside_count(servers: list[str] | None = None) -> int:
    """How many batches are in the set-aside stream."""
    nc = await connect(servers)
    try:
        return (await nc.jetstream().stream_info(SET_ASIDE_STREAM)).state.messages
    finally:
        await nc.close()


async def revive_set_aside(servers: list[str] | None = None) -> int:
    """Publish the batches set aside to the batch stream again (once what made them fail is mended) and delete
    each from the set-aside stream once it is back; one set aside meanwhile stays there. Returns how many."""
    nc = await connect(servers)
    js = nc.jetstream()
    revived = 0
    try:
        # a cluster busy electing or replicating answers the consumer's creation late: ask again
        subscription = await _retry(lambda: js.pull_subscribe(SET_ASIDE_SUBJECT, stream=SET_ASIDE_STREAM))
        while True:
            try:  # the new consumer may have no leader yet on a busy cluster (503): ask again
                messages = await _retry(lambda: subscription.fetch(16, timeout=0.5), ServiceUnavailableError)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            for message in messages:  # a new message id: the first one may still be in the duplicate window
                sequence = message.metadata.sequence.stream
                await publish(js, message.data, msg_id=f"revived-{sequence}-{time.time_ns()}")
                await message.ack()
                await js.delete_msg(SET_ASIDE_STREAM, sequence)
                revived += 1
    finally:
        await nc.close()
    return revived


def _handle_payload(payload: bytes, handle: Handler) -> int:
    with gc_paused():  # the batch's objects are freed before collection resumes: nothing to scan
        events, intact = decode_batch(payload)
        handle(events, payload if intact else None)
    return len(events)


async def _retry(make, retry_on: type[Exception] = nats.errors.Error, attempts: int = 20):
    for attempt in range(attempts):
        try:
            return await make()
        except retry_on:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.25)
    raise AssertionError("unreachable")


def run_worker(handle: Handler) -> None:
    """`attt ingest nats-worker`: consume forever."""

    async def main():
        nc = await connect()
        js = nc.jetstream()
        await ensure_stream(js)
        await ensure_consumer(js)
        await nc.close()
        await consume(conf.nats_servers(), handle)

    asyncio.run(main())
