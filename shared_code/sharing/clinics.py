"""Clinics: onboarding and subscriptions (platform_admin), clinic codes (lookup, rotation).

A code resolves by one point read of its `CodeEntry`; the clinic must still name that code, so a
rotated-away code stops working the moment the clinic record changes, even before its entry is
marked retired. A retired entry is kept for good, so no clinic (new or rotating) can take the code. The admin list reads `ClinicListing`s, a copy of the public fields in one partition, so
it is a single-partition query instead of a cross-partition scan. The notifications dispatcher
reads `notificationEmail` and `name` from the clinic record."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.errors import Busy, ClinicCodeNotFound, ClinicCodeTaken, ClinicNotFound, EditConflict, InvalidField
from shared_code.ids import new_id
from shared_code.notifications.contract import SourceRef
from shared_code.ports.errors import PreconditionFailed
from shared_code.referrals.records import ReferralService
from shared_code.referrals.schemas import ReferralServiceIn
from shared_code.settings import CLINICS
from shared_code.sharing import codes
from shared_code.sharing.audit import AuditLog, actor_of, clinic_partition
from shared_code.sharing.members import MemberService
from shared_code.sharing.ratelimit import SharedRateLimiter
from shared_code.sharing.records import Clinic, CodeEntry, MemberRole
from shared_code.sharing.repository import CLINIC_DOC_ID, ClinicRepository
from shared_code.sharing.schemas import ClinicIn, ClinicPatch, MemberIn

_CODE_ATTEMPTS = 5  # random codes tried when rotating before giving up (503)
# ClinicPatch's fields, as the record names them (referralService is merged: `_merged`).
_PATCHABLE = {"name": "name", "notificationEmail": "notification_email", "subscriptionEndsAt": "subscription_ends_at"}
_CHANGED_MEANWHILE = "The clinic changed at the same time; try again."


class ClinicService:
    def __init__(self, clinics: ClinicRepository, members: MemberService, audit: AuditLog, clock: Clock,
                 limiter: SharedRateLimiter):
        self._clinics = clinics
        self._members = members
        self._audit = audit
        self._clock = clock
        self.limiter = limiter

    # --- platform_admin ---
    def get(self, clinic_id: str) -> dict[str, Any]:
        """The clinic as operations staff see it."""
        return self._require(clinic_id).public(self._clock.now())

    def list(self, limit: int, continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        listings, continuation = self._clinics.listings(limit, continuation)
        now = self._clock.now()
        return [listing.public(now) for listing in listings], continuation

    def onboard(self, actor: Principal, body: ClinicIn) -> dict[str, Any]:
        clinic_id = new_id("cl")
        now = iso(self._clock.now())
        if not self._clinics.claim_code(CodeEntry(id=body.code, clinic_id=clinic_id, created_at=now)):
            raise ClinicCodeTaken()
        clinic = Clinic(clinic_id=clinic_id, name=body.name, code=body.code, notification_email=body.notificationEmail,
                        subscription_ends_at=iso(body.subscriptionEndsAt), created_at=now, updated_at=now)

        def create() -> None:
            try:
                self._clinics.create(clinic)
            except Exception:
                self._clinics.release_code(body.code)
                raise

        # The clinic and its audit entry: one step (AuditLog.with_entry).
        self._audit.with_entry(create, clinic_partition(clinic_id), "clinic.created", actor_of(actor, "platform_admin"),
                               written=SourceRef(CLINICS, clinic_id, CLINIC_DOC_ID), clinic=clinic.ref())
        self._clinics.save_listing(clinic)
        self._members.add(actor, "platform_admin", clinic_id,
                          MemberIn(email=body.adminEmail, role=MemberRole.CLINIC_ADMIN.value))
        return clinic.public(self._clock.now())

    def patch(self, actor: Principal, clinic_id: str, patch: ClinicPatch) -> dict[str, Any]:
        sent = sorted(patch.model_fields_set)
        nulls = [name for name in sent if getattr(patch, name) is None]
        if nulls:
            raise InvalidField(*((name, "cannot be null") for name in nulls))
        clinic = self._require(clinic_id)
        changes = {_PATCHABLE[name]: _stored(getattr(patch, name)) for name in sent if name in _PATCHABLE}
        if patch.referralService is not None:  # merged: the settings not sent keep their values
            changes["referral_service"] = _merged(clinic.referral_service, patch.referralService)
        clinic = clinic.but(**changes, updated_at=iso(self._clock.now()))
        try:
            self._clinics.replace(clinic)
        except PreconditionFailed:
            raise EditConflict(_CHANGED_MEANWHILE) from None
        self._clinics.save_listing(clinic)
        self._audit.record(clinic_partition(clinic_id), "clinic.updated", actor_of(actor, "platform_admin"),
                           clinic=clinic.ref(), fields=sent)
        return clinic.public(self._clock.now())

    def _require(self, clinic_id: str) -> Clinic:
        clinic = self._clinics.get(clinic_id)
        if clinic is None:
            raise ClinicNotFound(clinic_id, as_member=False)
        return clinic

    # --- codes ---
    def resolve_code(self, caller_key: str, code: str) -> Clinic:
        """The subscribed clinic a code names now, rate limited per caller and client address;
        ClinicCodeNotFound otherwise."""
        self.limiter.take(caller_key)
        normalised = codes.normalise(code)
        entry = self._clinics.code(normalised) if codes.is_valid(normalised) else None
        clinic = self._clinics.get(entry.clinic_id) if entry is not None else None
        if (entry is None or entry.retired_at is not None or clinic is None or clinic.code != normalised
                or not clinic.subscription_active(self._clock.now())):
            raise ClinicCodeNotFound()
        return clinic

    def lookup(self, patient_id: str, code: str) -> dict[str, str]:
        return self.resolve_code(patient_id, code).lookup()

    def rotate_code(self, actor: Principal, clinic_id: str) -> str:
        clinic = self._require(clinic_id)
        old, now = clinic.code, iso(self._clock.now())
        for _ in range(_CODE_ATTEMPTS):
            new = codes.rotated(old)
            if self._clinics.claim_code(CodeEntry(id=new, clinic_id=clinic_id, created_at=now)):
                break
        else:
            raise Busy("Could not find a free clinic code; try again.")
        clinic = clinic.but(code=new, updated_at=now)
        try:
            # From this write on the old code resolves to nothing (resolve_code compares with it).
            self._clinics.replace(clinic)
        except PreconditionFailed:
            self._clinics.release_code(new)
            raise EditConflict(_CHANGED_MEANWHILE) from None
        self._clinics.retire_code(old, now)  # never released: a retired code is never reused
        self._clinics.save_listing(clinic)
        self._audit.record(clinic_partition(clinic_id), "clinic.code_rotated", actor_of(actor, "clinician"),
                           clinic=clinic.ref())
        return new


def _merged(current: ReferralService, patch: ReferralServiceIn) -> ReferralService:
    """JSON merge patch of the referral-service settings (the API's names are the record's aliases)."""
    sent = patch.model_dump(include=patch.model_fields_set, mode="json")
    return ReferralService.model_validate({**current.to_doc(), **sent})


def _stored(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value
