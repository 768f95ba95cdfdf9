"""A referral as the API shows it (schemas.py): the worklists' summary and the full detail.

`sla` is computed at every read from `reviewDueBy` (review_clock.sla), and only while the referral
waits for the service (`awaiting_review`): with the referrer, or decided, nothing is due from the
service. `decisionSupport` is shown to the service's members only (the caller passes it; a
referrer's view is built without it), and images come from R2's ReferralImages (their metadata,
with `quality`), listed under the lesion that names them."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from shared_code.clock import parse_time
from shared_code.referrals import review_clock
from shared_code.referrals.records import Referral, ReferralStatus, Sla
from shared_code.referrals.schemas import Referral as ReferralOut
from shared_code.referrals.schemas import ReferralSummary


class ShownImage(Protocol):
    def public(self) -> dict[str, Any]: ...


def sla_of(referral: Referral, now: datetime) -> Sla | None:
    if referral.status is not ReferralStatus.AWAITING_REVIEW or not referral.review_due_by:
        return None
    return review_clock.sla(parse_time(referral.review_due_by), now)


def _summary_fields(referral: Referral, now: datetime) -> dict[str, Any]:
    doc = referral.to_doc()
    return {
        "id": referral.id, "status": referral.status, "priority": referral.priority,
        "priorityRequested": referral.priority_requested, "patient": doc["patient"],
        "referringClinic": {"id": referral.referring_clinic_id, "name": referral.referring_clinic_name},
        "serviceClinic": {"id": referral.service_clinic_id, "name": referral.service_clinic_name},
        "createdAt": referral.created_at, "submittedAt": referral.submitted_at, "reviewDueBy": referral.review_due_by,
        "sla": sla_of(referral, now), "outcome": doc.get("outcome"),
    }


def summary(referral: Referral, now: datetime) -> ReferralSummary:
    return ReferralSummary.model_validate(_summary_fields(referral, now))


def detail(referral: Referral, now: datetime, images: list[ShownImage],
           decision_support: dict[str, Any] | None) -> ReferralOut:
    doc = referral.to_doc()
    shown = {image["id"]: image for image in (i.public() for i in images)}
    lesions = []
    for lesion, stored in zip(referral.lesions, doc.get("lesions", [])):
        lesions.append({"id": lesion.id, "bodySite": stored["bodySite"], "description": lesion.description,
                        "sizeMm": lesion.size_mm, "createdAt": lesion.created_at,
                        "images": [shown[i.image_id] for i in lesion.images if i.image_id in shown]})
    return ReferralOut.model_validate({
        **_summary_fields(referral, now), "clinicalQuestion": referral.clinical_question, "history": doc["history"],
        "consents": doc["consents"], "lesions": lesions, "updatedAt": referral.updated_at,
        "firstSubmittedAt": referral.first_submitted_at, "outcomeSentAt": referral.outcome_sent_at,
        "acknowledgedAt": referral.acknowledged_at, "cancelledAt": referral.cancelled_at,
        "log": doc.get("log", []), "decisionSupport": decision_support,
    })
