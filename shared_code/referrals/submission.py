"""Submitting a referral to its service (first time, or again after the service asked for more).

Refused (422 `referral-incomplete`, nothing changed) unless the patient's consent to share with the
service is recorded and every lesion has a photograph of every view the SERVICE requires now (its
`referralService.requiredViews`); `missing` lists, per lesion, the views it lacks, or says there is
no lesion at all. Then, in one write: `awaiting_review`, `received` (the service sees it from now
on), `submittedAt`, `reviewDueBy` (the review clock, shared_code/referrals/review_clock.py: from
the submission, or moved later by the working days spent waiting on a resubmission), decision
support queued where the service is advisory (R4's `plan`, before the write), the state-change
event, and the service's notification (ids, priority and due time only). After the write the
queued assessments are sent (`enqueue`) and the clock's index kept."""
from __future__ import annotations

from typing import Any, Protocol

from shared_code.access import ReferralAccess
from shared_code.clock import Clock, iso, parse_time
from shared_code.errors import ReferralIncomplete
from shared_code.notifications.contract import REFERRAL_SUBMITTED
from shared_code.referrals import review_clock
from shared_code.referrals.records import Referral, ReferralService, ReferralStatus
from shared_code.referrals.transitions import Action, moved, require
from shared_code.referrals.writes import Notice, ReferralWrites
from shared_code.sharing.repository import ClinicRepository


class Assessments(Protocol):
    """shared_code/referrals/decision_support.py: DecisionSupport."""

    def plan(self, referral: Referral, service: ReferralService) -> Referral: ...

    def enqueue(self, referral: Referral) -> None: ...


def missing(referral: Referral, service: ReferralService) -> list[dict[str, Any]]:
    """What stops `referral` from being submitted to `service`: [] when nothing does."""
    gaps: list[dict[str, Any]] = []
    if not referral.consents.share_with_service:
        gaps.append({"lesionId": None, "missing": ["consents.shareWithService"]})
    if not referral.lesions:
        gaps.append({"lesionId": None, "missing": ["lesion"]})
    for lesion in referral.lesions:
        views = [view.value for view in service.required_views if view not in lesion.views()]
        if views:
            gaps.append({"lesionId": lesion.id, "missing": views})
    return gaps


def service_settings(clinics: ClinicRepository, referral: Referral) -> ReferralService:
    """The service's settings as they are now (a clinic that has gone keeps the defaults)."""
    clinic = clinics.get(referral.service_clinic_id)
    return clinic.referral_service if clinic is not None else ReferralService()


class ReferralSubmission:
    def __init__(self, writes: ReferralWrites, clinics: ClinicRepository, assessments: Assessments, clock: Clock):
        self._writes = writes
        self._clinics = clinics
        self._assessments = assessments
        self._clock = clock

    def submit(self, access: ReferralAccess) -> Referral:
        service = service_settings(self._clinics, access.referral)

        def change(current: Referral) -> Referral:
            require(current, Action.SUBMIT)  # the state first: a submitted referral is 409, not 422
            gaps = missing(current, service)
            if gaps:
                raise ReferralIncomplete(gaps)
            now = self._clock.now()
            if current.status is ReferralStatus.INFORMATION_REQUESTED and current.review_due_by \
                    and current.information_requested_at:
                due = review_clock.resubmitted_due_by(parse_time(current.review_due_by),
                                                      parse_time(current.information_requested_at), now, service)
            else:
                due = review_clock.review_due_by(now, service)
            submitted = moved(current, Action.SUBMIT, access, now, received=True, submitted_at=iso(now),
                              first_submitted_at=current.first_submitted_at or iso(now), review_due_by=iso(due),
                              outcome=None, due_today_notified_on=None, overdue_notified_at=None)
            return self._assessments.plan(submitted, service)

        written = self._writes.update(access.referral, change, notice=_notice)
        self._assessments.enqueue(written)
        return written


def _notice(referral: Referral) -> Notice:
    return Notice(REFERRAL_SUBMITTED, {"clinicId": referral.service_clinic_id,
                                       "referringClinicId": referral.referring_clinic_id, "referralId": referral.id,
                                       "priority": referral.priority.value, "reviewDueBy": referral.review_due_by})
