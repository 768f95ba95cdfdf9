"""The review clock's timers: what the service and the referrer are told as a referral's working days
pass (API.md "Review clock"), each once, however many instances run and however often they retry.

Finding the work is never a cross-partition scan. `ReferralDeadlines.track(referral)`, which the
referral service calls after every state-changing write, keeps one `ReferralClock` entry per open
referral in `directory` / `referral-clock` (ids, status and times only: no patient data), with a
flag per timer; each timer reads its entries with one single-partition query (its status, its flag
False, ordered by the time it counts from) until the first entry that cannot be due yet.

| timer                  | when                                                   | told (kind)                          |
|------------------------|--------------------------------------------------------|--------------------------------------|
| due-today digest       | referrals awaiting review due today (London), per service | the service's inbox: the count (`referral.due_today`) |
| overdue escalation     | awaiting review after `reviewDueBy`                    | the service's clinic admins (`referral.overdue`) |
| no outcome             | awaiting review N working days after (re)submission (20) | the referrer (`referral.no_outcome`) |
| unacknowledged outcome | outcome sent, not acknowledged for M working days (5)  | the referrer (`referral.unacknowledged`) |

Working days are the service's (review_clock.py: its bank holidays and closed dates). Notices go
only from REFERRAL_NOTICE_HOUR (08:00 London) to midnight: a referral that becomes overdue at
00:00 is escalated at the start of the day, never in the night.

An entry only says where to look. What decides is the Referral, read by point read and written back
with its ETag, which is the claim (as in sharing/expiry.py): the flag (`overdueNotifiedAt`,
`noOutcomeAlertedAt`, `unacknowledgedRemindedAt`) and the outbox's event id go into the referral in
one if-match replace inside DocumentOutbox.emit. Two instances reading the same version both try;
one wins, the other gets PreconditionFailed, queues nothing, reads again and finds it told. The
dedupe keys make redeliveries one mail. The overdue escalation is once per due time (a
resubmission that moves `reviewDueBy` can be escalated again), the no-outcome alert once per
submission, the reminder once per outcome. A referral closed or cancelled has no entry, and one
read in another state is told nothing: the referral decides, and its entry is put right.

The digest's claim is the service's `ReferralDigest` (directory / `referral-digest` / service id):
created, or replaced with its ETag, with the London day it was sent for and the count; a service
already holding today's day is not told again.

A write that loses to another is retried from a fresh read a few times; what is still busy is left
to the next run. Every step is idempotent, so a crash anywhere only means the next run does the rest."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator

from pydantic.alias_generators import to_camel

from shared_code import paging
from shared_code.clock import Clock, iso, parse_time
from shared_code.notifications.contract import (
    REFERRAL_DUE_TODAY, REFERRAL_NO_OUTCOME, REFERRAL_OVERDUE, REFERRAL_UNACKNOWLEDGED, Outbox, SourceRef,
)
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.records import read_record
from shared_code.referrals.records import (
    Referral, ReferralClock, ReferralDigest, ReferralService, ReferralStatus, Sla,
)
from shared_code.referrals.repository import ReferralRepository
from shared_code.referrals.submission import service_settings
from shared_code.referrals.review_clock import (
    LONDON, end_of_london_day, london_date, sla, weekdays_between, working_days_between,
)
from shared_code.settings import CLINICS, DIRECTORY, Settings
from shared_code.sharing.repository import ClinicRepository, doc_of

log = logging.getLogger(__name__)

CLOCK_PARTITION = "referral-clock"
DIGEST_PARTITION = "referral-digest"
# The states a referral's clock runs in; a draft has none yet, a closed or cancelled one none left.
TRACKED = (ReferralStatus.AWAITING_REVIEW, ReferralStatus.INFORMATION_REQUESTED, ReferralStatus.OUTCOME_SENT)
_BATCH = 100
_ATTEMPTS = 3  # fresh reads per referral before leaving it to the next run
_BUSY = (PreconditionFailed, NotFound, Conflict)  # another instance, or the referral's own users, wrote first


def _told_since(told_at: str | None, since: str | None) -> bool:
    return told_at is not None and since is not None and parse_time(told_at) >= parse_time(since)


def entry_of(referral: Referral) -> ReferralClock:
    """The index entry a referral should have (its flags say what has been told for its current clock)."""
    return ReferralClock(
        id=referral.id, referral_id=referral.id, service_clinic_id=referral.service_clinic_id,
        referring_clinic_id=referral.referring_clinic_id, status=referral.status,
        review_due_by=referral.review_due_by, submitted_at=referral.submitted_at,
        outcome_sent_at=referral.outcome_sent_at,
        overdue_notified=_told_since(referral.overdue_notified_at, referral.review_due_by),
        no_outcome_alerted=_told_since(referral.no_outcome_alerted_at, referral.submitted_at),
        unacknowledged_reminded=_told_since(referral.unacknowledged_reminded_at, referral.outcome_sent_at))


class ReferralDeadlines:
    """The `directory` / `referral-clock` index."""

    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def track(self, referral: Referral) -> None:
        """Upsert the referral's entry (remove it once the referral is closed or cancelled). Best
        effort: called after the referral's write succeeded, so it never fails the request; a timer
        that reads the referral puts a stale entry right."""
        if referral.status not in TRACKED:
            self.remove(referral.id)
            return
        try:
            self._documents.upsert(DIRECTORY, CLOCK_PARTITION, doc_of(entry_of(referral)))
        except Exception as exc:  # noqa: BLE001 - the referral already says what happened
            log.warning("referral clock entry not written: referral=%s error=%s", referral.id, type(exc).__name__)

    def remove(self, referral_id: str) -> None:
        try:
            self._documents.delete(DIRECTORY, CLOCK_PARTITION, referral_id)
        except NotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - a left-over entry is dropped by the timer that reaches it
            log.warning("referral clock entry not deleted: referral=%s error=%s", referral_id, type(exc).__name__)

    def entry(self, referral_id: str) -> ReferralClock | None:
        return read_record(self._documents, DIRECTORY, CLOCK_PARTITION, referral_id, ReferralClock)

    def pending(self, status: ReferralStatus, flag: str, order_by: str) -> Iterator[ReferralClock]:
        """Entries in `status` whose `flag` is still False, by `order_by` ascending, page by page (the
        caller stops)."""
        query = Query(CLOCK_PARTITION, {"type": "referral-clock", "status": status.value, flag: False},
                      order_by=order_by, limit=_BATCH)
        return (ReferralClock.from_stored(s) for s in paging.every(self._documents, DIRECTORY, query))


@dataclass(frozen=True)
class _Notice:
    """One timer's notice: due while the referral is in `status` and `reached(its `since` time, now,
    the service's calendar)`, unless told (`flag`) since that time. Once per value of `since`."""
    kind: str
    status: ReferralStatus
    since: str       # the Referral (and ReferralClock) field the time counts from
    flag: str        # the Referral field the claim sets
    index_flag: str  # the ReferralClock flag that mirrors it (as stored)
    reached: Callable[[datetime, datetime, ReferralService], bool]

    def due(self, referral: Referral, service: ReferralService, now: datetime) -> bool:
        since = getattr(referral, self.since)
        return (referral.status is self.status and since is not None
                and self.reached(parse_time(since), now, service)
                and not _told_since(getattr(referral, self.flag), since))

    def dedupe_key(self, referral: Referral) -> str:
        return f"{self.kind}:{referral.id}:{getattr(referral, self.since)}"


