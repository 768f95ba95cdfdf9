"""The referral core's rules on records and fakes: what makes a referral complete for its service, the
outcome's rules that depend on the referral, and the one write loop (a change re-checked against the
fresh referral on a conflict, Busy after persistent contention, the clock's index kept without ever
failing a change that happened)."""
from __future__ import annotations

import pytest

from shared_code.errors import Busy, InvalidField, ReferralStateConflict
from shared_code.images.records import View
from shared_code.ports.errors import PreconditionFailed
from shared_code.referrals.outcomes import check_outcome
from shared_code.referrals.records import ReferralEvent, ReferralService, ReferralStatus
from shared_code.referrals.repository import ReferralRepository
from shared_code.referrals.schemas import OutcomeIn
from shared_code.referrals.submission import missing
from shared_code.referrals.transitions import Action, require
from shared_code.referrals.writes import Notice, ReferralWrites
from tests import fakes
from tests.support.referrals import lesion_record, referral_record
from tests.support.steps import queued

ALL = ReferralService(accepts_referrals=True)


# --- completeness ---
def test_a_referral_without_a_lesion_is_incomplete():
    assert missing(referral_record(), ALL) == [{"lesionId": None, "missing": ["lesion"]}]


def test_each_lesion_lists_the_views_the_service_requires_and_it_lacks():
    referral = referral_record(lesions=[lesion_record("l1", "close_up"), lesion_record("l2", *[v.value for v in View]),
                                        lesion_record("l3")])
    assert missing(referral, ALL) == [{"lesionId": "l1", "missing": ["distant", "dermoscopic"]},
                                      {"lesionId": "l3", "missing": ["distant", "close_up", "dermoscopic"]}]
    close_up_only = ReferralService(accepts_referrals=True, required_views=[View.CLOSE_UP])
    assert missing(referral, close_up_only) == [{"lesionId": "l3", "missing": ["close_up"]}]


def test_without_consent_to_share_with_the_service_nothing_is_complete():
    referral = referral_record(lesions=[lesion_record("l1", "distant", "close_up", "dermoscopic")])
    unconsented = referral.but(consents=referral.consents.but(share_with_service=False))
    assert missing(unconsented, ALL) == [{"lesionId": None, "missing": ["consents.shareWithService"]}]
    assert missing(referral, ALL) == []


# --- outcomes ---
class Results:
    def __init__(self, has: bool):
        self.has = has

    def has_result(self, referral) -> bool:
        return self.has


def outcome(**body) -> OutcomeIn:
    return OutcomeIn.model_validate({"outcome": "routine_appointment", "adviceToReferrer": "Seen.", **body})


def test_lesion_outcomes_must_name_the_referrals_own_lesions():
    referral = referral_record("awaiting_review", lesions=[lesion_record("l1", "close_up")])
    check_outcome(referral, outcome(lesionOutcomes=[{"lesionId": "l1", "outcome": "discharge_with_advice"}]),
                  Results(False))
    with pytest.raises(InvalidField) as refused:
        check_outcome(referral, outcome(lesionOutcomes=[{"lesionId": "l9", "outcome": "discharge_with_advice"}]),
                      Results(False))
    assert refused.value.extensions["errors"][0]["field"] == "lesionOutcomes"


def test_agreement_with_decision_support_needs_a_result_to_agree_with():
    referral = referral_record("awaiting_review")
    check_outcome(referral, outcome(decisionSupportAgreement="disagree"), Results(True))
    with pytest.raises(InvalidField):
        check_outcome(referral, outcome(decisionSupportAgreement="agree"), Results(False))


@pytest.mark.parametrize("body", [{"outcome": "redirect"}, {"department": "ent"},
                                  {"outcome": "request_information"}, {"requested": "more"},
                                  {"lesionOutcomes": [{"lesionId": "l1", "outcome": "redirect"}] * 2}])
def test_the_vocabularys_own_rules_are_the_schemas(body):
    with pytest.raises(ValueError):
        outcome(**body)


# --- the write loop ---
class Deadlines:
    def __init__(self, fail: bool = False):
        self.tracked: list[str] = []
        self.fail = fail

    def track(self, referral) -> None:
        if self.fail:
            raise RuntimeError("index unavailable")
        self.tracked.append(referral.status.value)


