"""The scheduled work that keeps grants honest: telling patients that a share ends soon or has
ended, and clinic admins that their subscription ends soon.

A grant's status is never stored (grants.py computes it against the clock at every check); these
jobs only record that the patient has been told, and tell them.

Finding the work is never a cross-partition scan. Two single-partition queries in `directory`:

- partition `grant-expiry`, one document per grant, id = grantId:
      {type: grant-expiry, grantId, clinicId, patientId, expiresAt, createdAt, expiringNotified}
  Ids and times only. GrantService.create writes it before the patient's copy of the grant (an
  entry whose grant never came to be is harmless: the job drops it when it finds no grant), and
  GrantService revocation deletes it; the jobs delete it once the expiry is handled, or when the
  grant turns out revoked or gone. The port has no range filters, so the jobs read it ordered by
  `expiresAt`, ascending, and stop at the first entry past their window: the order is the bound.
- partition `clinics` (clinics.py's copy of every clinic), ordered by `subscriptionEndsAt`.

An entry only says where to look. What decides is the document the notification belongs to, read
by point read and written back with its ETag, which is the claim:

- grants: the patient's copy (`patients` / patientId / grantId, `type: share`) gets
  `expiringNotifiedAt` or `expiredNotifiedAt`, and the event id in its `events` list, in one
  if-match replace inside DocumentOutbox.emit. Two instances reading the same version both try;
  one replace wins, the other raises PreconditionFailed, so the outbox drops its marker and queues
  nothing. The dispatcher's dedupe record (key `grant.expiring:<grantId>`, `grant.expired:<grantId>`)
  makes redeliveries and the sweeper's resends one mail.
- subscriptions: the clinic document (`clinics` / clinicId / `clinic`) gets
  `subscriptionEndingNotifiedFor: <subscriptionEndsAt>`, the same way. A renewal changes
  `subscriptionEndsAt`, so a subscription that comes to its end again is warned again; the
  dedupe key `subscription.ending:<clinicId>:<endsAt>` says the same to the dispatcher.

A write that loses to another (a revocation, an admin's patch, the other instance) is retried from
a fresh read a few times; what is still busy is left to the next run. Every step is idempotent, so
a crash anywhere only means the next run does the rest."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from shared_code.clock import Clock, iso
from shared_code.notifications.contract import (
    GRANT_EXPIRED,
    GRANT_EXPIRING,
    SUBSCRIPTION_ENDING,
    SourceRef,
)
from shared_code.notifications.outbox import record_event
from shared_code.ports.documents import DocumentStore, Query, Stored
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import CLINICS, DIRECTORY, PATIENTS
from shared_code.sharing.clinics import CLINIC_DOC_ID
from shared_code.sharing.clinics import INDEX_PARTITION as CLINIC_INDEX_PARTITION
from shared_code.sharing.events import OutboxProvider
from shared_code.sharing.store import parse_time

log = logging.getLogger(__name__)

EXPIRY_PARTITION = "grant-expiry"
EXPIRY_TYPE = "grant-expiry"
EXPIRING_WITHIN = timedelta(hours=48)
SUBSCRIPTION_ENDING_WITHIN = timedelta(days=30)
_ATTEMPTS = 3  # fresh reads per document before leaving it to the next run
_BATCH = 100


class ExpiryIndex:
    """The `directory` / `grant-expiry` entries, as GrantService writes and deletes them."""

    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def add(self, grant_id: str, clinic_id: str, patient_id: str, expires_at: str, created_at: str) -> None:
        doc = {"id": grant_id, "type": EXPIRY_TYPE, "grantId": grant_id, "clinicId": clinic_id,
               "patientId": patient_id, "expiresAt": expires_at, "createdAt": created_at,
               "expiringNotified": False}
        try:
            self._documents.create(DIRECTORY, EXPIRY_PARTITION, doc)
        except Conflict:
            pass  # grant ids are new: only a retried create of the same grant gets here

    def remove(self, grant_id: str) -> None:
        """Best effort: a left-over entry is dropped by the next job run that reaches it."""
        try:
            self._documents.delete(DIRECTORY, EXPIRY_PARTITION, grant_id)
        except NotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - the grant's own documents already say what happened
            log.warning("grant expiry entry not deleted: grant=%s error=%s", grant_id, type(exc).__name__)


class GrantExpiryJobs:
    def __init__(self, documents: DocumentStore, clock: Clock, outbox: OutboxProvider):
        self._documents = documents
        self._clock = clock
        self._outbox = outbox
        self.index = ExpiryIndex(documents)

    def _emit(self, kind: str, data: dict[str, str], source: SourceRef, dedupe_key: str,
              write: Callable[[str], Any]) -> Any:
        return self._outbox().emit(kind, data, source, write, dedupe_key=dedupe_key)

    # --- grants ---
    def mark_expired(self) -> int:
        """Every grant whose expiresAt has passed: `expiredNotifiedAt` on the patient's copy and one
        `grant.expired` to the patient, unless revoked. Returns how many were notified now."""
        now = self._clock.now()
        notified = 0
        for entry in self._entries({"type": EXPIRY_TYPE}):
            if parse_time(entry.doc["expiresAt"]) > now:
                break  # ascending: everything after this expires later still
            notified += self._handle_expired(entry.doc, now)
        if notified:
            log.info("expired grants notified: %d", notified)
        return notified

    def warn_expiring(self) -> int:
        """Active grants expiring within EXPIRING_WITHIN: one `grant.expiring` to the patient, unless
        revoked or already expired. Returns how many were warned now."""
        now = self._clock.now()
        until = now + EXPIRING_WITHIN
        warned = 0
        for entry in self._entries({"type": EXPIRY_TYPE, "expiringNotified": False}):
            expires = parse_time(entry.doc["expiresAt"])
            if expires <= now:
                continue  # expired: mark_expired's business
            if expires > until:
                break
            warned += self._handle_expiring(entry, now)
        if warned:
            log.info("expiring grants warned: %d", warned)
        return warned

    def _handle_expired(self, entry: dict[str, Any], now: datetime) -> int:
        grant_id, patient_id = entry["grantId"], entry["patientId"]
        for _ in range(_ATTEMPTS):
            share = self._share(patient_id, grant_id)
            if share is None or share.doc.get("revokedAt") or share.doc.get("expiredNotifiedAt"):
                self.index.remove(grant_id)  # gone, revoked, or told already: nothing left to do
                return 0
            if now < parse_time(share.doc["expiresAt"]):
                return 0  # the entry disagrees with the grant: the grant decides
            try:
                self._emit(GRANT_EXPIRED, {"patientId": patient_id, "grantId": grant_id},
                           SourceRef(PATIENTS, patient_id, grant_id), f"{GRANT_EXPIRED}:{grant_id}",
                           self._claim(PATIENTS, patient_id, share, {"expiredNotifiedAt": iso(now)}))
            except (PreconditionFailed, NotFound):
                continue  # another instance, or a revocation, wrote first: look again
            self.index.remove(grant_id)
            return 1
        log.info("grant expiry busy, left to the next run: grant=%s", grant_id)
        return 0

    def _handle_expiring(self, entry: Stored, now: datetime) -> int:
        grant_id, patient_id = entry.doc["grantId"], entry.doc["patientId"]
        for _ in range(_ATTEMPTS):
            share = self._share(patient_id, grant_id)
            if share is None or share.doc.get("revokedAt"):
                self.index.remove(grant_id)
                return 0
            if now >= parse_time(share.doc["expiresAt"]):
                return 0  # expired after all: mark_expired tells the patient that instead
            if share.doc.get("expiringNotifiedAt"):
                self._mark_warned(entry)  # told already (a crash came between the two writes)
                return 0
            try:
                self._emit(GRANT_EXPIRING, {"patientId": patient_id, "grantId": grant_id},
                           SourceRef(PATIENTS, patient_id, grant_id), f"{GRANT_EXPIRING}:{grant_id}",
                           self._claim(PATIENTS, patient_id, share, {"expiringNotifiedAt": iso(now)}))
            except (PreconditionFailed, NotFound):
                continue
            self._mark_warned(entry)
            return 1
        log.info("grant expiry warning busy, left to the next run: grant=%s", grant_id)
        return 0

    def _share(self, patient_id: str, grant_id: str) -> Stored | None:
        try:
            stored = self._documents.read(PATIENTS, patient_id, grant_id)
        except NotFound:
            return None
        return stored if stored.doc.get("type") == "share" else None

    def _mark_warned(self, entry: Stored) -> None:
        try:
            self._documents.replace(DIRECTORY, EXPIRY_PARTITION, {**entry.doc, "expiringNotified": True},
                                    if_match=entry.etag)
        except (PreconditionFailed, NotFound):
            pass  # changed or gone meanwhile: the next run reads the grant again and settles it

    # --- subscriptions ---
    def warn_subscriptions_ending(self) -> int:
        """Clinics whose subscription ends within SUBSCRIPTION_ENDING_WITHIN: one
        `subscription.ending` (to every clinic_admin) per subscriptionEndsAt value. Returns how many
        clinics were warned now."""
        now = self._clock.now()
        until = now + SUBSCRIPTION_ENDING_WITHIN
        warned = 0
        for entry in self._entries({"type": "clinic-index"}, partition=CLINIC_INDEX_PARTITION,
                                   order_by="subscriptionEndsAt"):
            ends = parse_time(entry.doc["subscriptionEndsAt"])
            if ends <= now:
                continue  # ended already
            if ends > until:
                break
            warned += self._handle_subscription(entry.doc["clinicId"], now, until)
        if warned:
            log.info("clinics warned of their subscription ending: %d", warned)
        return warned

    def _handle_subscription(self, clinic_id: str, now: datetime, until: datetime) -> int:
        for _ in range(_ATTEMPTS):
            try:
                clinic = self._documents.read(CLINICS, clinic_id, CLINIC_DOC_ID)
            except NotFound:
                return 0
            ends_at = clinic.doc.get("subscriptionEndsAt")
            if not ends_at or not now < parse_time(ends_at) <= until:
                return 0  # the directory copy is behind: the clinic document decides
            if clinic.doc.get("subscriptionEndingNotifiedFor") == ends_at:
                return 0
            try:
                self._emit(SUBSCRIPTION_ENDING, {"clinicId": clinic_id, "endsAt": ends_at},
                           SourceRef(CLINICS, clinic_id, CLINIC_DOC_ID),
                           f"{SUBSCRIPTION_ENDING}:{clinic_id}:{ends_at}",
                           self._claim(CLINICS, clinic_id, clinic, {"subscriptionEndingNotifiedFor": ends_at}))
            except (PreconditionFailed, NotFound):
                continue
            return 1
        log.info("subscription warning busy, left to the next run: clinic=%s", clinic_id)
        return 0

    # --- shared ---
    def _claim(self, container: str, partition_key: str, stored: Stored,
               fields: dict[str, Any]) -> Callable[[str], Stored]:
        """The `write(event_id)` for the outbox: the ETag-guarded replace that is the claim."""
        def write(event_id: str) -> Stored:
            doc = record_event({**stored.doc, **fields}, event_id)
            return self._documents.replace(container, partition_key, doc, if_match=stored.etag)

        return write

    def _entries(self, equals: dict[str, Any], *, partition: str = EXPIRY_PARTITION,
                 order_by: str = "expiresAt") -> Iterator[Stored]:
        """One single-partition query in `directory`, ascending, page by page (the caller stops)."""
        continuation = None
        while True:
            page = self._documents.query(DIRECTORY, Query(partition, equals, order_by=order_by, limit=_BATCH,
                                                          continuation=continuation))
            yield from page.items
            if not page.continuation:
                return
            continuation = page.continuation
