"""Request and response bodies of the sharing area (clinics, members, shares, comments, access log).

Field names are the API's camelCase; request models forbid unknown fields (a typo is a 422)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from shared_code.api_schemas import Request, Response, email_address
from shared_code.folders.schemas import BodySite
from shared_code.sharing import codes, records

# The API's spelling of records' enums (Literals keep the OpenAPI document as it is).
Purpose = Literal["clinical_care", "medical_record", "teaching", "research"]
PURPOSES: tuple[str, ...] = tuple(p.value for p in records.Purpose)  # the canonical order
MemberRole = Literal["clinician", "clinic_admin"]
GrantStatus = Literal["active", "expired", "revoked"]
MAX_SHARE_DAYS = 366


def _code(value: str) -> str:
    value = codes.normalise(value)
    if not codes.is_valid(value):
        raise ValueError("must be 3-40 letters, digits and single hyphens, like ORG-CLINIC")
    return value


# --- clinics (platform_admin) ---
class ClinicIn(Request):
    name: str = Field(min_length=1, max_length=200, examples=["Newcastle Dermatology"])
    code: str = Field(min_length=1, max_length=64, examples=["NEWCASTLE-DERM"],
                      description="Compared without regard to case or spaces; stored upper case without spaces.")
    notificationEmail: str = Field(max_length=254, description="Where new-share notices go (never images).")
    subscriptionEndsAt: AwareDatetime
    adminEmail: str = Field(max_length=254, description="The clinic's first clinic_admin.")

    _code = field_validator("code")(classmethod(lambda cls, v: _code(v)))
    _emails = field_validator("notificationEmail", "adminEmail")(classmethod(lambda cls, v: email_address(v)))


class ClinicPatch(Request):
    """JSON merge patch: only the fields sent change; none of them may be null."""
    name: str | None = Field(None, min_length=1, max_length=200)
    notificationEmail: str | None = Field(None, max_length=254)
    subscriptionEndsAt: AwareDatetime | None = None

    _email = field_validator("notificationEmail")(classmethod(lambda cls, v: email_address(v)))


class Clinic(Response):
    id: str
    name: str
    code: str
    notificationEmail: str
    subscriptionEndsAt: datetime
    subscriptionActive: bool
    createdAt: datetime
    updatedAt: datetime


class ClinicLookup(Response):
    clinicId: str
    name: str


class ClinicCode(Response):
    code: str


# --- members (clinic_admin) ---
class MemberIn(Request):
    email: str = Field(max_length=254)
    role: MemberRole = "clinician"
    objectId: str | None = Field(None, min_length=1, max_length=64,
                                 description="Entra object id, if known: matched when a token carries no e-mail.")

    _email = field_validator("email")(classmethod(lambda cls, v: email_address(v)))


class Member(Response):
    id: str
    email: str
    role: MemberRole
    objectId: str | None = None
    createdAt: datetime | None = None


# --- shares (patient) ---
class ConsentIn(Request):
    version: str = Field(min_length=1, max_length=50, description="The version of the consent text shown.")
    accepted: bool = Field(description="Must be true: without the patient's consent nothing is shared.")

    @field_validator("accepted")
    @classmethod
    def _must_accept(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("must be true to share")
        return value


class ShareIn(Request):
    clinicCode: str = Field(min_length=1, max_length=64)
    expiresAt: AwareDatetime | None = Field(None, description="Any future time up to 366 days ahead.")
    durationDays: int | None = Field(None, ge=1, le=MAX_SHARE_DAYS)
    purposes: list[Purpose] = Field(min_length=1, max_length=4)
    consent: ConsentIn

    @model_validator(mode="after")
    def _rules(self) -> "ShareIn":
        if (self.expiresAt is None) == (self.durationDays is None):
            raise ValueError("give exactly one of expiresAt and durationDays")
        return self

    @field_validator("purposes")
    @classmethod
    def _canonical(cls, value: list[str]) -> list[str]:
        return [p for p in PURPOSES if p in value]


class Grant(Response):
    id: str
    clinicId: str
    clinicName: str
    folderId: str
    purposes: list[Purpose]
    expiresAt: datetime
    status: GrantStatus
    createdAt: datetime
    revokedAt: datetime | None = None


class SharedFolder(Response):
    id: str
    label: str
    bodySite: BodySite | None = None
    condition: str | None = None


class SharedPatient(Response):
    displayName: str
    nhsNumber: str | None = None
    dateOfBirth: str | None = None


class GrantDetail(Response):
    grant: Grant
    allowedOperations: list[Literal["view", "comment", "export_epr"]] = Field(
        description="What this grant's purposes allow (see README: purposes and operations).")
    folder: SharedFolder
    patient: SharedPatient
    images: list[dict[str, Any]] = Field(description="Metadata of the folder's ready images, in takenAt order.")


# --- comments ---
class CommentIn(Request):
    text: str = Field(min_length=1, max_length=2000)
    imageId: str | None = Field(None, min_length=1, max_length=100)


class CommentClinic(Response):
    id: str
    name: str


class Comment(Response):
    id: str
    folderId: str
    imageId: str | None = None
    text: str
    authorRole: Literal["patient", "clinician"]
    authorName: str
    clinic: CommentClinic | None = None
    createdAt: datetime


# --- the patient's access log ---
class AccessActor(Response):
    role: str
    name: str | None = None
    email: str | None = None


class AccessLogEntry(Response):
    id: str
    at: datetime
    action: str
    actor: AccessActor
    clinic: CommentClinic | None = None
    grantId: str | None = None
    folderId: str | None = None
    imageId: str | None = None
