"""The referral pathway's API bodies (../shared/API.md "Referrals and triage"): camelCase, requests
forbid unknown fields, enums are the records' (shared_code/referrals/records.py)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from shared_code.api_schemas import EMAIL, CalendarDate, ListOf, Request, Response, email_address
from shared_code.domain.nhs_number import is_valid_nhs_number, normalise_nhs_number
from shared_code.folders.schemas import BodySiteIn
from shared_code.images.records import View
from shared_code.referrals.records import (
    Agreement, BankHolidayRegion, ChangedFeature, DecisionSupportMode, Department, FitzpatrickType, OutcomeCode,
    Priority, ReferralStatus, SevenPointItem, Sex, Sla,
)

CODE = {"pattern": r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$", "minLength": 3, "maxLength": 40}  # sharing/schemas.CODE
MAX_CLOSED_DATES = 366
MAX_LESION_OUTCOMES = 50
UNIQUE = {"uniqueItems": True}  # what `_unique` enforces, in the OpenAPI document


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


# --- the clinic's settings as a dermatology service (PATCH /api/admin/clinics/{clinicId}) ---
class ReferralServiceIn(Request):
    """JSON merge patch of the clinic's `referralService`: the fields sent change, the others keep
    their values (a new clinic's: not accepting, 2 working days, all three views, England and
    Wales, no closed dates, decision support off). Null is refused."""
    acceptsReferrals: StrictBool = None
    reviewWithinWorkingDays: int = Field(None, ge=1, le=30)
    requiredViews: list[View] = Field(None, min_length=1, max_length=3, json_schema_extra=UNIQUE)
    bankHolidays: BankHolidayRegion = None
    closedDates: list[CalendarDate] = Field(None, max_length=MAX_CLOSED_DATES, json_schema_extra=UNIQUE,
                                            description="Dates (Europe/London) the service does not count as working days.")
    decisionSupport: DecisionSupportMode = None

    _distinct = field_validator("requiredViews", "closedDates")(classmethod(lambda cls, v: _unique(v)))


class ReferralServiceOut(Response):
    acceptsReferrals: bool
    reviewWithinWorkingDays: int
    requiredViews: list[View]
    bankHolidays: BankHolidayRegion
    closedDates: list[date]
    decisionSupport: DecisionSupportMode


# --- a referral's answers ---
class ReferralPatientIn(Request):
    name: str = Field(min_length=1, max_length=200)
    nhsNumber: str = Field(description="10 digits, modulus-11 valid; spaces allowed as printed. Unverified "
                                       "(nhsNumberVerified false) until traced.")
    dateOfBirth: CalendarDate
    sex: Sex | None = None
    email: str | None = Field(None, max_length=254, json_schema_extra=EMAIL)

    _email = field_validator("email")(classmethod(lambda cls, v: email_address(v)))

    @field_validator("nhsNumber")
    @classmethod
    def _nhs(cls, value: str) -> str:
        value = normalise_nhs_number(value)
        if not is_valid_nhs_number(value):
            raise ValueError("must be a valid 10-digit NHS number")  # never repeats the value
        return value

    @field_validator("dateOfBirth")
    @classmethod
    def _born(cls, value: date) -> date:
        if not date(1900, 1, 1) <= value <= date.today():
            raise ValueError("must be a date between 1900-01-01 and today")
        return value


class HistoryIn(Request):
    """The referrer's answers; every one optional (a question not answered is absent)."""
    onset: str | None = Field(None, max_length=100, examples=["2026-08", "about 3 months ago"])
    changed: list[ChangedFeature] = Field([], max_length=3, json_schema_extra=UNIQUE)
    bleeding: StrictBool | None = None
    itch: StrictBool | None = None
    previousSkinCancer: StrictBool | None = None
    fitzpatrickSkinType: FitzpatrickType | None = None
    sevenPointChecklist: list[SevenPointItem] = Field([], max_length=7, json_schema_extra=UNIQUE,
                                                      description="The NICE NG12 items ticked.")

    _distinct = field_validator("changed", "sevenPointChecklist")(classmethod(lambda cls, v: _unique(v)))


class ConsentsIn(Request):
    shareWithService: Literal[True] = Field(description="Must be true: without it nothing can be referred.")
    anonymisedTeaching: StrictBool = False
    arrangeAppointment: StrictBool = False
    version: str = Field(min_length=1, max_length=40)


class ReferralIn(Request):
    toClinicCode: str = Field(min_length=1, max_length=64, json_schema_extra=CODE,
                              description="The service's clinic code; case and spaces are ignored. A code of no "
                                          "subscribed clinic accepting referrals is 404 clinic-code-not-found.")
    patient: ReferralPatientIn
    priorityRequested: Priority
    clinicalQuestion: str = Field(min_length=1, max_length=2000)
    history: HistoryIn = Field(default_factory=HistoryIn)
    consents: ConsentsIn


