"""The dedupe records that make a notification's effect once: `directory` / `notifications-sent` /
one record per (dedupe key, recipient), written by the dispatcher around each send.

    claim      create {status: sending}; on Conflict read the record:
                 sent / failed                    -> None: nothing to do
                 sending, younger than CLAIM_STALE_AFTER
                                                  -> NotificationInFlight (someone is sending it now,
                                                     or died doing so: this delivery comes back later)
                 retrying / stale sending         -> take it over (ETag-checked)
    mark       the outcome (sent, failed, retrying) on the claim, if it is still ours

Records carry ids, kinds and outcomes only (never an address); where the container has TTL on,
they expire after RECORD_TTL_SECONDS."""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from typing import Any

from shared_code.clock import Clock, iso, parse_time
from shared_code.ports.documents import DocumentStore, Stored
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import DIRECTORY

log = logging.getLogger(__name__)

SENT_PARTITION = "notifications-sent"
CLAIM_STALE_AFTER = timedelta(minutes=10)  # host.json functionTimeout
RECORD_TTL_SECONDS = 90 * 24 * 3600  # honoured where the container has TTL switched on
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")


class NotificationInFlight(Exception):
    """Another delivery holds a fresh claim on this notification: come back later."""


def record_id(dedupe_key: str, ref: str | None) -> str:
    """The record's id: the dedupe key (and the recipient, where a kind has several)."""
    raw = dedupe_key if ref is None else f"{dedupe_key}.{ref}"
    if _SAFE_ID.match(raw):
        return raw
    return "k_" + hashlib.sha256(raw.encode()).hexdigest()


class SentRecords:
    def __init__(self, documents: DocumentStore, clock: Clock):
        self._documents = documents
        self._clock = clock

    def claim(self, record_id: str, kind: str, event_id: str, ref: str) -> Stored | None:
        """The claim to send, or None when the notification is done already."""
        now = self._clock.now()
        doc = {"id": record_id, "type": "notification", "status": "sending", "kind": kind, "eventId": event_id,
               "recipientRef": ref, "claimedAt": iso(now), "attempts": 1, "ttl": RECORD_TTL_SECONDS}
        try:
            return self._documents.create(DIRECTORY, SENT_PARTITION, doc)
        except Conflict:
            pass
        try:
            existing = self._documents.read(DIRECTORY, SENT_PARTITION, record_id)
        except NotFound:
            raise NotificationInFlight(record_id) from None  # deleted between our create and read
        status = existing.doc.get("status")
        if status in ("sent", "failed"):
            return None
        claimed_at = _time(existing.doc.get("claimedAt"))
        if status == "sending" and claimed_at is not None and now - claimed_at < CLAIM_STALE_AFTER:
            log.info("notification in flight elsewhere: kind=%s event=%s to=%s", kind, event_id, ref)
            raise NotificationInFlight(record_id)
        taken = {**existing.doc, "status": "sending", "claimedAt": iso(now), "eventId": event_id,
                 "attempts": int(existing.doc.get("attempts") or 0) + 1}
        taken.pop("error", None)
        try:
            return self._documents.replace(DIRECTORY, SENT_PARTITION, taken, if_match=existing.etag)
        except (PreconditionFailed, NotFound):
            raise NotificationInFlight(record_id) from None

    def mark(self, claim: Stored, status: str, **extra: Any) -> None:
        doc = {**claim.doc, "status": status, **extra}
        if status == "sent":
            doc["sentAt"] = iso(self._clock.now())
        try:
            self._documents.replace(DIRECTORY, SENT_PARTITION, doc, if_match=claim.etag)
        except PreconditionFailed:
            pass  # taken over after going stale: the newer claim's holder records the outcome
        except Exception as exc:  # noqa: BLE001 - the mail's fate is decided; don't turn it into a retry
            log.warning("notification record not updated: id=%s status=%s error=%s",
                        claim.doc.get("id"), status, type(exc).__name__)


def _time(value: Any):
    """An unreadable claim time counts as stale: the claim is taken over."""
    try:
        return parse_time(value)
    except (AttributeError, TypeError, ValueError):
        return None
