"""Request and response bodies of the sharing area (clinics, members, shares, comments, access log).

Field names are the API's camelCase; request models forbid unknown fields (a typo is a 422)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictBool, field_validator, model_validator

from shared_code.api_schemas import EMAIL, Request, Response, Timestamp, email_address
from shared_code.folders.schemas import BodySite
from shared_code.referrals.schemas import ReferralServiceIn, ReferralServiceOut
from shared_code.sharing import codes, records

# The API's spelling of records' enums (Literals keep the OpenAPI document as it is).
Purpose = Literal["clinical_care", "medical_record", "teaching", "research"]
PURPOSES: tuple[str, ...] = tuple(p.value for p in records.Purpose)  # the canonical order
MemberRole = Literal["clinician", "clinic_admin"]
GrantStatus = Literal["active", "expired", "revoked"]
MAX_SHARE_DAYS = 366


# A clinic code's shape for the OpenAPI document; `_code` also ignores case and spaces.
CODE = {"pattern": r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$", "minLength": 3, "maxLength": 40}


def _code(value: str) -> str:
    normalised = codes.normalise(value)
    # ASCII before upper-casing: "ß" or a dotless "ı" must not turn into letters of a valid code.
    if not ("".join(value.split()).isascii() and codes.is_valid(normalised)):
        raise ValueError("must be 3-40 letters, digits and single hyphens, like ORG-CLINIC")
    return normalised


# --- clinics (platform_admin) ---
class ClinicIn(Request):
    name: str = Field(min_length=1, max_length=200, examples=["Newcastle Dermatology"])
    code: str = Field(min_length=1, max_length=64, examples=["NEWCASTLE-DERM"], json_schema_extra=CODE,
                      description="Compared without regard to case or spaces; stored upper case without spaces.")
    notificationEmail: str = Field(max_length=254, json_schema_extra=EMAIL,
                                   description="Where new-share notices go (never images).")
    subscriptionEndsAt: Timestamp
    adminEmail: str = Field(max_length=254, json_schema_extra=EMAIL, description="The clinic's first clinic_admin.")

    _code = field_validator("code")(classmethod(lambda cls, v: _code(v)))
    _emails = field_validator("notificationEmail", "adminEmail")(classmethod(lambda cls, v: email_address(v)))


class ClinicPatch(Request):
    """JSON merge patch: only the fields sent change; none of them may be null."""
    # Typed without None (the default only marks "not sent"): the document says null is refused.
    name: str = Field(None, min_length=1, max_length=200)
    notificationEmail: str = Field(None, max_length=254, json_schema_extra=EMAIL)
    subscriptionEndsAt: Timestamp = None
    referralService: ReferralServiceIn = Field(None, description="The clinic as a dermatology service of the "
                                                                 "GP-referred pathway (merged into its settings).")

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
    referralService: ReferralServiceOut


class ClinicLookup(Response):
    clinicId: str
    name: str


class ClinicCode(Response):
    code: str


# --- members (clinic_admin) ---
class MemberIn(Request):
    email: str = Field(max_length=254, json_schema_extra=EMAIL)
    role: MemberRole = "clinician"
    objectId: str | None = Field(None, min_length=1, max_length=64,
                                 description="Entra object id, if known. Otherwise the member is found once by the "
                                             "token's verified e-mail and bound to the token's object id on that "
                                             "first use; from then on only that object id is the member.")

    _email = field_validator("email")(classmethod(lambda cls, v: email_address(v)))


class Member(Response):
    id: str
    email: str
    role: MemberRole
    objectId: str | None = Field(None, description="The Entra object id the membership is bound to (null until "
                                                   "the member's first sign-in).")
    createdAt: datetime | None = None


# --- shares (patient) ---
class ConsentIn(Request):
    version: str = Field(min_length=1, max_length=50, description="The version of the consent text shown.")
    # Strict: only the JSON literal `true` is consent; lax parsing would take "true", "yes" or 1 for it.
    accepted: StrictBool = Field(description="Must be the JSON literal true (not \"true\" nor 1): without the "
                                             "patient's consent nothing is shared.",
                             json_schema_extra={"enum": [True]})

    @field_validator("accepted")
    @classmethod
    def _must_accept(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("must be true to share")
        return value


class ShareIn(Request):
    # Exactly one of expiresAt and durationDays (the other absent or null).
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": ["expiresAt"], "properties": {"expiresAt": {"type": "string"}, "durationDays": {"type": "null"}}},
        {"required": ["durationDays"],
         "properties": {"durationDays": {"type": "integer"}, "expiresAt": {"type": "null"}}}]})

    clinicCode: str = Field(min_length=1, max_length=64, json_schema_extra=CODE,
                            description="The clinic's code from its letter; case and spaces are ignored. An unknown "
                                        "code is 404 clinic-code-not-found.")
    expiresAt: Timestamp | None = Field(None, description="Any future time up to 366 days ahead (RFC 3339 with "
                                                              "an offset). Give this or durationDays, not both.")
    durationDays: int | None = Field(None, ge=1, le=MAX_SHARE_DAYS, description="Give this or expiresAt, not both.")
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


class PseudonymousPatient(Response):
    pseudonym: str = Field(description="Stands for the patient under this one grant: stable for the grant, "
                                       "different for every other grant.", examples=["Patient KX4M-Q7ZB"])


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
    patient: PseudonymousPatient | None = Field(
        None, description="Clinic side only (the worklist): for a grant whose purposes are teaching and/or research "
                          "alone, the patient's pseudonym; null where the grant shows identity (see the grant's "
                          "detail) and on the patient's own side.")


class SharedFolder(Response):
    id: str
    label: str
    bodySite: BodySite | None = None
    condition: str | None = None


class SharedPatient(Response):
    """Who the patient is, as far as the grant's purposes allow: identity (name, date of birth, NHS
    number and its verification) only under clinical_care or medical_record; under teaching and/or
    research alone only `pseudonym`, every other field null."""
    displayName: str | None = None
    dateOfBirth: str | None = None
    nhsNumber: str | None = Field(None, description="As the patient typed it; see nhsNumberVerified.")
    nhsNumberVerified: bool | None = Field(
        None, description="True once the number was traced against the national demographics service (PDS) with "
                          "this name and date of birth; false for a number typed by the patient and not (yet) traced. "
                          "Null when there is no number.")
    nhsNumberShared: bool | None = Field(
        None, description="True when another account holds the same NHS number: check who this is before filing "
                          "anything in a record. Null when there is no number.")
    pseudonym: str | None = Field(None, description="Only for grants for teaching and/or research alone.")


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
    imageId: str | None = Field(None, min_length=1, max_length=100,
                                description="An image of this folder (a ready one, for a clinician), or null for the "
                                            "folder; any other id is 404 image-not-found.")


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
