"""The transactional outbox: a change and its notification in one logical step, on the DocumentStore.

    emit(kind, data, source, write)
      1. marker   directory / outbox / <eventId>   {kind, data, source, dedupeKey, createdAt}
      2. write(eventId)   the domain write, which also stores eventId in the source's `events` list
      3. send     the queue message {eventId, kind, data, dedupeKey}   (one attempt, errors swallowed)
      4. delete the marker

Crash between 1 and 2 (or `write` raises): the source never names the event, so the sweeper deletes
the marker after MARKER_ABANDON_AFTER and nothing is ever sent. Crash between 2 and 3 (or the queue
is down): the sweeper finds the marker, sees the event id in the source and sends. Crash between 3
and 4: the sweeper sends again, and the dispatcher's dedupe record makes the effect once.

Messages carry ids only; the dispatcher resolves who to tell, and how, when it sends.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from shared_code import paging
from shared_code.clock import Clock, iso, parse_time
from shared_code.errors import DomainError
from shared_code.ids import new_id
from shared_code.notifications.contract import SourceRef, validate_event
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import NotFound, StoreError
from shared_code.ports.queues import MessageQueue
from shared_code.settings import DIRECTORY, NOTIFICATIONS_QUEUE

log = logging.getLogger(__name__)

OUTBOX_PARTITION = "outbox"
# A marker younger than this may belong to a request still in flight: the sweeper leaves it alone.
SWEEP_MIN_AGE = timedelta(seconds=30)
# A marker whose source never named its event after this long: the write never happened.
MARKER_ABANDON_AFTER = timedelta(minutes=10)
# Errors after which the write certainly did not happen (refused by the domain or by an ETag/exists
# check), so the marker can go at once. (The audit trail's pending markers use the same rules.)
DEFINITELY_NOT_WRITTEN = (DomainError, StoreError, ValueError)
# How many event ids a source document keeps (see `record_event`).
EVENTS_KEPT = 50

def with_event(events: list[str] | None, event_id: str) -> list[str]:
    """The one rule for a source's event list: `event_id` appended once, the newest EVENTS_KEPT kept."""
    return [*[e for e in events or [] if e != event_id][-(EVENTS_KEPT - 1):], event_id]


