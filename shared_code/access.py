"""Who may see what: the one access check every clinician endpoint goes through.

A clinician acts on a patient's data only if ALL of these hold, checked in this order, each by a
POINT READ (never a query, never a cache, so a removed member or a revoked grant loses access at once):

1. the token is valid and carries the `clinician` role (401 / 403 `role-required`);
2. a membership of that clinic is bound to the token's object id, or (once, binding it) matches the
   token's verified e-mail
   (else 404 `clinic-not-found`: a non-member may not learn what the clinic holds);
3. the clinic's subscription is active now (403 `subscription-inactive`);
4. the grant is this clinic's (another clinic's grant is simply not in this clinic's partition:
   404 `grant-not-found`), and it is active now, to the second: a member may know a grant from the
   worklist, so a revoked or expired one says so (403 `grant-revoked` / `grant-expired`);
5. the grant's purposes allow the operation (403 `purpose-not-granted`, table below);
6. for an image: it belongs to the grant's folder and is `ready` (else 404 `image-not-found`: the
   clinician may not learn about images outside what was shared).

Referrals (the GP-referred pathway) go through the same checks 1-3 for the clinic in the path, then:

4r. the referral is this clinic's: the service's own document (never while it is a draft), or one
    the clinic sent (its pointer in the clinic's partition); anything else, including a referral
    between two other clinics, is 404 `referral-not-found`;
5r. the step belongs to the caller's side (`Side.REFERRER`: create, edit, lesions, images, submit,
    cancel, acknowledge; `Side.SERVICE`: the worklist, outcomes, decision support): the other side
    knows the referral exists, so 403 `referral-side-required`. Reading the referral, its images and
    its export is open to both sides (`side=None`).

Clinic administration (members, code rotation) needs (1), (2) and the member role `clinic_admin`
(403 `clinic-admin-required`), but not (3): removing a leaver must never depend on a paid licence.

Purposes -> operations (`PURPOSE_OPERATIONS` in shared_code/sharing/records.py; also in README.md,
"Sharing with clinics: who may see what"):

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
from enum import Enum

from shared_code.auth.principal import CLINICIAN, Principal
from shared_code.clock import Clock
from shared_code.errors import (
    ClinicAdminRequired, ClinicNotFound, GrantExpired, GrantNotFound, GrantRevoked, ImageNotFound, PurposeNotGranted,
    ReferralNotFound, ReferralSideRequired, RoleRequired, SubscriptionInactive,
)
from shared_code.images.contract import ImageReader
from shared_code.images.records import ImageRecord
from shared_code.referrals.records import Referral
from shared_code.referrals.repository import ReferralRepository
from shared_code.sharing.grant_repository import GrantRepository
from shared_code.sharing.members import member_for
from shared_code.sharing.records import (
    PURPOSE_OPERATIONS, Clinic, Grant, GrantStatus, Member, Operation, allowed_operations,
)
from shared_code.sharing.repository import ClinicRepository, MemberRepository

VIEW, COMMENT, EXPORT_EPR = Operation.VIEW, Operation.COMMENT, Operation.EXPORT_EPR
__all__ = ["VIEW", "COMMENT", "EXPORT_EPR", "PURPOSE_OPERATIONS", "allowed_operations", "AccessPolicy",
           "ClinicAccess", "GrantAccess", "ImageAccess", "ReferralAccess", "Side"]


class Side(str, Enum):
    REFERRER = "referring"
    SERVICE = "receiving"


@dataclass(frozen=True)
class ClinicAccess:
    principal: Principal
    clinic: Clinic
    member: Member

    @property
    def clinic_id(self) -> str:
        return self.clinic.clinic_id


@dataclass(frozen=True)
class GrantAccess(ClinicAccess):
    grant: Grant

    @property
    def patient_id(self) -> str:
        return self.grant.patient_id


@dataclass(frozen=True)
class ImageAccess(GrantAccess):
    image: ImageRecord


@dataclass(frozen=True)
class ReferralAccess(ClinicAccess):
    referral: Referral
    side: Side  # the caller's side of this referral


class AccessPolicy:
    def __init__(self, clinics: ClinicRepository, members: MemberRepository, grants: GrantRepository,
                 images: ImageReader, referrals: ReferralRepository, clock: Clock):
        self._clinics = clinics
        self._members = members
        self._grants = grants
        self._images = images
        self._referrals = referrals
        self._clock = clock

    def clinic(self, principal: Principal, clinic_id: str, *, admin: bool = False) -> ClinicAccess:
        """Checks 1-3 (or 1, 2 and the clinic_admin role when `admin`)."""
        if not principal.has(CLINICIAN):
            raise RoleRequired(CLINICIAN)
        member = self._member(principal, clinic_id)
        clinic = self._clinics.get(clinic_id) if member is not None else None
        if member is None or clinic is None:
            raise ClinicNotFound(clinic_id)
        if admin:
            if not member.is_admin:
                raise ClinicAdminRequired()
        elif not clinic.subscription_active(self._clock.now()):
            raise SubscriptionInactive()
        return ClinicAccess(principal, clinic, member)

    def _member(self, principal: Principal, clinic_id: str) -> Member | None:
        """The caller's membership: by the object id it is bound to, else by the verified e-mail
        once, binding it (point reads only; sharing/members.member_for)."""
        return member_for(self._members, clinic_id, principal.email, principal.object_id)

    def grant(self, principal: Principal, clinic_id: str, grant_id: str, operation: Operation) -> GrantAccess:
        """Checks 1-5."""
        access = self.clinic(principal, clinic_id)
        grant = self._grants.grant(clinic_id, grant_id)
        if grant is None:
            raise GrantNotFound(grant_id)
        status = grant.status_at(self._clock.now())
        if status is GrantStatus.REVOKED:
            raise GrantRevoked()
        if status is GrantStatus.EXPIRED:
            raise GrantExpired()
        if not grant.allows(operation):
            raise PurposeNotGranted(Operation(operation).value)
        return GrantAccess(access.principal, access.clinic, access.member, grant)

    def image(self, principal: Principal, clinic_id: str, grant_id: str, image_id: str,
              operation: Operation) -> ImageAccess:
        """Checks 1-6."""
        access = self.grant(principal, clinic_id, grant_id, operation)
        image = self.image_of(access, image_id)
        if image is None:
            raise ImageNotFound(image_id, scope="share")
        return ImageAccess(access.principal, access.clinic, access.member, access.grant, image)

    def image_of(self, access: GrantAccess, image_id: str) -> ImageRecord | None:
        """Check 6 for a grant that has passed 1-5: the image if it is ready and in the grant's folder."""
        try:
            image = self._images.get(access.patient_id, image_id)
        except ImageNotFound:
            return None
        return image if image.shown_in(access.grant.folder_id) else None

    def referral(self, principal: Principal, clinic_id: str, referral_id: str, side: Side | None) -> ReferralAccess:
        """Checks 1-3, 4r and 5r (`side` None: either side may)."""
        access = self.clinic(principal, clinic_id)
        referral, caller_side = self._referral_of(clinic_id, referral_id)
        if referral is None:
            raise ReferralNotFound(referral_id)
        if side is not None and side is not caller_side:
            raise ReferralSideRequired(side.value)
        return ReferralAccess(access.principal, access.clinic, access.member, referral, caller_side)

    def _referral_of(self, clinic_id: str, referral_id: str) -> tuple[Referral | None, Side]:
        """Point reads: the service's own referral (not a draft), else the one this clinic sent."""
        own = self._referrals.get(clinic_id, referral_id)
        if own is not None and own.referring_clinic_id != clinic_id:
            return (own if own.received else None), Side.SERVICE
        pointer = self._referrals.sent(clinic_id, referral_id)
        if pointer is None:
            return None, Side.REFERRER
        return (own if own is not None else self._referrals.get(pointer.service_clinic_id, referral_id)), Side.REFERRER
