"""The notifications queue's handler: resolve the recipient, render, send once.

Delivery is at least once (queue redelivery, the outbox sweeper's resends); the effect is once,
through a dedupe record per (dedupe key, recipient) in `directory`, partition `notifications-sent`:

    create {status: sending}      Conflict -> sent / failed: ack, nothing to do
                                            sending, younger than CLAIM_STALE_AFTER: someone is
                                              sending it right now, or died doing so: raise
                                              NotificationInFlight, so this delivery comes back
                                              later (it finds `sent`, or a stale claim it takes over)
                                            retrying / stale sending: take over (ETag-checked)
    send
      ok                   -> sent
      TransientMailError   -> retrying, and raise: the queue's visibility timeout is the back-off,
                              and after NOTIFICATION_MAX_ATTEMPTS the message is poisoned
      PermanentMailError   -> failed, logged, ack: it would never be accepted

A young `sending` claim is retried rather than acknowledged, so a worker that dies between taking
the claim and marking it sent cannot make a duplicate delivery drop the notification: its own
message comes back, and after CLAIM_STALE_AFTER (the Functions timeout, so never while the first
sender can still be running) a delivery takes over.

No recipient (no e-mail, preference off, account erased or being erased, document gone): ack
without sending. Logs name the kind, ids and outcome only: never an address, a name or a body.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from shared_code.clock import Clock, iso
from shared_code.notifications import rendering
from shared_code.notifications.contract import (
    COMMENT_CREATED, GRANT_EXPIRED, GRANT_EXPIRING, MEMBER_ADDED, SHARE_CREATED, SUBSCRIPTION_ENDING, UPLOAD_REJECTED,
)
from shared_code.notifications.outbox import validate_event
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.ports.mail import Email, MailSender, PermanentMailError, TransientMailError
from shared_code.settings import CLINICS, DIRECTORY, PATIENTS, Settings

log = logging.getLogger(__name__)

SENT_PARTITION = "notifications-sent"
CLAIM_STALE_AFTER = timedelta(minutes=10)  # host.json functionTimeout
RECORD_TTL_SECONDS = 90 * 24 * 3600  # honoured where the container has TTL switched on

CLINIC_DOC = "clinic"
ACCOUNT_DOC = "account"
# The account preference that switches each patient notification off.
PATIENT_PREFERENCE = {
    COMMENT_CREATED: "comments",
    GRANT_EXPIRING: "shareExpiring",
    GRANT_EXPIRED: "shareExpiring",
    UPLOAD_REJECTED: "uploadRejected",
}
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")


class MalformedNotification(ValueError):
    """The message is not a notification this service writes. Raised, so the host retries it and
    then parks it in the poison queue, where operations can look at it."""


class NotificationInFlight(Exception):
    """Another delivery holds a fresh claim on this notification: come back later."""


@dataclass(frozen=True)
class Recipient:
    ref: str  # an id for logs and the dedupe record: the patient, clinic or member id
    address: str
    values: dict[str, str]


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class NotificationDispatcher:
    def __init__(self, documents: DocumentStore, mail: MailSender | None, settings: Settings,
                 clock: Clock | None = None):
        self._documents = documents
        self._mail = mail
        self._portal = settings.portal_base_url.rstrip("/")
        self._clock = clock or Clock()

    # --- the handler ---
    def handle(self, body: str, dequeue_count: int = 1) -> Outcome:
        event_id, kind, data, dedupe_key = _parse(body)
        outcome = Outcome()
        recipients = self._recipients(kind, data)
        if not recipients:
            log.info("notification skipped: kind=%s event=%s reason=no-recipient attempt=%d",
                     kind, event_id, dequeue_count)
            outcome.skipped.append("-")
            return outcome
        for recipient in recipients:
            # One record per recipient where a kind has several (each admin is told once).
            record_id = _record_id(dedupe_key, recipient.ref if kind == SUBSCRIPTION_ENDING else None)
            self._deliver(kind, event_id, record_id, recipient, dequeue_count, outcome)
        return outcome

    def _deliver(self, kind: str, event_id: str, record_id: str, recipient: Recipient, attempt: int,
                 outcome: Outcome) -> None:
        claim = self._claim(record_id, kind, event_id, recipient.ref)
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
                                  html=rendered.html, dedupe_key=record_id))
        except PermanentMailError as exc:
            self._mark(claim, "failed", error=type(exc).__name__)
            log.error("notification failed permanently: kind=%s event=%s to=%s error=%s attempt=%d",
                      kind, event_id, recipient.ref, _code(exc), attempt)
            outcome.failed.append(recipient.ref)
            return
        except BaseException as exc:
            # Transient (or unexpected): release the claim for the redelivery, and let the queue retry.
            self._mark(claim, "retrying", error=type(exc).__name__)
            log.warning("notification will be retried: kind=%s event=%s to=%s error=%s attempt=%d",
                        kind, event_id, recipient.ref, type(exc).__name__, attempt)
            raise
        self._mark(claim, "sent")
        log.info("notification sent: kind=%s event=%s to=%s attempt=%d", kind, event_id, recipient.ref, attempt)
        outcome.sent.append(recipient.ref)

    # --- the dedupe record ---
    def _claim(self, record_id: str, kind: str, event_id: str, ref: str):
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
        claimed_at = _parse_time(existing.doc.get("claimedAt"))
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

    def _mark(self, claim, status: str, **extra: Any) -> None:
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

    # --- who to tell, and with what values ---
    def _recipients(self, kind: str, data: dict[str, str]) -> list[Recipient]:
        if kind in PATIENT_PREFERENCE:
            return self._patient(kind, data)
        if kind == SHARE_CREATED:
            clinic = self._doc(CLINICS, data["clinicId"], CLINIC_DOC)
            address = _address(clinic, "notificationEmail")
            if not address:
                return []
            link = f"{self._portal}/clinics/{_q(data['clinicId'])}/shares/{_q(data['grantId'])}"
            return [Recipient(data["clinicId"], address, {"clinic_name": _clinic_name(clinic), "link": link})]
        if kind == MEMBER_ADDED:
            clinic = self._doc(CLINICS, data["clinicId"], CLINIC_DOC)
            member = self._doc(CLINICS, data["clinicId"], data["memberId"])
            address = _address(member, "email")
            if not clinic or not address or member.get("status") in ("removed", "deleted"):
                return []
            link = f"{self._portal}/clinics/{_q(data['clinicId'])}"
            return [Recipient(data["memberId"], address, {"clinic_name": _clinic_name(clinic), "link": link})]
        if kind == SUBSCRIPTION_ENDING:
            clinic = self._doc(CLINICS, data["clinicId"], CLINIC_DOC)
            if not clinic:
                return []
            values = {"clinic_name": _clinic_name(clinic), "ends_on": _date(data["endsAt"]),
                      "link": f"{self._portal}/clinics/{_q(data['clinicId'])}"}
            recipients = []
            for member in self._clinic_admins(data["clinicId"]):
                address = _address(member, "email")
                if address and member.get("status") not in ("removed", "deleted"):
                    recipients.append(Recipient(member["id"], address, values))
            return recipients
        raise MalformedNotification(f"no recipient rule for {kind}")

    def _patient(self, kind: str, data: dict[str, str]) -> list[Recipient]:
        account = self._doc(PATIENTS, data["patientId"], ACCOUNT_DOC)
        if not account or account.get("status", "active") != "active":
            return []
        preferences = account.get("notificationPreferences") or {}
        if preferences.get(PATIENT_PREFERENCE[kind], True) is False:
            return []
        address = _address(account, "email")
        if not address:
            return []
        values = {"reason_sentence": rendering.rejection_sentence(data["reason"])} if kind == UPLOAD_REJECTED else {}
        return [Recipient(data["patientId"], address, values)]

    def _doc(self, container: str, partition_key: str, id: str) -> dict[str, Any] | None:
        try:
            return self._documents.read(container, partition_key, id).doc
        except NotFound:
            return None

    def _clinic_admins(self, clinic_id: str):
        continuation = None
        while True:
            query = Query(clinic_id, {"type": "member", "role": "clinic_admin"}, limit=200, continuation=continuation)
            page = self._documents.query(CLINICS, query)
            for stored in page.items:
                yield stored.doc
            if not page.continuation:
                return
            continuation = page.continuation


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


def _record_id(dedupe_key: str, ref: str | None) -> str:
    raw = dedupe_key if ref is None else f"{dedupe_key}.{ref}"
    if _SAFE_ID.match(raw):
        return raw
    return "k_" + hashlib.sha256(raw.encode()).hexdigest()


def _address(doc: dict[str, Any] | None, name: str) -> str | None:
    value = (doc or {}).get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if "@" in value and not re.search(r"[\s\x00-\x1f\x7f]", value) else None


def _clinic_name(clinic: dict[str, Any] | None) -> str:
    name = (clinic or {}).get("name") or (clinic or {}).get("displayName")
    return name if isinstance(name, str) and name.strip() else "your clinic"


def _date(value: str) -> str:
    moment = _parse_time(value)
    return f"{moment.day} {moment:%B %Y}" if moment else value


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _q(value: str) -> str:
    return quote(value, safe="")


def _code(exc: Exception) -> str:
    return getattr(exc, "code", None) or type(exc).__name__
