"""HTTP: sharing a folder with a clinic (patient), the patient's access log, and the clinician's
side of a share: worklist, detail, image content and thumbnail, EPR export.

Every clinician route first passes `Access` (shared_code/access.py), which decides who may see
what; the handlers only choose the operation and hand over."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from shared_code.access import EXPORT_EPR, VIEW
from shared_code.api_schemas import ListOf
from shared_code.http.common import Page, image_response, require_json
from shared_code.http.deps import Access, Audit, Clinician, ClinicianViews, Grants, Patient
from shared_code.http.offload import stores_only
from shared_code.http.openapi import INTEGRITY, KEY_SERVICE, problem
from shared_code.http.routing import ApiRoute
from shared_code.sharing.fhir_export import FHIR_JSON
from shared_code.sharing.schemas import AccessLogEntry, Grant, GrantDetail, GrantStatus, ShareIn

router = APIRouter(route_class=ApiRoute)

_CLINIC_SHARE = "/api/clinics/{clinicId}/shares/{grantId}"
_NO_STORE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


# --- patient ---
@router.post("/api/folders/{folderId}/shares", status_code=201, response_model=Grant, tags=["patient: sharing"],
             dependencies=[Depends(require_json)],
             responses={429: problem("`rate-limited`: too many clinic-code attempts; see Retry-After.")},
             description="Share the folder with the clinic whose code is given, until `expiresAt` (or for "
                         "`durationDays`), for the purposes given; `consent.accepted` must be true. The clinic is notified.")
def create_share(folderId: str, body: ShareIn, grants: Grants, caller: Patient) -> Grant:
    return Grant.model_validate(grants.create(caller.principal, caller.patient_id, folderId, body))


@router.get("/api/folders/{folderId}/shares", response_model=ListOf[Grant], tags=["patient: sharing"],
            description="The folder's shares, newest first, each with its status now.")
def list_shares(folderId: str, grants: Grants, caller: Patient, page: Page) -> ListOf[Grant]:
    items, continuation = grants.list_for_folder(caller.patient_id, folderId, page.limit, page.continuation)
    return ListOf[Grant].page(items, continuation)


@router.delete("/api/shares/{grantId}", status_code=204, tags=["patient: sharing"],
               responses={503: problem("`service-unavailable`: the share is busy; retry after Retry-After.")},
               description="Revoke at once. The consent record stays as it was given; revoking twice is harmless.")
def revoke_share(grantId: str, grants: Grants, caller: Patient) -> Response:
    grants.revoke(caller.principal, caller.patient_id, grantId)
    return Response(status_code=204)


@router.get("/api/me/access-log", response_model=ListOf[AccessLogEntry], tags=["patient: account"],
            description="Every clinician action on your data (viewed, downloaded, exported, commented), newest first.")
@stores_only
def access_log(audit: Audit, caller: Patient, page: Page) -> ListOf[AccessLogEntry]:
    entries, continuation = audit.access_log(caller.principal, caller.patient_id, page.limit, page.continuation)
    return ListOf[AccessLogEntry].page((e.public() for e in entries), continuation)


# --- clinician ---
@router.get("/api/clinics/{clinicId}/shares", response_model=ListOf[Grant], tags=["clinician: shares"],
            description="The clinic's worklist of shared folders, newest first; `status` filters by the status now.")
@stores_only
def worklist(clinicId: str, access: Access, grants: Grants, p: Clinician, page: Page,
             status: GrantStatus | None = Query(None)) -> ListOf[Grant]:
    access.clinic(p, clinicId)
    items, continuation = grants.worklist(clinicId, status, page.limit, page.continuation)
    return ListOf[Grant].page(items, continuation)


@router.get(_CLINIC_SHARE, response_model=GrantDetail, tags=["clinician: shares"],
            description="The grant, the folder, the patient's name (and NHS number, where given), and the metadata "
                        "of the folder's ready images. Audited.")
def grant_detail(clinicId: str, grantId: str, access: Access, views: ClinicianViews, p: Clinician) -> GrantDetail:
    return GrantDetail.model_validate(views.detail(access.grant(p, clinicId, grantId, VIEW)))


def _image(access: Access, views: ClinicianViews, p: Clinician, clinic_id: str, grant_id: str, image_id: str,
           variant: Literal["original", "thumbnail"]) -> Response:
    return image_response(views.open_image(access.image(p, clinic_id, grant_id, image_id, VIEW), variant))


_IMAGE_RESPONSES = {200: {"content": {"image/jpeg": {}, "image/png": {}, "image/heic": {}},
                          "description": "The decrypted image."}, **KEY_SERVICE, **INTEGRITY}


@router.get(_CLINIC_SHARE + "/images/{imageId}/content", tags=["clinician: shares"], response_class=StreamingResponse,
            responses=_IMAGE_RESPONSES, description="View an image of the shared folder. Audited.")
@stores_only
def image_content(clinicId: str, grantId: str, imageId: str, access: Access, views: ClinicianViews,
                  p: Clinician) -> Response:
    return _image(access, views, p, clinicId, grantId, imageId, "original")


@router.get(_CLINIC_SHARE + "/images/{imageId}/thumbnail", tags=["clinician: shares"],
            response_class=StreamingResponse,
            responses={200: {"content": {"image/jpeg": {}}}, **KEY_SERVICE, **INTEGRITY},
            description="A small JPEG of an image of the shared folder. Audited.")
@stores_only
def image_thumbnail(clinicId: str, grantId: str, imageId: str, access: Access, views: ClinicianViews,
                    p: Clinician) -> Response:
    return _image(access, views, p, clinicId, grantId, imageId, "thumbnail")


@router.get(_CLINIC_SHARE + "/images/{imageId}/export", tags=["clinician: shares"],
            responses={200: {"content": {FHIR_JSON: {}}, "description": "A FHIR R4 Bundle (collection)."},
                       **KEY_SERVICE, **INTEGRITY},
            description="For the electronic patient record: a FHIR R4 Bundle with the Patient (NHS number), the "
                        "photograph as Media and DocumentReference, and the Consent. Only where the share's purposes "
                        "include `medical_record` (else 403 purpose-not-granted). Audited.")
def export_image(clinicId: str, grantId: str, imageId: str, access: Access, views: ClinicianViews, p: Clinician,
                 format: Literal["fhir"] = Query("fhir", description="Only `fhir` (FHIR R4 JSON).")) -> Response:
    body = views.export(access.image(p, clinicId, grantId, imageId, EXPORT_EPR))
    return Response(body, media_type=FHIR_JSON, headers={
        "Content-Disposition": f'attachment; filename="{imageId}.fhir.json"', **_NO_STORE})
