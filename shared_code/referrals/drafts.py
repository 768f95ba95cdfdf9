"""The referrer's draft: created for a service found by its clinic code, its answers edited, lesions
added, while it is a draft (or back with the referrer because the service asked for more).

Who may be referred to: a clinic whose code resolves (subscribed, current code: the same lookup as
shares, rate limited per member and client address) and whose `referralService.acceptsReferrals`
is true; any other code is the one 404 `clinic-code-not-found`, so a lookup reveals nothing more.
A clinic may not refer to itself (422): its members would be both sides of the referral."""
from __future__ import annotations

from typing import Any

from shared_code.access import ClinicAccess, ReferralAccess
from shared_code.clock import Clock, iso
from shared_code.errors import ClinicCodeNotFound, InvalidField
from shared_code.ids import new_id
from shared_code.referrals.records import (
    BodySite, History, Lesion, Referral, ReferralConsents, ReferralPatient, ReferralStatus,
)
from shared_code.referrals.repository import ReferralRepository
from shared_code.referrals.schemas import ConsentsIn, HistoryIn, LesionIn, ReferralIn, ReferralPatch, ReferralPatientIn
from shared_code.referrals.transitions import Action, event, require_editable
from shared_code.referrals.writes import ReferralWrites
from shared_code.settings import Settings
from shared_code.sharing.clinics import ClinicService


def _patient(body: ReferralPatientIn) -> ReferralPatient:
    # Typed by a referrer: unverified until traced (API.md, Cross-cutting).
    return ReferralPatient(name=body.name, nhs_number=body.nhsNumber, nhs_number_verified=False,
                           date_of_birth=body.dateOfBirth.isoformat(), sex=body.sex, email=body.email)


def _history(body: HistoryIn) -> History:
    return History.model_validate(body.model_dump(exclude_none=True))


def _consents(body: ConsentsIn, at: str) -> ReferralConsents:
    return ReferralConsents(share_with_service=body.shareWithService, anonymised_teaching=body.anonymisedTeaching,
                            arrange_appointment=body.arrangeAppointment, version=body.version, recorded_at=at)


class ReferralDrafts:
    def __init__(self, records: ReferralRepository, writes: ReferralWrites, clinics: ClinicService, clock: Clock,
                 settings: Settings):
        self._records = records
        self._writes = writes
        self._clinics = clinics
        self._clock = clock
        self._max_lesions = settings.referral_max_lesions

    def create(self, access: ClinicAccess, body: ReferralIn) -> Referral:
        service = self._clinics.resolve_code(f"member:{access.member.id}", body.toClinicCode)
        if not service.referral_service.accepts_referrals:
            raise ClinicCodeNotFound()
        if service.clinic_id == access.clinic_id:
            raise InvalidField(("toClinicCode", "a clinic cannot refer to itself"))
        now = self._clock.now()
        at = iso(now)
        referral = Referral(
            id=new_id("rf"), referring_clinic_id=access.clinic_id, referring_clinic_name=access.clinic.name,
            service_clinic_id=service.clinic_id, service_clinic_name=service.name, created_at=at,
            created_by=access.member.id, updated_at=at, priority_requested=body.priorityRequested,
            clinical_question=body.clinicalQuestion, patient=_patient(body.patient), history=_history(body.history),
            consents=_consents(body.consents, at), log=[event(access, Action.CREATE, now, None, ReferralStatus.DRAFT)])
        created = self._records.create(referral)
        self._writes.track(created)
        return created

    def patch(self, access: ReferralAccess, body: ReferralPatch) -> Referral:
        """Each answer sent replaces that answer (the schema refuses null: an answer is never cleared)."""

        def change(current: Referral) -> Referral:
            require_editable(current)
            at = iso(self._clock.now())
            changes: dict[str, Any] = {"updated_at": at}
            if body.patient is not None:
                changes["patient"] = _patient(body.patient)
            if body.history is not None:
                changes["history"] = _history(body.history)
            if body.clinicalQuestion is not None:
                changes["clinical_question"] = body.clinicalQuestion
            if body.priorityRequested is not None:
                changes["priority_requested"] = body.priorityRequested
            if body.consents is not None:
                changes["consents"] = _consents(body.consents, at)
            return current.but(**changes)

        return self._writes.update(access.referral, change)

    def add_lesion(self, access: ReferralAccess, body: LesionIn) -> Lesion:
        lesion_id = new_id("les")

        def change(current: Referral) -> Referral:
            require_editable(current)
            if len(current.lesions) >= self._max_lesions:
                raise InvalidField(("lesions", f"a referral has at most {self._max_lesions} lesions"))
            at = iso(self._clock.now())
            lesion = Lesion(id=lesion_id, body_site=BodySite(code=body.bodySite.code,
                                                             laterality=body.bodySite.laterality),
                            description=body.description, size_mm=body.sizeMm, created_at=at)
            return current.but(lesions=[*current.lesions, lesion], updated_at=at)

        written = self._writes.update(access.referral, change)
        return written.lesion(lesion_id)
