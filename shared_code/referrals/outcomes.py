"""The service's outcome, and the referrer closing the loop (acknowledge) or withdrawing (cancel).

An outcome is one of API.md's vocabulary (records.OutcomeCode). Schema rules (schemas.OutcomeIn):
`adviceToReferrer` always, `department` for `redirect` only, `requested` for `request_information`
only. Rules on the referral (422 invalid-field, nothing changed): each of `lesionOutcomes` names one
of THIS referral's lesions; `decisionSupportAgreement` only where a decision-support result exists
(the agreement is recorded for performance monitoring, never to change the result). Any outcome may
upgrade the priority to the suspected-cancer pathway, whatever was requested (Referral.priority).

`request_information` sends the referral back to the referrer (`information_requested`, the clock
stopped: submission.py moves `reviewDueBy` on resubmission); every other outcome is `outcome_sent`.
Either way the referring clinic is notified in the same write (no patient, no clinical text)."""
from __future__ import annotations

from typing import Protocol

from shared_code.access import ReferralAccess
from shared_code.clock import Clock, iso
from shared_code.errors import InvalidField
from shared_code.notifications.contract import REFERRAL_OUTCOME
from shared_code.referrals.records import LesionOutcome, Outcome, OutcomeCode, Referral
from shared_code.referrals.schemas import CancelIn, OutcomeIn
from shared_code.referrals.transitions import Action, moved, require
from shared_code.referrals.writes import Notice, ReferralWrites


class Results(Protocol):
    """shared_code/referrals/decision_support.py: DecisionSupport.has_result."""

    def has_result(self, referral: Referral) -> bool: ...


def check_outcome(referral: Referral, body: OutcomeIn, results: Results) -> None:
    """The outcome's rules that depend on the referral (the schema checked the rest)."""
    known = {lesion.id for lesion in referral.lesions}
    strangers = [item.lesionId for item in body.lesionOutcomes if item.lesionId not in known]
    errors = [("lesionOutcomes", f"not a lesion of this referral: {lesion_id}") for lesion_id in strangers]
    if body.decisionSupportAgreement is not None and not results.has_result(referral):
        errors.append(("decisionSupportAgreement", "there is no decision-support result to agree with"))
    if errors:
        raise InvalidField(*errors)


class ReferralOutcomes:
    def __init__(self, writes: ReferralWrites, results: Results, clock: Clock):
        self._writes = writes
        self._results = results
        self._clock = clock

    def record(self, access: ReferralAccess, body: OutcomeIn) -> Referral:
        asking = body.outcome is OutcomeCode.REQUEST_INFORMATION

        def change(current: Referral) -> Referral:
            require(current, Action.OUTCOME)  # the state first: an outcome after an outcome is 409
            check_outcome(current, body, self._results)
            now = self._clock.now()
            outcome = Outcome(outcome=body.outcome, advice_to_referrer=body.adviceToReferrer,
                              department=body.department, requested=body.requested,
                              lesion_outcomes=[LesionOutcome(lesion_id=item.lesionId, outcome=item.outcome,
                                                             note=item.note) for item in body.lesionOutcomes],
                              decision_support_agreement=body.decisionSupportAgreement, decided_at=iso(now),
                              decided_by=access.member.id)
            if asking:  # the request is kept in the history: the outcome is cleared on resubmission
                return moved(current, Action.REQUEST_INFORMATION, access, now, reason=body.requested,
                             outcome=outcome, information_requested_at=iso(now))
            return moved(current, Action.OUTCOME, access, now, reason=body.outcome.value, outcome=outcome,
                         outcome_sent_at=iso(now))

        return self._writes.update(access.referral, change, notice=_notice)

    def acknowledge(self, access: ReferralAccess) -> Referral:
        def change(current: Referral) -> Referral:
            now = self._clock.now()
            return moved(current, Action.ACKNOWLEDGE, access, now, acknowledged_at=iso(now))

        return self._writes.update(access.referral, change)

    def cancel(self, access: ReferralAccess, body: CancelIn | None) -> Referral:
        reason = body.reason if body is not None else None

        def change(current: Referral) -> Referral:
            now = self._clock.now()
            return moved(current, Action.CANCEL, access, now, reason=reason, cancelled_at=iso(now))

        return self._writes.update(access.referral, change)


def _notice(referral: Referral) -> Notice:
    return Notice(REFERRAL_OUTCOME, {"clinicId": referral.referring_clinic_id,
                                     "serviceClinicId": referral.service_clinic_id, "referralId": referral.id,
                                     "priority": referral.priority.value})
