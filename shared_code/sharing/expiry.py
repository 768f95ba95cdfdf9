"""The scheduled work that keeps grants honest: telling patients that a share ends soon or has
ended, and clinic admins that their subscription ends soon.

A grant's status is never stored (records.GrantTerms.status_at computes it); these jobs only record
that the patient has been told, and tell them. Finding the work is never a cross-partition scan:
the `ExpiryEntry`s (grant_repository.ExpiryIndex) and the `ClinicListing`s (ordered by
`subscriptionEndsAt`) are single-partition queries in `directory`, read in order until the first
entry past the window.

An entry only says where to look. What decides is the record the notification belongs to, read by
point read and written back with its ETag, which is the claim:

- grants: the patient's `Share` gets `expiringNotifiedAt` or `expiredNotifiedAt`, and the event id
  in its `events` list, in one if-match replace inside DocumentOutbox.emit. Two instances reading
  the same version both try; one replace wins, the other raises PreconditionFailed, so the outbox
  drops its marker and queues nothing. The dispatcher's dedupe record (key `grant.expiring:<grantId>`,
  `grant.expired:<grantId>`) makes redeliveries and the sweeper's resends one mail.
- subscriptions: the `Clinic` gets `subscriptionEndingNotifiedFor: <subscriptionEndsAt>`, the same
  way. A renewal changes `subscriptionEndsAt`, so a subscription that comes to its end again is
  warned again; the dedupe key `subscription.ending:<clinicId>:<endsAt>` says the same.

A write that loses to another (a revocation, an admin's patch, the other instance) is retried from
a fresh read a few times; what is still busy is left to the next run. Every step is idempotent, so
a crash anywhere only means the next run does the rest."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from shared_code.clock import Clock, iso, parse_time
from shared_code.notifications.contract import GRANT_EXPIRED, GRANT_EXPIRING, SUBSCRIPTION_ENDING, Outbox, SourceRef
from shared_code.partitions import PatientPartition
from shared_code.ports.documents import DocumentStore, Stored
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.settings import CLINICS, PATIENTS
from shared_code.sharing.grant_repository import ExpiryIndex, GrantRepository
from shared_code.sharing.records import ExpiryEntry, Share
from shared_code.sharing.repository import CLINIC_DOC_ID, ClinicRepository

log = logging.getLogger(__name__)

EXPIRING_WITHIN = timedelta(hours=48)
SUBSCRIPTION_ENDING_WITHIN = timedelta(days=30)
_ATTEMPTS = 3  # fresh reads per record before leaving it to the next run
_BUSY = (PreconditionFailed, NotFound)  # another instance, or a revocation, wrote first: look again


class GrantExpiryJobs:
    """Built on the document port alone (its repositories are its own), so a second worker's jobs
    over the same store are one call."""

    def __init__(self, documents: DocumentStore, clock: Clock, outbox: Outbox):
        self._grants = GrantRepository(documents, PatientPartition(documents))
        self._clinics = ClinicRepository(documents)
        self.index = ExpiryIndex(documents)
        self._clock = clock
        self._outbox = outbox

    # --- grants ---
    def mark_expired(self) -> int:
        """Every grant whose expiresAt has passed: `expiredNotifiedAt` on the patient's copy and one
        `grant.expired` to the patient, unless revoked. Returns how many were notified now."""
        now = self._clock.now()
        notified = 0
        for entry in self.index.by_expiry():
            if parse_time(entry.expires_at) > now:
                break  # ascending: everything after this expires later still
            notified += self._handle_expired(entry, now)
        if notified:
            log.info("expired grants notified: %d", notified)
        return notified

    def warn_expiring(self) -> int:
        """Active grants expiring within EXPIRING_WITHIN: one `grant.expiring` to the patient, unless
        revoked or already expired. Returns how many were warned now."""
        now = self._clock.now()
        warned = 0
        for entry in self.index.by_expiry(unwarned_only=True):
            expires = parse_time(entry.expires_at)
            if expires <= now:
                continue  # expired: mark_expired's business
            if expires > now + EXPIRING_WITHIN:
                break
            warned += self._handle_expiring(entry, now)
        if warned:
            log.info("expiring grants warned: %d", warned)
        return warned

    def _handle_expired(self, entry: ExpiryEntry, now: datetime) -> int:
        grant_id, patient_id = entry.grant_id, entry.patient_id
        for _ in range(_ATTEMPTS):
            share = self._grants.share(patient_id, grant_id)
            if share is None or share.revoked_at or share.expired_notified_at:
                self.index.remove(grant_id)  # gone, revoked, or told already: nothing left to do
                return 0
            if now < parse_time(share.expires_at):
                return 0  # the entry disagrees with the grant: the grant decides
            claimed = share.but(expired_notified_at=iso(now))
            try:
                self._outbox.emit(GRANT_EXPIRED, {"patientId": patient_id, "grantId": grant_id},
                                  SourceRef(PATIENTS, patient_id, grant_id), self._claim(patient_id, claimed),
                                  dedupe_key=f"{GRANT_EXPIRED}:{grant_id}")
            except _BUSY:
                continue
            self.index.remove(grant_id)
            return 1
        log.info("grant expiry busy, left to the next run: grant=%s", grant_id)
        return 0

    def _handle_expiring(self, entry: ExpiryEntry, now: datetime) -> int:
        grant_id, patient_id = entry.grant_id, entry.patient_id
        for _ in range(_ATTEMPTS):
            share = self._grants.share(patient_id, grant_id)
            if share is None or share.revoked_at:
                self.index.remove(grant_id)
                return 0
            if now >= parse_time(share.expires_at):
                return 0  # expired after all: mark_expired tells the patient that instead
            if share.expiring_notified_at:
                self.index.mark_warned(entry)  # told already (a crash came between the two writes)
                return 0
            claimed = share.but(expiring_notified_at=iso(now))
            try:
                self._outbox.emit(GRANT_EXPIRING, {"patientId": patient_id, "grantId": grant_id},
                                  SourceRef(PATIENTS, patient_id, grant_id), self._claim(patient_id, claimed),
                                  dedupe_key=f"{GRANT_EXPIRING}:{grant_id}")
            except _BUSY:
                continue
            self.index.mark_warned(entry)
            return 1
        log.info("grant expiry warning busy, left to the next run: grant=%s", grant_id)
        return 0

    def _claim(self, patient_id: str, share: Share) -> Callable[[str], Stored]:
        """The `write(event_id)` for the outbox: the ETag-guarded replace that is the claim."""
        return lambda event_id: self._grants.replace_share(patient_id, share, event_id)

    # --- subscriptions ---
    def warn_subscriptions_ending(self) -> int:
        """Clinics whose subscription ends within SUBSCRIPTION_ENDING_WITHIN: one
        `subscription.ending` (to every clinic_admin) per subscriptionEndsAt value. Returns how many
        clinics were warned now."""
        now = self._clock.now()
        until = now + SUBSCRIPTION_ENDING_WITHIN
        warned = 0
        for listing in self._clinics.listings_by_end():
            ends = parse_time(listing.subscription_ends_at)
            if ends <= now:
                continue  # ended already
            if ends > until:
                break
            warned += self._handle_subscription(listing.clinic_id, now, until)
        if warned:
            log.info("clinics warned of their subscription ending: %d", warned)
        return warned

    def _handle_subscription(self, clinic_id: str, now: datetime, until: datetime) -> int:
        for _ in range(_ATTEMPTS):
            clinic = self._clinics.get(clinic_id)
            if clinic is None:
                return 0
            ends_at = clinic.subscription_ends_at
            if not now < parse_time(ends_at) <= until:
                return 0  # the listing is behind: the clinic record decides
            if clinic.subscription_ending_notified_for == ends_at:
                return 0
            claimed = clinic.but(subscription_ending_notified_for=ends_at)
            try:
                self._outbox.emit(SUBSCRIPTION_ENDING, {"clinicId": clinic_id, "endsAt": ends_at},
                                  SourceRef(CLINICS, clinic_id, CLINIC_DOC_ID),
                                  lambda event_id: self._clinics.replace(claimed, event_id),
                                  dedupe_key=f"{SUBSCRIPTION_ENDING}:{clinic_id}:{ends_at}")
            except _BUSY:
                continue
            return 1
        log.info("subscription warning busy, left to the next run: clinic=%s", clinic_id)
        return 0