def record_event(doc: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The helper for `write(event_id)`: `doc` with `event_id` in its `events` list (`with_event`),
    ready to be created or replaced in the same write."""
    return {**doc, "events": with_event(doc.get("events"), event_id)}


def message_body(event_id: str, kind: str, data: dict[str, Any], dedupe_key: str) -> str:
    return json.dumps({"eventId": event_id, "kind": kind, "data": data, "dedupeKey": dedupe_key},
                      separators=(",", ":"), sort_keys=True)


@dataclass
class SweepResult:
    sent: int = 0
    abandoned: int = 0
    waiting: int = 0
    failed: int = 0


class DocumentOutbox:
    """Implements contract.Outbox on the DocumentStore and MessageQueue ports.

    `emit_queue` is what the request path sends through: one attempt, no retry sleeps (the queue
    port's `single_attempt()`); the sweeper uses `queue`, whose retries are fine in a timer."""

    def __init__(self, documents: DocumentStore, queue: MessageQueue, clock: Clock | None = None,
                 *, emit_queue: MessageQueue | None = None):
        self._documents = documents
        self._queue = queue
        self._clock = clock or Clock()
        self._emit_queue = emit_queue if emit_queue is not None else queue.single_attempt()

    # --- the request path ---
    def emit(self, kind: str, data: dict[str, Any], source: SourceRef,
             write: Callable[[str], Any], *, dedupe_key: str | None = None) -> Any:
        validate_event(kind, data)
        event_id = new_id("evt")
        marker = {
            "id": event_id, "type": "outbox", "kind": kind, "data": dict(data),
            "source": {"container": source.container, "partitionKey": source.partition_key, "id": source.id},
            "dedupeKey": dedupe_key or event_id, "createdAt": iso(self._clock.now()),
        }
        # If the marker cannot be written the request fails before its write: never a silent loss.
        self._documents.create(DIRECTORY, OUTBOX_PARTITION, marker)
        try:
            result = write(event_id)
        except DEFINITELY_NOT_WRITTEN:
            # The write was refused: no notification. (If this delete fails, the sweeper removes it.)
            self._delete_marker(event_id, quiet=True)
            raise
        # Any other error (a timeout, a crash) may have hidden a write that happened: the marker
        # stays, and the sweeper decides from the source document whether to send.
        self._publish(marker, self._emit_queue, swallow=True)
        return result

    # --- the timer ---
    def sweep(self, *, batch: int = 100) -> SweepResult:
        """Queue what a crash left unsent; drop markers whose write never happened."""
        now = self._clock.now()
        result = SweepResult()
        query = Query(OUTBOX_PARTITION, {"type": "outbox"}, order_by="createdAt", limit=batch)
        for stored in paging.every(self._documents, DIRECTORY, query):
            marker = stored.doc
            age = now - _created(marker, now)
            if age < SWEEP_MIN_AGE:
                # Oldest first: every marker after this one is younger still.
                result.waiting += 1
                break
            self._sweep_one(marker, age, result)
        return _logged(result)

    def _sweep_one(self, marker: dict[str, Any], age: timedelta, result: SweepResult) -> None:
        event_id = marker["id"]
        source = marker.get("source") or {}
        try:
            doc = self._documents.read(source["container"], source["partitionKey"], source["id"]).doc
            written = event_id in (doc.get("events") or [])
        except NotFound:
            written = False
        except KeyError:
            written = False
        if written:
            if self._publish(marker, self._queue, swallow=True):
                result.sent += 1
            else:
                result.failed += 1
        elif age >= MARKER_ABANDON_AFTER:
            self._delete_marker(event_id, quiet=True)
            result.abandoned += 1
            log.info("outbox marker abandoned: kind=%s event=%s (its write never happened)",
                     marker.get("kind"), event_id)
        else:
            result.waiting += 1

    # --- shared ---
    def _publish(self, marker: dict[str, Any], queue: MessageQueue, *, swallow: bool) -> bool:
        event_id, kind = marker["id"], marker["kind"]
        body = message_body(event_id, kind, marker["data"], marker.get("dedupeKey") or event_id)
        try:
            queue.send(NOTIFICATIONS_QUEUE, body)
        except Exception as exc:  # noqa: BLE001 - a notification never fails the request that caused it
            if not swallow:
                raise
            log.warning("notification not queued yet: kind=%s event=%s error=%s (the outbox sweeper retries)",
                        kind, event_id, type(exc).__name__)
            return False
        self._delete_marker(event_id, quiet=True)
        log.info("notification queued: kind=%s event=%s", kind, event_id)
        return True

    def _delete_marker(self, event_id: str, *, quiet: bool) -> None:
        try:
            self._documents.delete(DIRECTORY, OUTBOX_PARTITION, event_id)
        except NotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - a left-over marker only means one more (deduplicated) send
            if not quiet:
                raise
            log.warning("outbox marker not deleted: event=%s error=%s", event_id, type(exc).__name__)


def sweep_outbox(container_like: Any) -> SweepResult:
    """What the timer trigger (every minute in Azure, every 30 s locally) runs."""
    return container_like.outbox.sweep()


def _created(marker: dict[str, Any], now: datetime) -> datetime:
    try:
        return parse_time(marker["createdAt"])
    except (KeyError, AttributeError, ValueError):
        return now - MARKER_ABANDON_AFTER  # unreadable: treat as old enough to decide on


def _logged(result: SweepResult) -> SweepResult:
    if result.sent or result.abandoned or result.failed:
        log.info("outbox swept: sent=%d abandoned=%d failed=%d waiting=%d",
                 result.sent, result.abandoned, result.failed, result.waiting)
    return result