class ReferralTimers:
    """Built on the document port alone (its repositories are its own), so a second worker's timers
    over the same store are one call."""

    def __init__(self, documents: DocumentStore, clock: Clock, outbox: Outbox, settings: Settings):
        self.deadlines = ReferralDeadlines(documents)
        self._documents = documents
        self._referrals = ReferralRepository(documents)
        self._clinics = ClinicRepository(documents)
        self._clock = clock
        self._outbox = outbox
        self._settings = settings
        no_outcome, unacknowledged = settings.referral_no_outcome_working_days, settings.referral_unacknowledged_working_days
        self._overdue = _Notice(REFERRAL_OVERDUE, ReferralStatus.AWAITING_REVIEW, "review_due_by",
                                "overdue_notified_at", "overdueNotified",
                                lambda due, now, service: sla(due, now) is Sla.OVERDUE)
        self._no_outcome = _Notice(REFERRAL_NO_OUTCOME, ReferralStatus.AWAITING_REVIEW, "submitted_at",
                                   "no_outcome_alerted_at", "noOutcomeAlerted",
                                   lambda since, now, service: working_days_between(since, now, service) >= no_outcome)
        self._unacknowledged = _Notice(REFERRAL_UNACKNOWLEDGED, ReferralStatus.OUTCOME_SENT, "outcome_sent_at",
                                       "unacknowledged_reminded_at", "unacknowledgedReminded",
                                       lambda since, now, service: working_days_between(since, now, service) >= unacknowledged)

    def run(self) -> dict[str, int]:
        """What the timer runs: every job, each on its own (one failing does not stop the others;
        the first failure is raised at the end, so the run is seen to fail)."""
        counts: dict[str, int] = {}
        failure: Exception | None = None
        for name, job in (("dueToday", self.send_due_today_digests), ("overdue", self.escalate_overdue),
                          ("noOutcome", self.alert_no_outcome), ("unacknowledged", self.remind_unacknowledged)):
            try:
                counts[name] = job()
            except Exception as exc:  # noqa: BLE001 - raised below, after the other jobs ran
                log.error("referral timer failed: job=%s error=%s", name, type(exc).__name__)
                failure = failure or exc
        if failure is not None:
            raise failure
        if any(counts.values()):
            log.info("referral timers: %s", " ".join(f"{k}={v}" for k, v in counts.items()))
        return counts

    # --- the service ---
    def send_due_today_digests(self) -> int:
        """Each service with referrals awaiting review due today (London): one digest with the count,
        once per London day. Returns how many services were told now."""
        now = self._clock.now()
        if self._quiet(now):
            return 0
        today = london_date(now)
        until = end_of_london_day(today)
        due_today: Counter[str] = Counter()
        for entry in self.deadlines.pending(ReferralStatus.AWAITING_REVIEW, "overdueNotified", "reviewDueBy"):
            due = parse_time(entry.review_due_by or "")
            if due > until:
                break  # ascending: everything after this is due later still
            if sla(due, now) is Sla.DUE_TODAY:
                due_today[entry.service_clinic_id] += 1
        return sum(self._digest(service_id, today.isoformat(), count, now) for service_id, count in due_today.items())

    def escalate_overdue(self) -> int:
        """Referrals awaiting review past their `reviewDueBy`: one `referral.overdue` to the service's
        clinic admins per due time. Returns how many were escalated now."""
        return self._tell(self._overdue, lambda due, now: due >= now)

    # --- the referrer ---
    def alert_no_outcome(self) -> int:
        """Referrals awaiting review N working days after their (re)submission: the referrer alerted,
        once per submission. Returns how many now."""
        days = self._settings.referral_no_outcome_working_days
        # No service has more working days than weekdays: past such an entry, none can be due yet.
        return self._tell(self._no_outcome, lambda since, now: weekdays_between(since, now) < days)

    def remind_unacknowledged(self) -> int:
        """Outcomes not acknowledged M working days after they were sent: the referrer reminded once.
        Returns how many now."""
        days = self._settings.referral_unacknowledged_working_days
        return self._tell(self._unacknowledged, lambda since, now: weekdays_between(since, now) < days)

    # --- shared ---
    def _quiet(self, moment: datetime) -> bool:
        return moment.astimezone(LONDON).hour < self._settings.referral_notice_hour

    def _tell(self, notice: _Notice, too_early: Callable[[datetime, datetime], bool]) -> int:
        """The notice to every referral whose entry is pending, read in order of the `since` time until
        the first that is `too_early` (everything after it is later still)."""
        now = self._clock.now()
        if self._quiet(now):
            return 0
        found = []
        for entry in self.deadlines.pending(notice.status, notice.index_flag, to_camel(notice.since)):
            if too_early(parse_time(getattr(entry, notice.since) or iso(now)), now):
                break
            found.append(entry)
        # Read to the end first, then write: a claim takes its entry out of the query being paged.
        services: dict[str, ReferralService] = {}
        told = sum(self._claim(entry, notice, now, services) for entry in found)
        if told:
            log.info("referral notices sent: kind=%s count=%d", notice.kind, told)
        return told

    def _service(self, referral: Referral, services: dict[str, ReferralService]) -> ReferralService:
        """The service's calendar, read once a run per service."""
        if referral.service_clinic_id not in services:
            services[referral.service_clinic_id] = service_settings(self._clinics, referral)
        return services[referral.service_clinic_id]

    def _claim(self, entry: ReferralClock, notice: _Notice, now: datetime,
               services: dict[str, ReferralService]) -> int:
        for _ in range(_ATTEMPTS):
            referral = self._referrals.get(entry.service_clinic_id, entry.referral_id)
            if referral is None:
                self.deadlines.remove(entry.referral_id)  # deleted: nothing left to tell
                return 0
            if not notice.due(referral, self._service(referral, services), now):
                if entry_of(referral).to_doc() != entry.to_doc():
                    self.deadlines.track(referral)  # the entry is behind its referral: the referral decides
                return 0
            claimed = referral.but(**{notice.flag: iso(now)})
            try:
                stored = self._outbox.emit(
                    notice.kind, {"clinicId": referral.service_clinic_id, "referralId": referral.id},
                    SourceRef(CLINICS, referral.service_clinic_id, referral.id),
                    lambda event_id: self._referrals.replace(claimed, event_id), dedupe_key=notice.dedupe_key(referral))
            except _BUSY:
                continue
            self.deadlines.track(stored)
            return 1
        log.info("referral notice busy, left to the next run: kind=%s referral=%s", notice.kind, entry.referral_id)
        return 0

    def _digest(self, service_id: str, day: str, count: int, now: datetime) -> int:
        for _ in range(_ATTEMPTS):
            sent = read_record(self._documents, DIRECTORY, DIGEST_PARTITION, service_id, ReferralDigest)
            if sent is not None and sent.day == day:
                return 0  # told today already (another instance, or an earlier run)
            digest = ReferralDigest(id=service_id, service_clinic_id=service_id, day=day, due_today=count,
                                    sent_at=iso(now), events=sent.events if sent else [])

            def write(event_id: str, sent=sent, digest=digest):
                if sent is None:
                    return self._documents.create(DIRECTORY, DIGEST_PARTITION, doc_of(digest, event_id))
                return self._documents.replace(DIRECTORY, DIGEST_PARTITION, doc_of(digest, event_id), if_match=sent.etag)

            try:
                self._outbox.emit(REFERRAL_DUE_TODAY, {"clinicId": service_id, "day": day},
                                  SourceRef(DIRECTORY, DIGEST_PARTITION, service_id), write,
                                  dedupe_key=f"{REFERRAL_DUE_TODAY}:{service_id}:{day}")
            except _BUSY:
                continue
            return 1
        log.info("referral digest busy, left to the next run: service=%s", service_id)
        return 0
