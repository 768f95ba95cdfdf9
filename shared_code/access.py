"""Who may see what: the one access check every clinician endpoint goes through.

A clinician acts on a patient's data only if ALL of these hold, checked in this order, each by a
POINT READ (never a query, never a cache, so a removed member or a revoked grant loses access at once):

1. the token is valid and carries the `clinician` role (401 / 403 `role-required`);
2. a membership of that clinic matches the token's verified e-mail or object id
   (else 404 `clinic-not-found`: a non-member may not learn what the clinic holds);
3. the clinic's subscription is active now (403 `subscription-inactive`);
4. the grant is this clinic's (another clinic's grant is simply not in this clinic's partition:
   404 `grant-not-found`), and it is active now, to the second: a member may know a grant from the
   worklist, so a revoked or expired one says so (403 `grant-revoked` / `grant-expired`);
5. the grant's purposes allow the operation (403 `purpose-not-granted`, table below);
6. for an image: it belongs to the grant's folder and is `ready` (else 404 `image-not-found`: the
   clinician may not learn about images outside what was shared).

Clinic administration (members, code rotation) needs (1), (2) and the member role `clinic_admin`
(403 `clinic-admin-required`), but not (3): removing a leaver must never depend on a paid licence.

Purposes -> operations (also in README.md, "Purposes and what they allow"):

| purpose          | view (detail, image, thumbnail) | comment | export to the EPR (FHIR) |
|------------------|---------------------------------|---------|--------------------------|
| `clinical_care`  | yes                             | yes     | no                       |
| `medical_record` | yes                             | yes     | yes                      |
| `teaching`       | yes                             | no      | no                       |
| `research`       | yes                             | no      | no                       |

Why: filing into the hospital record is exactly what `medical_record` consents to, and nothing else
does. Commenting is clinical communication with the patient (it lands in their folder and notifies
them), so it belongs to care or the record, not to teaching or research consent alone. Teaching and
research need to look at the images (GMC: with specific consent, which those purposes are), so
viewing is allowed under any purpose; taking identifiable copies out for them is not offered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from shared_code.auth.principal import CLINICIAN, Principal
from shared_code.clock import Clock
from shared_code.problems import Problem
from shared_code.services.images_contract import ImageReader
from shared_code.sharing.clinics import ClinicService, subscription_active
from shared_code.sharing.grants import GrantService, grant_status
from shared_code.sharing.members import CLINIC_ADMIN, MemberService

VIEW = "view"
COMMENT = "comment"
EXPORT_EPR = "export_epr"
OPERATIONS = (VIEW, COMMENT, EXPORT_EPR)

PURPOSE_OPERATIONS: dict[str, frozenset[str]] = {
    "clinical_care": frozenset({VIEW, COMMENT}),
    "medical_record": frozenset({VIEW, COMMENT, EXPORT_EPR}),
    "teaching": frozenset({VIEW}),
    "research": frozenset({VIEW}),
}


def allowed_operations(purposes: Iterable[str]) -> list[str]:
    allowed = set().union(*(PURPOSE_OPERATIONS.get(p, frozenset()) for p in purposes))
    return [op for op in OPERATIONS if op in allowed]


@dataclass(frozen=True)
class ClinicAccess:
    principal: Principal
    clinic: dict[str, Any]
    member: dict[str, Any]

    @property
    def clinic_id(self) -> str:
        return self.clinic["clinicId"]


@dataclass(frozen=True)
class GrantAccess(ClinicAccess):
    grant: dict[str, Any]

    @property
    def patient_id(self) -> str:
        return self.grant["patientId"]


@dataclass(frozen=True)
class ImageAccess(GrantAccess):
    image: dict[str, Any]


def _clinic_not_found(clinic_id: str) -> Problem:
    return Problem(404, "clinic-not-found", "No such clinic",
                   f"No clinic {clinic_id} of which you are a member.")


def _image_not_found(image_id: str) -> Problem:
    return Problem(404, "image-not-found", "No such image", f"No image {image_id} in this share.")


class AccessPolicy:
    def __init__(self, clinics: ClinicService, members: MemberService, grants: GrantService,
                 images: Callable[[], ImageReader], clock: Clock):
        self._clinics = clinics
        self._members = members
        self._grants = grants
        self._images = images
        self._clock = clock

    def clinic(self, principal: Principal, clinic_id: str, *, admin: bool = False) -> ClinicAccess:
        """Checks 1-3 (or 1, 2 and the clinic_admin role when `admin`)."""
        if not principal.has(CLINICIAN):
            raise Problem(403, "role-required", "Role required", "This needs the 'clinician' role.")
        member = self._members.find(clinic_id, principal)
        clinic = self._clinics.get(clinic_id) if member is not None else None
        if member is None or clinic is None:
            raise _clinic_not_found(clinic_id)
        if admin:
            if member.get("role") != CLINIC_ADMIN:
                raise Problem(403, "clinic-admin-required", "Clinic admin required",
                              "Only a clinic_admin of this clinic may do this.")
        elif not subscription_active(clinic, self._clock.now()):
            raise Problem(403, "subscription-inactive", "Subscription inactive",
                          "This clinic's subscription has ended; shared folders are not available.")
        return ClinicAccess(principal, clinic, member)

    def grant(self, principal: Principal, clinic_id: str, grant_id: str, operation: str) -> GrantAccess:
        """Checks 1-5."""
        access = self.clinic(principal, clinic_id)
        grant = self._grants.clinic_grant(clinic_id, grant_id)
        if grant is None:
            raise Problem(404, "grant-not-found", "No such share", f"No share {grant_id} for this clinic.")
        status = grant_status(grant, self._clock.now())
        if status == "revoked":
            raise Problem(403, "grant-revoked", "Share revoked", "The patient has revoked this share.")
        if status == "expired":
            raise Problem(403, "grant-expired", "Share expired", "This share has expired.")
        if operation not in allowed_operations(grant["purposes"]):
            raise Problem(403, "purpose-not-granted", "Purpose not granted",
                          f"The patient's consent does not cover '{operation}' for this share.")
        return GrantAccess(access.principal, access.clinic, access.member, grant)

    def image(self, principal: Principal, clinic_id: str, grant_id: str, image_id: str,
              operation: str) -> ImageAccess:
        """Checks 1-6."""
        access = self.grant(principal, clinic_id, grant_id, operation)
        image = self.image_of(access, image_id)
        if image is None:
            raise _image_not_found(image_id)
        return ImageAccess(access.principal, access.clinic, access.member, access.grant, image)

    def image_of(self, access: GrantAccess, image_id: str) -> dict[str, Any] | None:
        """Check 6 for a grant that has passed 1-5: the image if it is ready and in the grant's folder."""
        try:
            image = self._images().get_doc(access.patient_id, image_id)
        except Problem as problem:
            if problem.status == 404:
                return None
            raise
        if image.get("folderId") != access.grant["folderId"] or image.get("status") != "ready":
            return None
        return image
