"""HTTP: operations staff (platform_admin) onboard clinics and manage their subscriptions.
Platform admins see clinics, never patients' data: no route here touches a patient partition."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from shared_code.api_schemas import ListOf
from shared_code.http.common import Page, require_json
from shared_code.http.deps import Clinics, PlatformAdmin
from shared_code.http.openapi import problem
from shared_code.http.routing import ApiRoute
from shared_code.sharing.schemas import Clinic, ClinicIn, ClinicPatch

router = APIRouter(route_class=ApiRoute, prefix="/api/admin/clinics", tags=["operations: clinics"])


@router.post("", status_code=201, response_model=Clinic, dependencies=[Depends(require_json)],
             responses={409: problem("`clinic-code-taken`: the code is taken.")},
             description="Onboard a clinic with its code, subscription and first clinic_admin (409 if the code is taken).")
def onboard_clinic(body: ClinicIn, response: Response, clinics: Clinics, p: PlatformAdmin) -> Clinic:
    clinic = clinics.onboard(p, body)
    response.headers["Location"] = f"/api/admin/clinics/{clinic['id']}"
    return Clinic.model_validate(clinic)


@router.get("", response_model=ListOf[Clinic], description="Newest first.")
def list_clinics(clinics: Clinics, p: PlatformAdmin, page: Page) -> ListOf[Clinic]:
    items, continuation = clinics.list(page.limit, page.continuation)
    return ListOf[Clinic].page(items, continuation)


@router.patch("/{clinicId}", response_model=Clinic, dependencies=[Depends(require_json)],
              description="Change the subscription end, the notification e-mail, the name, or the clinic's "
                          "`referralService` settings (merged: the settings not sent keep their values).")
def patch_clinic(clinicId: str, body: ClinicPatch, clinics: Clinics, p: PlatformAdmin) -> Clinic:
    return Clinic.model_validate(clinics.patch(p, clinicId, body))
