"""Submission, outcomes and the loop back on the fakes (shared_code/referrals/submission.py,
outcomes.py): the review clock set and moved, the service and the referrer told with ids only, the
clock's index kept after each change, and nothing changed by a refused step."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from shared_code.access import Side
from shared_code.errors import ReferralIncomplete, ReferralStateConflict
from shared_code.referrals.records import ReferralStatus
from shared_code.referrals.schemas import LesionIn, OutcomeIn, ReferralIn
from shared_code.sharing.schemas import ClinicPatch
from tests.support.referrals import PRACTICE_CODE, SERVICE_CODE, lesion_body, lesion_record, referral_body
from tests.support.steps import queued
from tests.unit.conftest import OPS, clinician

GAIL, RITA = clinician("gail"), clinician("rita")
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)


class World:
    def __init__(self, domain):
        self.domain = domain
        self.c = domain.container
        self.practice = domain.clinic(PRACTICE_CODE, admin_email="gail@nhs.net")
        self.service = domain.clinic(SERVICE_CODE, admin_email="rita@nhs.net")
        self.c.sharing.clinics.patch(OPS, self.service, ClinicPatch.model_validate(
            {"referralService": {"acceptsReferrals": True}}))

    def draft(self) -> str:
        access = self.c.access.clinic(GAIL, self.practice)
        return self.c.referrals.drafts.create(access, ReferralIn.model_validate(referral_body())).id

    def photographed(self, referral_id: str, *views: str) -> None:
        """A lesion with photographs of `views` (written as ReferralImages.upload leaves it)."""
        stored = self.c.referral_records.get(self.service, referral_id)
        lesion = lesion_record(f"les_{len(stored.lesions)}", *views)
        self.c.referral_records.replace(stored.but(lesions=[*stored.lesions, lesion]))

    def referrer(self, referral_id: str):
        return self.c.access.referral(GAIL, self.practice, referral_id, Side.REFERRER)

    def reviewer(self, referral_id: str):
        return self.c.access.referral(RITA, self.service, referral_id, Side.SERVICE)

    def submit(self, referral_id: str):
        return self.c.referrals.submission.submit(self.referrer(referral_id))

    def outcome(self, referral_id: str, outcome: str = "routine_appointment", **body):
        return self.c.referrals.outcomes.record(self.reviewer(referral_id), OutcomeIn.model_validate(
            {"outcome": outcome, "adviceToReferrer": "Seen.", **body}))

    def messages(self, kind: str) -> list[dict]:
        return [m for m in queued(self.domain.adapters.queue) if m["kind"] == kind]


@pytest.fixture
def world(domain, clock) -> World:
    clock.at = MONDAY
    return World(domain)


def test_submission_sets_the_clock_tells_the_service_with_ids_only_and_is_tracked(world):
    referral_id = world.draft()
    world.photographed(referral_id, "distant", "close_up", "dermoscopic")
    submitted = world.submit(referral_id)
    assert (submitted.status, submitted.received) == (ReferralStatus.AWAITING_REVIEW, True)
    assert (submitted.submitted_at, submitted.first_submitted_at) == ("2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z")
    assert submitted.review_due_by == "2026-12-02T23:59:59Z"
    [message] = world.messages("referral.submitted")
    assert message["data"] == {"clinicId": world.service, "referringClinicId": world.practice,
                               "referralId": referral_id, "priority": "routine",
                               "reviewDueBy": "2026-12-02T23:59:59Z"}
    assert "Brenda" not in json.dumps(message) and "9434765919" not in json.dumps(message)
    entry = world.c.referral_deadlines.entry(referral_id)
    assert entry is not None and entry.review_due_by == submitted.review_due_by


def test_an_incomplete_referral_is_refused_and_nothing_changes(world):
    referral_id = world.draft()
    world.photographed(referral_id, "close_up")
    before = world.c.referral_records.get(world.service, referral_id)
    with pytest.raises(ReferralIncomplete) as refused:
        world.submit(referral_id)
    assert refused.value.extensions["missing"] == [{"lesionId": "les_0", "missing": ["distant", "dermoscopic"]}]
    after = world.c.referral_records.get(world.service, referral_id)
    assert after.etag == before.etag and world.messages("referral.submitted") == []
    assert world.c.referral_deadlines.entry(referral_id) is None


def test_a_state_conflict_wins_over_incompleteness(world):
    referral_id = world.draft()
    world.photographed(referral_id, "distant", "close_up", "dermoscopic")
    world.submit(referral_id)
    with pytest.raises(ReferralStateConflict):
        world.submit(referral_id)


def test_information_requested_stops_the_clock_and_resubmission_moves_it_by_the_days_waited(world, clock):
    referral_id = world.draft()
    world.photographed(referral_id, "distant", "close_up", "dermoscopic")
    world.submit(referral_id)                                         # due Wednesday 2 December
    asked = world.outcome(referral_id, "request_information", requested="A sharper dermoscopic image.")
    assert asked.status is ReferralStatus.INFORMATION_REQUESTED
    assert asked.information_requested_at == "2026-11-30T10:00:00Z"
    [told] = world.messages("referral.outcome")
    assert told["data"]["clinicId"] == world.practice
    clock.at = datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)      # Thursday: three working days later
    world.c.referrals.drafts.add_lesion(world.referrer(referral_id), LesionIn.model_validate(lesion_body()))
    with pytest.raises(ReferralIncomplete):
        world.submit(referral_id)                                     # the new lesion has no photograph yet
    stored = world.c.referral_records.get(world.service, referral_id)
    lesions = [stored.lesions[0], lesion_record(stored.lesions[1].id, "distant", "close_up", "dermoscopic")]
    world.c.referral_records.replace(stored.but(lesions=lesions))
    again = world.submit(referral_id)
    assert again.review_due_by == "2026-12-07T23:59:59Z"  # Wednesday + 3 working days (Thu, Fri, Mon)
    assert again.first_submitted_at == "2026-11-30T10:00:00Z" and again.submitted_at == "2026-12-03T15:00:00Z"
    assert again.outcome is None and len(world.messages("referral.submitted")) == 2


def test_closing_the_loop_removes_the_referral_from_the_clocks_index(world):
    referral_id = world.draft()
    world.photographed(referral_id, "distant", "close_up", "dermoscopic")
    world.submit(referral_id)
    decided = world.outcome(referral_id, "urgent_suspected_cancer")
    assert world.c.referral_deadlines.entry(referral_id).status is ReferralStatus.OUTCOME_SENT
    assert decided.priority.value == "urgent_suspected_cancer"
    [told] = world.messages("referral.outcome")
    assert told["data"]["priority"] == "urgent_suspected_cancer"
    closed = world.c.referrals.outcomes.acknowledge(world.referrer(referral_id))
    assert closed.status is ReferralStatus.CLOSED and world.c.referral_deadlines.entry(referral_id) is None
