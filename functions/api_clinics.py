"""HTTP: clinic codes (patients look one up; a clinic_admin rotates it) and clinic membership.

Every clinician route goes through `Access` (shared_code/access.py)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from shared_code.api_schemas import ListOf
from shared_code.http.common import Page, require_json
from shared_code.http.deps import Access, Clinician, Clinics, Members, PatientPrincipal
from shared_code.http.openapi import problem
from shared_code.http.routing import ApiRoute
from shared_code.sharing.schemas import CODE, ClinicCode, ClinicLookup, Member, MemberIn

router = APIRouter(route_class=ApiRoute, prefix="/api/clinics", tags=["clinics"])


@router.get("/lookup", response_model=ClinicLookup, tags=["patient: sharing"],
            responses={404: problem("`clinic-code-not-found`: no subscribed clinic has this code."),
                       429: problem("`rate-limited`: too many attempts; see Retry-After.")},
            description="The name of the subscribed clinic a code belongs to (case and spaces ignored), so the "
                        "consent page can show who will see the images. Rate limited per patient and per "
                        "client address.")
def lookup_clinic(clinics: Clinics, p: PatientPrincipal,
                  code: str = Query(min_length=1, max_length=64, json_schema_extra=CODE,
                                    description="Case and spaces are ignored.")) -> ClinicLookup:
    return ClinicLookup.model_validate(clinics.lookup(p.patient_id, code))


@router.get("/{clinicId}/members", response_model=ListOf[Member], description="clinic_admin: the clinic's members.")
def list_members(clinicId: str, access: Access, members: Members, p: Clinician,
                 page: Page) -> ListOf[Member]:
    access.clinic(p, clinicId, admin=True)
    items, continuation = members.list(clinicId, page.limit, page.continuation)
    return ListOf[Member].page((m.public() for m in items), continuation)


@router.post("/{clinicId}/members", status_code=201, response_model=Member, dependencies=[Depends(require_json)],
             responses={409: problem("`member-exists`: this e-mail is a member already.")},
             description="clinic_admin: add a clinician (or another clinic_admin) by e-mail; 409 if already a member.")
def add_member(clinicId: str, body: MemberIn, response: Response, access: Access, members: Members,
               p: Clinician) -> Member:
    access.clinic(p, clinicId, admin=True)
    member = members.add(p, "clinician", clinicId, body)
    response.headers["Location"] = f"/api/clinics/{clinicId}/members/{member.id}"
    return Member.model_validate(member.public())


@router.delete("/{clinicId}/members/{memberId}", status_code=204,
               responses={409: problem("`last-clinic-admin`: a clinic keeps at least one clinic_admin."),
                          503: problem("`service-unavailable`: the clinic is busy; retry after Retry-After.")},
               description="clinic_admin: remove a member; their access ends at once. The last clinic_admin stays (409).")
def remove_member(clinicId: str, memberId: str, access: Access, members: Members, p: Clinician) -> Response:
    access.clinic(p, clinicId, admin=True)
    members.remove(p, clinicId, memberId)
    return Response(status_code=204)


@router.post("/{clinicId}/code/rotate", response_model=ClinicCode,
             responses={503: problem("`service-unavailable`: no free code was found; retry.")},
             description="clinic_admin: a new clinic code; the old one stops working for lookups and shares at once.")
def rotate_code(clinicId: str, access: Access, clinics: Clinics, p: Clinician) -> ClinicCode:
    access.clinic(p, clinicId, admin=True)
    return ClinicCode(code=clinics.rotate_code(p, clinicId))
