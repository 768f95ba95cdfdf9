"""HTTP: the GP-referred pathway's core (../shared/API.md "Referrals and triage"): drafts, lesions,
submission, the worklists, the detail, outcomes, acknowledgement and cancellation. Images are
functions/api_referral_images.py, the FHIR export functions/api_referral_export.py.

Every route goes through `Access` (shared_code/access.py): the clinic in the path must be the
caller's, subscribed; a referral must be that clinic's (sent, or received once submitted: else 404);
a step of the other side is 403 `referral-side-required`."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from shared_code.access import ReferralAccess, Side
from shared_code.api_schemas import ListOf
from shared_code.http.common import Page, require_json
from shared_code.http.deps import Access, Clinician, Referrals
from shared_code.http.openapi import problem
from shared_code.http.offload import stores_only
from shared_code.http.routing import ApiRoute
from shared_code.referrals.records import ReferralStatus
from shared_code.referrals.schemas import (
    CancelIn, LesionIn, LesionOut, OutcomeIn, Referral, ReferralIn, ReferralPatch, ReferralSummary,
)

router = APIRouter(route_class=ApiRoute, prefix="/api/clinics/{clinicId}/referrals", tags=["clinician: referrals"])

SIDE = {403: problem("`referral-side-required`: a step of the other clinic of this referral; "
                     "`subscription-inactive`: the clinic's subscription has ended.")}
STATE = {409: problem("`referral-state-conflict`: not possible in the referral's current state (named in "
                      "`currentStatus`).")}
BUSY = {503: problem("`service-unavailable`: the referral is being changed by someone else; retry.")}


@router.post("", status_code=201, response_model=Referral, dependencies=[Depends(require_json)],
             responses={404: problem("`clinic-code-not-found`: no subscribed clinic accepting referrals has this "
                                     "code; `clinic-not-found`: not a member of this clinic."),
                        429: problem("`rate-limited`: too many clinic-code attempts; see Retry-After.")},
             description="Referring member: a draft referral to the service with `toClinicCode` (not one's own "
                         "clinic: 422). The patient's consent to share with the service must be true.")
def create_referral(clinicId: str, body: ReferralIn, response: Response, access: Access, referrals: Referrals,
                    p: Clinician) -> Referral:
    caller = access.clinic(p, clinicId)
    referral = referrals.drafts.create(caller, body)
    response.headers["Location"] = f"/api/clinics/{clinicId}/referrals/{referral.id}"
    return referrals.shown(ReferralAccess(caller.principal, caller.clinic, caller.member, referral, Side.REFERRER),
                           referral)


@router.get("", response_model=ListOf[ReferralSummary],
            description="`direction=sent`: the clinic's referrals, newest first, each with `status` and `outcome` "
                        "once given. `direction=received`: the service's worklist (never a draft), soonest "
                        "`reviewDueBy` first, each with `sla` while awaiting review.")
@stores_only
def list_referrals(
        clinicId: str, access: Access, referrals: Referrals, p: Clinician, page: Page,
        direction: Literal["sent", "received"] = Query(description="Which side's list."),
        status: ReferralStatus | None = Query(None, description="Only referrals in this state."),
) -> ListOf[ReferralSummary]:
    caller = access.clinic(p, clinicId)
    if direction == "sent":
        items, continuation = referrals.sent(caller, page.limit, page.continuation, status)
    else:
        items, continuation = referrals.received(caller, status, page.limit, page.continuation)
    return ListOf[ReferralSummary](items=items, continuation=continuation)


@router.get("/{referralId}", response_model=Referral,
            responses={403: problem("`subscription-inactive`: the clinic's subscription has ended.")},
            description="Either side: the referral (patient, history, consents, lesions with their images' metadata, "
                        "status, reviewDueBy, sla, outcome, the history of state changes) and, for the service's "
                        "members only, `decisionSupport`. Audited.")
@stores_only
def get_referral(clinicId: str, referralId: str, access: Access, referrals: Referrals, p: Clinician) -> Referral:
    return referrals.detail(access.referral(p, clinicId, referralId, None))


@router.patch("/{referralId}", response_model=Referral, dependencies=[Depends(require_json)],
              responses={**SIDE, **STATE, **BUSY},
              description="Referring member: change a draft's answers (`patient`, `history`, `clinicalQuestion`, "
                          "`priorityRequested`, `consents`; each sent replaces that answer). Also while "
                          "`information_requested`; after submission 409.")
def patch_referral(clinicId: str, referralId: str, body: ReferralPatch, access: Access, referrals: Referrals,
                   p: Clinician) -> Referral:
    caller = access.referral(p, clinicId, referralId, Side.REFERRER)
    return referrals.shown(caller, referrals.drafts.patch(caller, body))


@router.post("/{referralId}/lesions", status_code=201, response_model=LesionOut, dependencies=[Depends(require_json)],
             responses={**SIDE, **STATE, **BUSY},
             description="Referring member: add a lesion (SNOMED body site and laterality) to a draft (or a referral "
                         "the service asked for more about).")
def add_lesion(clinicId: str, referralId: str, body: LesionIn, response: Response, access: Access,
               referrals: Referrals, p: Clinician) -> LesionOut:
    caller = access.referral(p, clinicId, referralId, Side.REFERRER)
    lesion = referrals.drafts.add_lesion(caller, body)
    response.headers["Location"] = f"/api/clinics/{clinicId}/referrals/{referralId}"
    return LesionOut.model_validate({"id": lesion.id, "bodySite": lesion.body_site.to_doc(),
                                     "description": lesion.description, "sizeMm": lesion.size_mm,
                                     "createdAt": lesion.created_at, "images": []})


@router.post("/{referralId}/submit", response_model=Referral,
             responses={**SIDE, **STATE, **BUSY,
                        422: problem("`referral-incomplete`: `missing` lists each lesion's missing views (the "
                                     "service's requiredViews), or that there is no lesion.")},
             description="Referring member: submit (or submit again after `request_information`): "
                         "`awaiting_review` with `submittedAt` and `reviewDueBy`; the service is notified.")
def submit_referral(clinicId: str, referralId: str, access: Access, referrals: Referrals, p: Clinician) -> Referral:
    caller = access.referral(p, clinicId, referralId, Side.REFERRER)
    return referrals.shown(caller, referrals.submission.submit(caller))


@router.post("/{referralId}/outcome", response_model=Referral, dependencies=[Depends(require_json)],
             responses={**SIDE, **STATE, **BUSY},
             description="Service member: the outcome (`request_information` sends the referral back to the "
                         "referrer). The referring clinic is notified at once.")
def record_outcome(clinicId: str, referralId: str, body: OutcomeIn, access: Access, referrals: Referrals,
                   p: Clinician) -> Referral:
    caller = access.referral(p, clinicId, referralId, Side.SERVICE)
    return referrals.shown(caller, referrals.outcomes.record(caller, body))


@router.post("/{referralId}/acknowledge", response_model=Referral, responses={**SIDE, **STATE, **BUSY},
             description="Referring member: the outcome has been read: `closed`.")
def acknowledge_referral(clinicId: str, referralId: str, access: Access, referrals: Referrals,
                         p: Clinician) -> Referral:
    caller = access.referral(p, clinicId, referralId, Side.REFERRER)
    return referrals.shown(caller, referrals.outcomes.acknowledge(caller))


@router.post("/{referralId}/cancel", response_model=Referral, responses={**SIDE, **STATE, **BUSY},
             description="Referring member: withdraw the referral before an outcome (`cancelled`), with an optional "
                         "body `{\"reason\": ...}`.")
def cancel_referral(clinicId: str, referralId: str, request: Request, access: Access, referrals: Referrals,
                    p: Clinician, body: CancelIn | None = None) -> Referral:
    if request.headers.get("content-length", "0") != "0":  # the body is optional; when sent, JSON
        require_json(request)
    caller = access.referral(p, clinicId, referralId, Side.REFERRER)
    return referrals.shown(caller, referrals.outcomes.cancel(caller, body))
