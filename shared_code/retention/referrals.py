"""Retention of referrals: a referral's data is not kept for ever, and goes as a unit, crypto-shredded.

How long (`keep_until`, from the moment the referral was closed or cancelled):
- a draft cancelled before it was ever submitted: REFERRAL_DRAFT_RETENTION_DAYS (30). It never
  reached the service, so it is no clinical record of anyone's care;
- a referral closed (outcome acknowledged) or cancelled after submission: the service's clinical
  record, kept REFERRAL_RECORDS_RETENTION_DAYS (8 years: the NHS Records Management Code of
  Practice, adult health records), and for a child at least until their 25th birthday (26th if 17
  at the end of care), as the Code's children's records rule says.
An open referral is never deleted by time (its clock and its users still need it).

Finding the work is never a cross-partition scan. `ReferralRetentionIndex.track`, which every
referral write calls (referrals/writes.py, through `ReferralIndexes` next to the review clock's
index), writes one `ReferralRetention` entry (directory / `referral-retention` / referral id: ids
and times only) once the referral is closed or cancelled; the timer reads the entries due with one
single-partition query ordered by `deleteAfter` (retention/repository.due).

Deleting one referral, in this order, each step idempotent (a crash anywhere: the entry is still
there, and the next run does the rest; two instances at once: both may walk the steps, each step
tolerates the other having done it, and the referral document is counted by whoever deleted it):
1. the referral is read (it decides: not closed or cancelled, or not due by its own data after all,
   e.g. a longer period set since, and its entry is dropped or put right);
2. ReferralImages.shred: the referral key goes from the referral first (one ETag-guarded write;
   every image is unreadable from then, backups included), then the blobs, then the image records;
3. the referral document, then the referring clinic's SentReferral pointer: 404 to both sides;
4. the review clock's entry (normally gone at close or cancel already);
5. its access log (audit / `referral:<id>`) outlives it by RETENTION_AUDIT_DAYS, exactly as an erased
   patient's does: an `AuditDue` for that partition, which the retention timer deletes when due;
6. the entry itself, last.
Each run is audited (`audit` / `retention`) with its counts."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from shared_code.clock import Clock, iso, parse_time
from shared_code.ids import new_id
from shared_code.ports.documents import DocumentStore
from shared_code.ports.errors import NotFound
from shared_code.referrals.audit import referral_partition
from shared_code.referrals.records import Referral, ReferralStatus
from shared_code.referrals.repository import ReferralRepository
from shared_code.retention.records import AuditDue, ReferralRetention, RetentionRun
from shared_code.retention.repository import RetentionRepository
from shared_code.settings import DIRECTORY, Settings
from shared_code.sharing.records import sort_key

log = logging.getLogger(__name__)

REFERRAL_RETENTION_PARTITION = "referral-retention"
ENDED = (ReferralStatus.CLOSED, ReferralStatus.CANCELLED)
# The Code's children's records: until the 25th birthday, or the 26th if 17 when care ended.
_ADULT_AGE, _CHILD_UNTIL, _SEVENTEEN_UNTIL = 18, 25, 26


class Index(Protocol):
    def track(self, referral: Referral) -> None: ...


class Shredder(Protocol):
    """shared_code/referrals/images.py ReferralImages."""

    def shred(self, referral: Referral) -> None: ...


class ClockIndex(Protocol):
    """shared_code/referrals/deadlines.py ReferralDeadlines."""

    def remove(self, referral_id: str) -> None: ...


def ended_at(referral: Referral) -> datetime:
    """When the referral was closed or cancelled (the change's own time; its last write if unreadable)."""
    moment = referral.acknowledged_at if referral.status is ReferralStatus.CLOSED else referral.cancelled_at
    try:
        return parse_time(moment or referral.updated_at)
    except (TypeError, ValueError):
        return parse_time(referral.updated_at)


def keep_until(referral: Referral, settings: Settings) -> datetime:
    """The earliest moment a closed or cancelled referral may be deleted."""
    end = ended_at(referral)
    if referral.status is ReferralStatus.CANCELLED and not referral.received:
        return end + timedelta(days=settings.referral_draft_retention_days)
    until = end + timedelta(days=settings.referral_records_retention_days)
    try:
        born = date.fromisoformat(referral.patient.date_of_birth)
    except ValueError:
        return until
    age = _years(born, end.date())
    if age < _ADULT_AGE:
        birthday = _birthday(born, _SEVENTEEN_UNTIL if age == _ADULT_AGE - 1 else _CHILD_UNTIL)
        until = max(until, datetime(birthday.year, birthday.month, birthday.day, tzinfo=timezone.utc))
    return until


def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _birthday(born: date, age: int) -> date:
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # born on 29 February: the birthday is 1 March in a common year
        return date(born.year + age, 3, 1)


def entry_of(referral: Referral, settings: Settings) -> ReferralRetention:
    return ReferralRetention(id=referral.id, referral_id=referral.id, service_clinic_id=referral.service_clinic_id,
                             referring_clinic_id=referral.referring_clinic_id, ended_at=iso(ended_at(referral)),
                             delete_after=iso(keep_until(referral, settings)))


class ReferralRetentionIndex:
    """The `directory` / `referral-retention` entries: one per closed or cancelled referral."""

    def __init__(self, documents: DocumentStore, settings: Settings):
        self._documents = documents
        self._settings = settings

    def track(self, referral: Referral) -> None:
        """Called after every successful referral write; writes only for a closed or cancelled one.
        Best effort, like the review clock's index: the change has happened already."""
        if referral.status not in ENDED:
            return
        try:
            self._documents.upsert(DIRECTORY, REFERRAL_RETENTION_PARTITION, entry_of(referral, self._settings).to_doc())
        except Exception as exc:  # noqa: BLE001 - logged with ids only; the next write of it tries again
            log.warning("referral retention entry not written: referral=%s error=%s", referral.id,
                        type(exc).__name__)


class ReferralIndexes:
    """Every index a referral's write keeps (referrals/writes.Deadlines): each on its own, so one
    failing never keeps another from being written."""

    def __init__(self, *indexes: Index):
        self._indexes = indexes

    def track(self, referral: Referral) -> None:
        for index in self._indexes:
            try:
                index.track(referral)
            except Exception as exc:  # noqa: BLE001 - see ReferralRetentionIndex.track
                log.warning("referral index not kept: referral=%s error=%s", referral.id, type(exc).__name__)


class ReferralRetentionJobs:
    def __init__(self, repository: RetentionRepository, records: ReferralRepository, images: Shredder,
                 clock_index: ClockIndex, index: ReferralRetentionIndex, clock: Clock, settings: Settings):
        self._repository = repository
        self._records = records
        self._images = images
        self._clock_index = clock_index
        self._index = index
        self._clock = clock
        self._settings = settings

    def run(self) -> dict[str, int]:
        """One run: every entry due, each on its own (one failing does not stop the others; the first
        failure is raised at the end, after the run is audited, so the timer is seen to fail)."""
        now = self._clock.now()
        counts: Counter[str] = Counter()
        failure: Exception | None = None
        due = self._repository.due(DIRECTORY, REFERRAL_RETENTION_PARTITION, "referral-retention", "deleteAfter", now)
        for stored in due:
            entry = ReferralRetention.from_stored(stored)
            try:
                counts[self._apply(entry, now)] += 1
            except Exception as exc:  # noqa: BLE001 - raised below; the entry stays for the next run
                log.error("referral retention failed: referral=%s error=%s", entry.referral_id, type(exc).__name__)
                counts["referrals_failed"] += 1
                failure = failure or exc
        run = RetentionRun(id=new_id("rr"), at=iso(now), sort_key=sort_key(now), counts=dict(sorted(counts.items())))
        self._repository.record_run(run)
        log.info("referral retention run", extra={"event": "retention.referrals", **run.counts})
        if failure is not None:
            raise failure
        return run.counts

    def _apply(self, entry: ReferralRetention, now: datetime) -> str:
        """What happened to the entry's referral (a count's name)."""
        referral = self._records.get(entry.service_clinic_id, entry.referral_id)
        counted = "referral_leftovers_deleted"  # the document went in an earlier (interrupted) run
        if referral is not None:
            if referral.status not in ENDED:  # the referral decides (no state leaves closed or cancelled today)
                self._repository.delete(DIRECTORY, REFERRAL_RETENTION_PARTITION, entry.id)
                return "referral_entries_dropped"
            if keep_until(referral, self._settings) > now:
                self._index.track(referral)  # kept longer than its entry said (e.g. a longer period set since)
                return "referrals_kept"
            try:
                self._images.shred(referral)
            except NotFound:
                pass  # another instance deleted the document, which it does only after shredding
            deleted = self._records.delete(entry.service_clinic_id, entry.referring_clinic_id, entry.referral_id)
            kind = "referrals_deleted" if referral.received else "referral_drafts_deleted"
            counted = kind if deleted else "referrals_deleted_by_another_run"
        else:
            self._records.delete(entry.service_clinic_id, entry.referring_clinic_id, entry.referral_id)
        self._clock_index.remove(entry.referral_id)
        partition = referral_partition(entry.referral_id)
        self._repository.put_audit_due(AuditDue(
            id=partition, patient_id=partition, erased_at=iso(now),
            delete_after=iso(now + timedelta(days=self._settings.retention_audit_days))))
        self._repository.delete(DIRECTORY, REFERRAL_RETENTION_PARTITION, entry.id)
        return counted
