"""The notifications queue's handler: resolve the recipient, render, send once.

Delivery is at least once (queue redelivery, the outbox sweeper's resends); the effect is once,
through a dedupe record per (dedupe key, recipient) (sent.py), claimed before the send:

    claim                  None (sent or failed already): ack, nothing to do;
                           NotificationInFlight (a fresh claim elsewhere): this delivery comes back
                           later (it finds `sent`, or a stale claim it takes over)
    send
      ok                   -> sent
      TransientMailError   -> retrying, and raise: the queue's visibility timeout is the back-off,
                              and after NOTIFICATION_MAX_ATTEMPTS the message is poisoned
      PermanentMailError   -> failed, logged, ack: it would never be accepted

A young `sending` claim is retried rather than acknowledged, so a worker that dies between taking
the claim and marking it sent cannot make a duplicate delivery drop the notification: its own
message comes back, and after CLAIM_STALE_AFTER (the Functions timeout, so never while the first
sender can still be running) a delivery takes over.

Rejection mails are limited: a patient gets at most UPLOAD_REJECTED_MAILS_PER_DAY `upload.rejected`
mails a UTC day (a phone retrying a broken file must not flood an inbox, nor be a way to mail an
address over and over). `DailyQuota` keeps one slot document per mail (`directory` / `mail-quota`),
each naming the dedupe record that took it, so a redelivery finds its own slot, never a second one.

No recipient (recipients.py: no e-mail, preference off, account erased or being erased, document
gone): ack without sending. Logs name the kind, ids and outcome only: never an address, a name or a body.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from shared_code.clock import Clock
from shared_code.notifications import rendering
from shared_code.notifications.contract import (
    REFERRAL_OVERDUE, SUBSCRIPTION_ENDING, UPLOAD_REJECTED, validate_event,
)
from shared_code.notifications.recipients import MalformedNotification, Recipient, Recipients
from shared_code.notifications.sent import SENT_PARTITION, NotificationInFlight, SentRecords, record_id
from shared_code.ports.documents import DocumentStore
from shared_code.ports.errors import Conflict, NotFound
from shared_code.ports.mail import Email, MailSender, PermanentMailError, TransientMailError
from shared_code.settings import DIRECTORY, Settings
from shared_code.telemetry import metrics

log = logging.getLogger(__name__)

QUOTA_PARTITION = "mail-quota"
QUOTA_TTL_SECONDS = 2 * 24 * 3600  # a slot matters for its day only

__all__ = ["SENT_PARTITION", "MalformedNotification", "NotificationDispatcher", "NotificationInFlight", "Outcome",
           "handle_notification"]


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class NotificationDispatcher:
    def __init__(self, documents: DocumentStore, mail: MailSender | None, settings: Settings,
                 clock: Clock | None = None):
        self._mail = mail
        self._recipients = Recipients(documents, settings.portal_base_url, settings.app_link_base_url)
        self._sent = SentRecords(documents, clock or Clock())
        self._rejection_quota = DailyQuota(documents, clock or Clock(), settings.upload_rejected_mails_per_day)

    # --- the handler ---
    def handle(self, body: str, dequeue_count: int = 1) -> Outcome:
        event_id, kind, data, dedupe_key = _parse(body)
        outcome = Outcome()
        recipients = self._recipients.of(kind, data)
        if not recipients:
            log.info("notification skipped: kind=%s event=%s reason=no-recipient attempt=%d",
                     kind, event_id, dequeue_count)
            outcome.skipped.append("-")
            return outcome
        for recipient in recipients:
            # One record per recipient where a kind has several (each admin is told once).
            record = record_id(dedupe_key, recipient.ref if kind in (SUBSCRIPTION_ENDING, REFERRAL_OVERDUE) else None)
            if kind == UPLOAD_REJECTED and not self._rejection_quota.take(kind, recipient.ref, record):
                log.info("notification skipped: kind=%s event=%s to=%s reason=daily-limit attempt=%d",
                         kind, event_id, recipient.ref, dequeue_count)
                outcome.skipped.append(recipient.ref)
                continue
            self._deliver(kind, event_id, record, recipient, dequeue_count, outcome)
        return outcome

    def _deliver(self, kind: str, event_id: str, record: str, recipient: Recipient, attempt: int,
                 outcome: Outcome) -> None:
        claim = self._sent.claim(record, kind, event_id, recipient.ref)
        if claim is None:
            log.info("notification skipped: kind=%s event=%s to=%s reason=already-done attempt=%d",
                     kind, event_id, recipient.ref, attempt)
            outcome.skipped.append(recipient.ref)
            return
        try:
            if self._mail is None:
                raise TransientMailError("no mail sender is configured")
            rendered = rendering.render(kind, recipient.values)
            self._mail.send(Email(to=recipient.address, subject=rendered.subject, text=rendered.text,
                                  html=rendered.html, dedupe_key=record))
        except PermanentMailError as exc:
            self._sent.mark(claim, "failed", error=type(exc).__name__)
            log.error("notification failed permanently: kind=%s event=%s to=%s error=%s attempt=%d",
                      kind, event_id, recipient.ref, _code(exc), attempt)
            outcome.failed.append(recipient.ref)
            metrics.notification("failed", kind)
            return
        except BaseException as exc:
            # Transient (or unexpected): release the claim for the redelivery, and let the queue retry.
            self._sent.mark(claim, "retrying", error=type(exc).__name__)
            log.warning("notification will be retried: kind=%s event=%s to=%s error=%s attempt=%d",
                        kind, event_id, recipient.ref, type(exc).__name__, attempt)
            metrics.notification("retried", kind)
            raise
        self._sent.mark(claim, "sent")
        log.info("notification sent: kind=%s event=%s to=%s attempt=%d", kind, event_id, recipient.ref, attempt)
        outcome.sent.append(recipient.ref)
        metrics.notification("sent", kind)


class DailyQuota:
    """At most `limit` mails of a kind to one recipient per UTC day."""

    def __init__(self, documents: DocumentStore, clock: Clock, limit: int):
        self._documents = documents
        self._clock = clock
        self._limit = limit

    def take(self, kind: str, ref: str, record: str) -> bool:
        """True when `record` holds (or now takes) one of the day's slots."""
        day = self._clock.now().date().isoformat()
        for n in range(self._limit):
            slot = {"id": f"{kind}.{ref}.{day}.{n}", "type": "mail-quota", "record": record,
                    "ttl": QUOTA_TTL_SECONDS}
            try:
                self._documents.create(DIRECTORY, QUOTA_PARTITION, slot)
                return True
            except Conflict:
                pass
            try:
                if self._documents.read(DIRECTORY, QUOTA_PARTITION, slot["id"]).doc.get("record") == record:
                    return True  # a redelivery of the mail that took this slot
            except NotFound:
                continue
        return False


def handle_notification(container_like: Any, body: str, dequeue_count: int) -> Outcome:
    """What the queue trigger (Azure) and the local pump call for each message. Returning acks the
    message; raising leaves it for redelivery (and, after the last attempt, the poison queue)."""
    return container_like.notifications.handle(body, dequeue_count)


def _parse(body: str) -> tuple[str, str, dict[str, str], str]:
    try:
        message = json.loads(body)
        event_id, kind, data = message["eventId"], message["kind"], message["data"]
        dedupe_key = message.get("dedupeKey") or event_id
        if not isinstance(event_id, str) or not isinstance(dedupe_key, str) or not isinstance(data, dict):
            raise TypeError("field types")
        validate_event(kind, data)
    except (ValueError, KeyError, TypeError) as exc:
        # The body is not repeated: a malformed message could hold anything.
        raise MalformedNotification(f"not a notification message ({type(exc).__name__})") from None
    return event_id, kind, data, dedupe_key


def _code(exc: Exception) -> str:
    return getattr(exc, "code", None) or type(exc).__name__
