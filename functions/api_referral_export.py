"""HTTP: a referral for the electronic patient record (../shared/API.md, "Referrals and triage"):
`GET /api/clinics/{clinicId}/referrals/{referralId}/export?format=fhir`, either side, audited.

The Bundle (shared_code/referrals/fhir_export.py) names the patient and carries every image: the
answer is never cached, and the export is in the referral's access audit before it is answered."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from shared_code.http.deps import Access, Clinician, ReferralExports
from shared_code.http.openapi import INTEGRITY, KEY_SERVICE, problem
from shared_code.http.routing import ApiRoute
from shared_code.sharing.fhir_export import FHIR_JSON

router = APIRouter(route_class=ApiRoute, tags=["clinician: referrals"])

_NO_STORE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


@router.get("/api/clinics/{clinicId}/referrals/{referralId}/export",
            responses={200: {"content": {FHIR_JSON: {}}, "description": "A FHIR R4 Bundle (collection)."},
                       403: problem("`subscription-inactive`: the clinic's subscription has ended."),
                       **KEY_SERVICE, **INTEGRITY},
            description="Either side: the referral as a FHIR R4 Bundle with UK Core profiles: ServiceRequest (the "
                        "current priority; `urgent_suspected_cancer` as `urgent` with the fast-track code), Patient "
                        "(NHS number with its verification status), a DocumentReference per image, "
                        "QuestionnaireResponse (history), a Consent per purpose, Task (status, due date) and, once "
                        "given, the outcome as DiagnosticReport. Decision support is not exported. Audited.")
def export_referral(clinicId: str, referralId: str, access: Access, exports: ReferralExports, p: Clinician,
                    format: Literal["fhir"] = Query("fhir", description="Only `fhir` (FHIR R4 JSON).")) -> Response:
    body = exports.export(access.referral(p, clinicId, referralId, None))
    return Response(body, media_type=FHIR_JSON, headers={
        "Content-Disposition": f'attachment; filename="referral-{referralId}.fhir.json"', **_NO_STORE})
