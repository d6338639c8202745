"""The ingest worker loop: take batches from the spool, enrich, store, hand to consumers, then release them
from the spool. Pure Python over the spool and the store (no Django), so `attt ingest worker`, the kill -9
test and the benchmarks run the same code. `python -m attt.monitoring.worker SPOOL STORE` runs it bare."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from attt.monitoring.enrich import EnrichmentIndex
from attt.monitoring.normalise import decode_batch, gc_paused
from attt.monitoring.pipeline import NormalisedEvent, hand_over
from attt.monitoring.spool import Spool
from attt.monitoring.store import SQLiteEventStore

logger = logging.getLogger(__name__)


def process(
    events: list[NormalisedEvent],
    store: SQLiteEventStore,
    index: EnrichmentIndex | None,
    deliver: Callable[[list[NormalisedEvent]], None] = hand_over,
    frame: bytes | None = None,
) -> int:
    """Enrich, store (repeats by id are skipped), deliver. Returns the number of new events. `frame`: the batch's
    wire form when it holds exactly these events (the store keeps its compressed lines as they are)."""
    if index is not None:
        index.enrich(events)
    added = store.insert(events, frame)
    deliver(events)
    return added


def _process_payload(payload: bytes, store, index, deliver) -> tuple[int, int]:
    """(events, new events) of one encoded batch; its events die on return."""
    events, intact = decode_batch(payload)
    return len(events), process(events, store, index, deliver, payload if intact else None)


PASS_S = 60.0  # a following worker starts a new pass (retrying failed batches whose wait is over) at least this often


def drain(
    spool: Spool,
    store: SQLiteEventStore,
    index: Callable[[], EnrichmentIndex] | None = None,
    *,
    deliver: Callable[[list[NormalisedEvent]], None] = hand_over,
    follow: bool = False,
    idle_sleep: float = 0.2,
    on_batch: Callable[[int, int], None] | None = None,
    before_batch: Callable[[], None] | None = None,
) -> int:
    """Process spooled batches until the spool is empty (or forever with `follow`). Returns events processed.
    `index` gives the enrichment index as it is now, asked before each batch (a worker that follows the spool for
    days sees the registry's changes); `before_batch` runs before each batch (a Django process checks its
    connection there)."""
    processed = 0
    after, pass_started = 0, time.monotonic()  # a pass takes batches in id order, each once
    while True:
        if follow and time.monotonic() - pass_started > PASS_S:  # a steady inflow never leaves the spool empty
            after, pass_started = 0, time.monotonic()
        claimed = spool.claim(after=after)
        if not claimed:
            if not follow:
                return processed
            after, pass_started = 0, time.monotonic()  # idle: failed batches may be taken again once their wait is over
            time.sleep(idle_sleep)
            continue
        for batch_id, _source, payload in claimed:
            after = max(after, batch_id)
            try:
                if before_batch:
                    before_batch()
                current = index() if index else None
                with gc_paused():  # the batch's objects are freed before collection resumes: nothing to scan
                    count, added = _process_payload(payload, store, current, deliver)
            except Exception as exc:  # this batch waits for another attempt; the ones behind it go on
                logger.exception("spool batch %s failed; it will be tried again later", batch_id)
                spool.release(batch_id, f"{type(exc).__name__}: {exc}")
                continue
            spool.done(batch_id)
            processed += count
            if on_batch:
                on_batch(batch_id, added)


if __name__ == "__main__":  # a bare worker: python -m attt.monitoring.worker SPOOL STORE [LEASE]
    lease = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    total = drain(Spool(sys.argv[1], lease_seconds=lease), SQLiteEventStore(sys.argv[2]), deliver=lambda events: None)
    print(total, flush=True)
