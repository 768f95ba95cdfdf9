"""The review clock's timers on the fakes (shared_code/referrals/deadlines.py): who is told what, when,
and only once: with two instances racing, on retries, never for a closed or cancelled referral, never
before the morning in London, and never with the patient's name or the clinical question in the mail.
tests/referrals/test_referral_timers.py walks the same through the API on both adapter families."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from shared_code.clock import iso
from shared_code.notifications.contract import (
    REFERRAL_DUE_TODAY, REFERRAL_NO_OUTCOME, REFERRAL_OVERDUE, REFERRAL_UNACKNOWLEDGED,
)
from shared_code.notifications.pump import pump_notifications
from shared_code.referrals.deadlines import CLOCK_PARTITION, entry_of
from shared_code.referrals.records import (
    History, Priority, Referral, ReferralConsents, ReferralPatient, ReferralService, ReferralStatus,
)
from shared_code.referrals.review_clock import resubmitted_due_by, review_due_by
from shared_code.settings import DIRECTORY
from tests.support.steps import drain

UTC = timezone.utc
PATIENT_NAME = "Brenda Example"
QUESTION = "Pigmented lesion, enlarging. Melanoma?"
# Wednesday 4 November 2026, 10:00 GMT (London = UTC in winter).
WEDNESDAY = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)


class World:
    """NEWCASTLE-DERM (rita, clinic_admin; sam, a second admin) receives referrals from
    HEATON-PRACTICE (gail, the referring GP); LEEDS-DERM is a second service."""

    def __init__(self, domain):
        self.domain = domain
        self.container = domain.container
        self.service_id = self.service("NEWCASTLE-DERM", "rita@nhs.net")
        domain.member(self.service_id, "sam@nhs.net", role="clinic_admin")
        self.other_service_id = self.service("LEEDS-DERM", "lee@nhs.net")
        self.practice_id = domain.clinic("HEATON-PRACTICE", "gail@nhs.net")
        self.gail = self.container.sharing.member_records.by_email(self.practice_id, "gail@nhs.net").id
        self._n = 0

    def service(self, code: str, admin: str, **settings: Any) -> str:
        clinic_id = self.domain.clinic(code, admin)
        self.set_service(clinic_id, **settings)
        return clinic_id

    def set_service(self, clinic_id: str, **settings: Any) -> None:
        records = self.container.sharing.clinic_records
        records.replace(records.get(clinic_id).but(referral_service=ReferralService(accepts_referrals=True,
                                                                                    **settings)))

    def settings(self, clinic_id: str) -> ReferralService:
        return self.container.sharing.clinic_records.get(clinic_id).referral_service

    def submitted(self, at: datetime, service_id: str | None = None) -> Referral:
        """A referral submitted at `at` (awaiting review, its due time by the review clock), tracked."""
        service_id = service_id or self.service_id
        self._n += 1
        now = iso(at)
        draft = Referral(
            id=f"ref_{self._n:026d}", referring_clinic_id=self.practice_id, referring_clinic_name="Heaton Medical Practice",
            service_clinic_id=service_id, service_clinic_name="Newcastle Dermatology", created_at=now,
            created_by=self.gail, updated_at=now, priority_requested=Priority.ROUTINE, clinical_question=QUESTION,
            patient=ReferralPatient(name=PATIENT_NAME, nhs_number="9434765919", date_of_birth="1961-04-12"),
            history=History(), consents=ReferralConsents(share_with_service=True, version="2026-01", recorded_at=now))
        created = self.container.referral_records.create(draft)
        return self.change(created, status=ReferralStatus.AWAITING_REVIEW, received=True, submitted_at=now,
                           first_submitted_at=now, review_due_by=iso(review_due_by(at, self.settings(service_id))))

    def change(self, referral: Referral, **fields: Any) -> Referral:
        """A state change as the referral service makes it: the write, then `track`."""
        written = self.container.referral_records.replace(self.read(referral).but(**fields))
        self.container.referral_deadlines.track(written)
        return written

    def read(self, referral: Referral) -> Referral:
        return self.container.referral_records.get(referral.service_clinic_id, referral.id)


@pytest.fixture
def world(domain, clock) -> World:
    clock.at = WEDNESDAY
    return World(domain)


def at(clock, moment: datetime) -> None:
    clock.at = moment


def told(domain) -> list[tuple[str, dict[str, str]]]:
    """The notifications queued since last asked: (kind, data)."""
    return [(m["kind"], m["data"]) for m in (json.loads(b) for b in drain(domain.adapters.queue))]


# --- the index -------------------------------------------------------------------------------------------
def test_the_index_holds_open_referrals_only_with_ids_and_times(world):
    referral = world.submitted(WEDNESDAY)
    entry = world.container.referral_deadlines.entry(referral.id)
    assert entry is not None and entry.review_due_by == "2026-11-06T23:59:59Z"
    stored = world.domain.adapters.documents.read(DIRECTORY, CLOCK_PARTITION, referral.id).doc
    assert PATIENT_NAME not in json.dumps(stored) and "9434765919" not in json.dumps(stored)
    world.change(referral, status=ReferralStatus.CANCELLED, cancelled_at=iso(WEDNESDAY))
    assert world.container.referral_deadlines.entry(referral.id) is None
    closed = world.submitted(WEDNESDAY)
    world.change(closed, status=ReferralStatus.CLOSED)
    assert world.container.referral_deadlines.entry(closed.id) is None


# --- the due-today digest --------------------------------------------------------------------------------
def test_each_service_gets_one_digest_a_london_day_with_its_count(world, clock):
    world.submitted(datetime(2026, 11, 2, 9, tzinfo=UTC))                             # Mon -> due Wed 4
    world.submitted(datetime(2026, 11, 2, 15, tzinfo=UTC))                            # Mon -> due Wed 4
    world.submitted(datetime(2026, 11, 3, 9, tzinfo=UTC))                             # Tue -> due Thu 5
    world.submitted(datetime(2026, 11, 2, 9, tzinfo=UTC), world.other_service_id)     # due Wed 4
    timers = world.container.referral_timers
    told(world.domain)
    at(clock, datetime(2026, 11, 4, 8, 0, tzinfo=UTC))                                # 08:00 GMT
    assert timers.send_due_today_digests() == 2
    assert timers.send_due_today_digests() == 0                                       # same day: nothing more
    sent = told(world.domain)
    assert sorted(d["clinicId"] for _, d in sent) == sorted([world.service_id, world.other_service_id])
    assert {k for k, _ in sent} == {REFERRAL_DUE_TODAY} and {d["day"] for _, d in sent} == {"2026-11-04"}
    digest = world.domain.adapters.documents.read(DIRECTORY, "referral-digest", world.service_id).doc
    assert digest["dueToday"] == 2
    clock.advance(hours=15)                                                            # 23:00 the same day
    assert timers.send_due_today_digests() == 0
    at(clock, datetime(2026, 11, 5, 9, 0, tzinfo=UTC))                                 # Thursday
    assert timers.send_due_today_digests() == 1                                        # NEWCASTLE: the Tue one
    assert world.domain.adapters.documents.read(DIRECTORY, "referral-digest", world.service_id).doc["dueToday"] == 1


def test_no_notice_before_the_morning_in_london_in_summer_and_winter(world, clock):
    at(clock, datetime(2026, 7, 1, 9, tzinfo=UTC))
    world.submitted(clock.at)                                                          # Wed -> due Fri 3 July
    timers = world.container.referral_timers
    told(world.domain)
    at(clock, datetime(2026, 7, 3, 6, 59, tzinfo=UTC))                                 # 07:59 BST
    assert timers.run() == {"dueToday": 0, "overdue": 0, "noOutcome": 0, "unacknowledged": 0}
    at(clock, datetime(2026, 7, 3, 7, 0, tzinfo=UTC))                                  # 08:00 BST
    assert timers.send_due_today_digests() == 1
    # Overdue from 00:00 BST Saturday (23:00Z Friday), escalated from 08:00 BST.
    at(clock, datetime(2026, 7, 3, 23, 30, tzinfo=UTC))
    assert timers.escalate_overdue() == 0
    at(clock, datetime(2026, 7, 4, 7, 0, tzinfo=UTC))
    assert timers.escalate_overdue() == 1


# --- overdue -------------------------------------------------------------------------------------------
def test_an_overdue_referral_is_escalated_once_per_due_time(world, clock):
    referral = world.submitted(WEDNESDAY)                                              # due Fri 6, 23:59:59Z
    timers = world.container.referral_timers
    told(world.domain)
    at(clock, datetime(2026, 11, 6, 23, 59, 59, tzinfo=UTC))
    assert timers.escalate_overdue() == 0                                              # due, not overdue
    at(clock, datetime(2026, 11, 7, 8, 0, tzinfo=UTC))
    assert timers.escalate_overdue() == 1
    assert timers.escalate_overdue() == 0
    clock.advance(days=3)
    assert timers.escalate_overdue() == 0
    assert told(world.domain) == [(REFERRAL_OVERDUE, {"clinicId": world.service_id, "referralId": referral.id})]
    # More information asked on Mon 9 and sent on Wed 11: the due time moves by 2 working days, to
    # Tue 10 (still past), so it is escalated for that due time too, once.
    requested, resubmitted = datetime(2026, 11, 9, 9, tzinfo=UTC), datetime(2026, 11, 11, 9, tzinfo=UTC)
    moved = resubmitted_due_by(datetime(2026, 11, 6, 23, 59, 59, tzinfo=UTC), requested, resubmitted,
                               world.settings(world.service_id))
    world.change(referral, status=ReferralStatus.INFORMATION_REQUESTED, information_requested_at=iso(requested))
    at(clock, resubmitted)
    world.change(referral, status=ReferralStatus.AWAITING_REVIEW, submitted_at=iso(resubmitted),
                 review_due_by=iso(moved))
    assert moved == datetime(2026, 11, 10, 23, 59, 59, tzinfo=UTC)
    assert timers.escalate_overdue() == 1 and timers.escalate_overdue() == 0


def test_a_reviewed_or_cancelled_referral_is_never_escalated_even_if_its_entry_is_behind(world, clock):
    reviewed, cancelled = world.submitted(WEDNESDAY), world.submitted(WEDNESDAY)
    records = world.container.referral_records
    # The writes happened but `track` never ran (the instance died in between): the entries say
    # "awaiting review"; the referrals decide.
    records.replace(world.read(reviewed).but(status=ReferralStatus.OUTCOME_SENT, outcome_sent_at=iso(WEDNESDAY)))
    records.replace(world.read(cancelled).but(status=ReferralStatus.CANCELLED, cancelled_at=iso(WEDNESDAY)))
    told(world.domain)
    at(clock, datetime(2026, 11, 9, 9, tzinfo=UTC))
    timers = world.container.referral_timers
    assert timers.run()["overdue"] == 0
    assert told(world.domain) == []
    deadlines = world.container.referral_deadlines
    assert deadlines.entry(cancelled.id) is None                                         # put right
    assert deadlines.entry(reviewed.id).status is ReferralStatus.OUTCOME_SENT


# --- the referrer ----------------------------------------------------------------------------------------
def test_the_referrer_is_alerted_after_20_working_days_without_an_outcome(world, clock):
    referral = world.submitted(datetime(2026, 11, 30, 9, tzinfo=UTC))                   # Monday 30 Nov
    timers = world.container.referral_timers
    told(world.domain)
    # Working days after Mon 30 Nov, over Christmas (Fri 25, and Mon 28 for Boxing Day): Dec 1-4 (4),
    # 7-11 (9), 14-18 (14), 21-24 (18), 29 (19), 30 (20).
    at(clock, datetime(2026, 12, 29, 12, tzinfo=UTC))
    assert timers.alert_no_outcome() == 0
    at(clock, datetime(2026, 12, 30, 12, tzinfo=UTC))
    assert timers.alert_no_outcome() == 1 and timers.alert_no_outcome() == 0
    assert told(world.domain)[-1] == (REFERRAL_NO_OUTCOME, {"clinicId": world.service_id, "referralId": referral.id})
    assert world.read(referral).no_outcome_alerted_at == "2026-12-30T12:00:00Z"


def test_an_outcome_unacknowledged_for_5_working_days_is_reminded_once(world, clock):
    referral = world.submitted(WEDNESDAY)
    at(clock, datetime(2026, 11, 5, 14, tzinfo=UTC))                                       # Thursday
    world.change(referral, status=ReferralStatus.OUTCOME_SENT, outcome_sent_at=iso(clock.at))
    timers = world.container.referral_timers
    told(world.domain)
    at(clock, datetime(2026, 11, 11, 23, 0, tzinfo=UTC))                                   # Fri Mon Tue Wed: 4
    assert timers.remind_unacknowledged() == 0
    at(clock, datetime(2026, 11, 12, 8, 0, tzinfo=UTC))                                    # Thursday: 5
    assert timers.remind_unacknowledged() == 1 and timers.remind_unacknowledged() == 0
    assert told(world.domain) == [(REFERRAL_UNACKNOWLEDGED, {"clinicId": world.service_id, "referralId": referral.id})]
    world.change(referral, status=ReferralStatus.CLOSED, acknowledged_at=iso(clock.at))
    clock.advance(days=30)
    assert timers.run() == {"dueToday": 0, "overdue": 0, "noOutcome": 0, "unacknowledged": 0}


def test_the_services_closed_dates_count_as_no_working_days(world, clock):
    world.set_service(world.service_id, closed_dates=["2026-11-12", "2026-11-13"])
    referral = world.submitted(WEDNESDAY)
    world.change(referral, status=ReferralStatus.OUTCOME_SENT, outcome_sent_at=iso(datetime(2026, 11, 5, 14, tzinfo=UTC)))
    told(world.domain)
    at(clock, datetime(2026, 11, 13, 12, tzinfo=UTC))   # Fri Mon Tue Wed, then Thu and Fri closed: 4
    assert world.container.referral_timers.remind_unacknowledged() == 0
    at(clock, datetime(2026, 11, 16, 12, tzinfo=UTC))   # Monday: 5
    assert world.container.referral_timers.remind_unacknowledged() == 1


# --- two instances, retries ------------------------------------------------------------------------------
class BeforeWrite:
    """A DocumentStore that runs another instance's whole run just before this one's first write
    (create or replace) of one document: both have read the same version, the other writes first."""

    def __init__(self, inner: Any, doc_id: str, then: Callable[[], None]):
        self._inner, self._doc_id, self._then = inner, doc_id, then

    def _race(self, doc: dict[str, Any]) -> None:
        if doc.get("id") == self._doc_id and self._then is not None:
            then, self._then = self._then, None
            then()

    def create(self, container: str, partition_key: str, doc: dict[str, Any]):
        self._race(doc)
        return self._inner.create(container, partition_key, doc)

    def replace(self, container: str, partition_key: str, doc: dict[str, Any], if_match: str | None):
        self._race(doc)
        return self._inner.replace(container, partition_key, doc, if_match)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("job, start, target", [
    ("escalate_overdue", datetime(2026, 11, 9, 9, tzinfo=UTC), "referral"),
    ("alert_no_outcome", datetime(2026, 12, 9, 9, tzinfo=UTC), "referral"),
    ("send_due_today_digests", datetime(2026, 11, 6, 9, tzinfo=UTC), "service"),
])
def test_two_instances_tell_once(world, clock, new_domain, adapters, job, start, target):
    referral = world.submitted(WEDNESDAY)
    told(world.domain)
    at(clock, start)
    second = new_domain(clock, adapters)
    results = {}
    doc_id = referral.id if target == "referral" else world.service_id
    first = new_domain(clock, dataclasses.replace(adapters, documents=BeforeWrite(
        adapters.documents, doc_id, lambda: results.setdefault("second", getattr(second.container.referral_timers, job)()))))
    results["first"] = getattr(first.container.referral_timers, job)()
    assert sorted(results.values()) == [0, 1]
    assert len(told(world.domain)) == 1


def test_a_retry_after_the_index_write_failed_tells_no_one_again(world, clock, new_domain, adapters):
    referral = world.submitted(WEDNESDAY)
    told(world.domain)
    at(clock, datetime(2026, 11, 9, 9, tzinfo=UTC))

    class IndexDown:
        def upsert(self, container, partition_key, doc):
            raise ConnectionError("directory unavailable")

        def __getattr__(self, name):
            return getattr(adapters.documents, name)

    crashed = new_domain(clock, dataclasses.replace(adapters, documents=IndexDown()))
    assert crashed.container.referral_timers.escalate_overdue() == 1                       # told; index not updated
    assert world.container.referral_deadlines.entry(referral.id).overdue_notified is False
    assert world.container.referral_timers.escalate_overdue() == 0                           # the referral decides
    assert world.container.referral_deadlines.entry(referral.id) == entry_of(world.read(referral)).but(
        etag=world.container.referral_deadlines.entry(referral.id).etag)
    assert len(told(world.domain)) == 1


# --- what the mails say ----------------------------------------------------------------------------------
def test_the_mails_go_to_the_right_people_and_name_no_patient(world, clock):
    overdue = world.submitted(WEDNESDAY)
    answered = world.submitted(WEDNESDAY)
    world.change(answered, status=ReferralStatus.OUTCOME_SENT, outcome_sent_at=iso(WEDNESDAY))
    world.submitted(datetime(2026, 11, 5, 9, tzinfo=UTC))                                   # due Mon 9
    drain(world.domain.adapters.queue)
    at(clock, datetime(2026, 11, 11, 9, tzinfo=UTC))                                         # 5 working days on
    world.submitted(datetime(2026, 11, 9, 9, tzinfo=UTC))                                   # due Wed 11
    counts = world.container.referral_timers.run()
    assert counts == {"dueToday": 1, "overdue": 2, "noOutcome": 0, "unacknowledged": 1}
    pump_notifications(world.container)
    mails = world.domain.adapters.mail.list(limit=100)
    by_subject: dict[str, list[str]] = {}
    for mail in mails:
        by_subject.setdefault(mail["subject"], []).append(mail["to"])
        for part in ("subject", "text", "html"):
            assert PATIENT_NAME not in mail[part] and QUESTION not in mail[part] and "9434765919" not in mail[part]
    by_subject = {subject: sorted(to) for subject, to in by_subject.items()}
    assert by_subject == {
        "Newcastle-Derm Dermatology: referrals due for review today": ["newcastle-derm@nhs.net"],
        "Newcastle-Derm Dermatology: a referral is overdue for review": ["rita@nhs.net", "rita@nhs.net",
                                                                         "sam@nhs.net", "sam@nhs.net"],
        "Newcastle-Derm Dermatology: an outcome waits for your acknowledgement": ["gail@nhs.net"],
    }
    digest = next(m for m in mails if "due for review today" in m["subject"])
    assert "Referrals due for review today (11 November 2026): 1" in digest["text"]
    overdue_texts = sorted({m["text"] for m in mails if "overdue" in m["subject"]})
    assert "by the end of 6 November 2026" in overdue_texts[0] + overdue_texts[1]
    assert "by the end of 9 November 2026" in overdue_texts[0] + overdue_texts[1]
    assert any(f"/clinics/{world.service_id}/referrals/{overdue.id}" in text for text in overdue_texts)
    reminder = next(m for m in mails if "acknowledgement" in m["subject"])
    assert f"/clinics/{world.practice_id}/referrals/{answered.id}" in reminder["text"]
    assert "on 4 November 2026" in reminder["text"]


def test_a_notice_whose_referral_was_reviewed_before_it_was_sent_is_not_sent(world, clock):
    referral = world.submitted(WEDNESDAY)
    drain(world.domain.adapters.queue)
    at(clock, datetime(2026, 11, 9, 9, tzinfo=UTC))
    assert world.container.referral_timers.escalate_overdue() == 1        # queued...
    world.change(referral, status=ReferralStatus.OUTCOME_SENT, outcome_sent_at=iso(clock.at))
    pump_notifications(world.container)                                    # ...and sent after the review
    assert world.domain.adapters.mail.list() == []