def stored(documents, status: str = "draft"):
    records = ReferralRepository(documents)
    return records, records.create(referral_record(status))


def submit(referral):
    require(referral, Action.SUBMIT)
    return referral.but(status=ReferralStatus.AWAITING_REVIEW)


def test_a_change_that_lost_a_race_is_checked_again_on_the_fresh_referral(clock):
    documents = fakes.adapters(clock).documents
    records, draft = stored(documents)
    deadlines = Deadlines()
    writes = ReferralWrites(records, outbox=None, deadlines=deadlines)
    writes.update(draft, submit)                  # the first submission wins
    with pytest.raises(ReferralStateConflict) as refused:
        writes.update(draft, submit)              # the second read the draft before it: 409, not a second write
    assert refused.value.extensions == {"currentStatus": "awaiting_review"}
    assert deadlines.tracked == ["awaiting_review"]


def test_persistent_contention_is_busy_not_a_lost_write(clock):
    class AlwaysChanged(ReferralRepository):
        def replace(self, referral, event_id=None):
            raise PreconditionFailed()

    documents = fakes.adapters(clock).documents
    _, draft = stored(documents)
    with pytest.raises(Busy):
        ReferralWrites(AlwaysChanged(documents), outbox=None, deadlines=Deadlines()).update(draft, submit)


def test_a_failing_clock_index_never_fails_a_change_that_happened(clock, caplog):
    documents = fakes.adapters(clock).documents
    records, draft = stored(documents)
    written = ReferralWrites(records, outbox=None, deadlines=Deadlines(fail=True)).update(draft, submit)
    assert written.status is ReferralStatus.AWAITING_REVIEW
    assert records.get("cl_derm", "rf_1").status is ReferralStatus.AWAITING_REVIEW
    assert "referral clock not kept: referral=rf_1" in caplog.text


def test_the_sent_pointer_follows_the_status_and_a_failing_write_of_it_never_fails_the_change(clock, caplog):
    class PointerDown(ReferralRepository):
        def point(self, referral):
            raise TimeoutError()

    documents = fakes.adapters(clock).documents
    records, draft = stored(documents)
    written = ReferralWrites(PointerDown(documents), outbox=None, deadlines=Deadlines()).update(draft, submit)
    assert written.status is ReferralStatus.AWAITING_REVIEW
    assert "sent pointer not kept: referral=rf_1" in caplog.text
    assert records.sent(written.referring_clinic_id, "rf_1").status is ReferralStatus.DRAFT  # lags, and
    assert records.sent_page(written.referring_clinic_id, ReferralStatus.DRAFT, 50, None)[0] == []  # is not shown
    records.point(written)  # what the next change's write does
    assert records.sent(written.referring_clinic_id, "rf_1").status is ReferralStatus.AWAITING_REVIEW
    [found], _ = records.sent_page(written.referring_clinic_id, ReferralStatus.AWAITING_REVIEW, 50, None)
    assert found.id == "rf_1"


def logged(referral, to: str):
    """`referral` with one more state change in its history."""
    entry = ReferralEvent(at="2026-11-30T10:00:00Z", by="m_rita", clinic_id="cl_derm", action="x",
                          from_status=referral.status, to_status=ReferralStatus(to))
    return referral.but(status=ReferralStatus(to), log=[*referral.log, entry])


def test_each_notifying_change_is_its_own_notification(domain):
    records, referral = stored(domain.adapters.documents, "awaiting_review")
    writes = ReferralWrites(records, domain.container.outbox, Deadlines())

    def notice(r):
        return Notice("referral.outcome", {"clinicId": "cl_gp", "serviceClinicId": "cl_derm", "referralId": r.id,
                                           "priority": "routine"})

    asked = writes.update(referral, lambda r: logged(r, "information_requested"), notice)
    resubmitted = writes.update(asked, lambda r: logged(r, "awaiting_review"))
    decided = writes.update(resubmitted, lambda r: logged(r, "outcome_sent"), notice)
    keys = [body["dedupeKey"] for body in queued(domain.adapters.queue)]
    assert keys == ["referral.outcome:rf_1:1", "referral.outcome:rf_1:3"]  # two changes: two notices
    assert len(decided.events) == 2  # each event id is stored in the write it belongs to