class ReferralPatch(Request):
    """JSON merge patch of a draft's (or an information_requested referral's) answers: each field sent
    replaces the whole of that answer; null is refused. After submission: 409 referral-state-conflict."""
    patient: ReferralPatientIn = None
    history: HistoryIn = None
    clinicalQuestion: str = Field(None, min_length=1, max_length=2000)
    priorityRequested: Priority = None
    consents: ConsentsIn = None


class LesionIn(Request):
    bodySite: BodySiteIn
    description: str | None = Field(None, max_length=500)
    sizeMm: float | None = Field(None, gt=0, le=500, description="Largest diameter, millimetres.")


# --- the service's outcome ---
class LesionOutcomeIn(Request):
    lesionId: str = Field(min_length=1, max_length=64)
    outcome: OutcomeCode
    note: str | None = Field(None, max_length=2000)


class OutcomeIn(Request):
    outcome: OutcomeCode
    adviceToReferrer: str = Field(min_length=1, max_length=4000)
    department: Department | None = Field(None, description="Required for `redirect`, and only there.")
    requested: str | None = Field(None, min_length=1, max_length=2000,
                                  description="What is missing: required for `request_information`, and only there.")
    lesionOutcomes: list[LesionOutcomeIn] = Field([], max_length=MAX_LESION_OUTCOMES,
                                                  description="Each names one of the referral's lesions, at most once.")
    decisionSupportAgreement: Agreement | None = Field(
        None, description="Only where a decision-support result exists (else 422 decision-support-absent).")

    @model_validator(mode="after")
    def _rules(self) -> "OutcomeIn":
        redirect = self.outcome is OutcomeCode.REDIRECT
        if redirect != (self.department is not None):
            raise ValueError("department is required for redirect, and only for it")
        asking = self.outcome is OutcomeCode.REQUEST_INFORMATION
        if asking != (self.requested is not None):
            raise ValueError("requested is required for request_information, and only for it")
        _unique([item.lesionId for item in self.lesionOutcomes])
        return self


class CancelIn(Request):
    reason: str | None = Field(None, max_length=500, description="Why (kept in the referral's history).")


# --- answers ---
class ClinicName(Response):
    id: str
    name: str


class OutcomeOut(Response):
    outcome: OutcomeCode
    adviceToReferrer: str
    department: Department | None = None
    requested: str | None = None
    lesionOutcomes: list[dict[str, Any]] = []
    decisionSupportAgreement: Agreement | None = None
    decidedAt: datetime
    decidedBy: str = Field(description="The reviewer's member id.")


class StateChange(Response):
    at: datetime
    by: str = Field(description="The member id who made the change.")
    clinicId: str
    action: str
    fromStatus: ReferralStatus | None = None
    toStatus: ReferralStatus
    reason: str | None = None


class LesionOut(Response):
    id: str
    bodySite: dict[str, Any]
    description: str | None = None
    sizeMm: float | None = None
    createdAt: datetime
    images: list[dict[str, Any]] = Field([], description="Each image's metadata, with `view` and `quality`.")


class ReferralPatientOut(Response):
    name: str
    nhsNumber: str
    nhsNumberVerified: bool
    dateOfBirth: date
    sex: Sex | None = None
    email: str | None = None


class ReferralSummary(Response):
    id: str
    status: ReferralStatus
    priority: Priority = Field(description="As requested until an outcome changes it.")
    priorityRequested: Priority
    patient: ReferralPatientOut
    referringClinic: ClinicName
    serviceClinic: ClinicName
    createdAt: datetime
    submittedAt: datetime | None = None
    reviewDueBy: datetime | None = None
    sla: Sla | None = Field(None, description="While awaiting review: on_track, due_today or overdue.")
    outcome: OutcomeOut | None = None


class Referral(ReferralSummary):
    clinicalQuestion: str
    history: dict[str, Any]
    consents: dict[str, Any]
    lesions: list[LesionOut]
    updatedAt: datetime
    firstSubmittedAt: datetime | None = None
    outcomeSentAt: datetime | None = None
    acknowledgedAt: datetime | None = None
    cancelledAt: datetime | None = None
    log: list[StateChange] = Field(description="Every state change, oldest first (append-only).")
    decisionSupport: dict[str, Any] | None = Field(
        None, description="Service members only: advisory decision-support results; never changes the referral.")


ReferralList = ListOf[ReferralSummary]
