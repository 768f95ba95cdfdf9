"""The public contract's request and response bodies (../shared/API.md), as pydantic models.

Field names are the API's camelCase. Request models forbid unknown fields, so a typo is a 422
rather than a silently ignored value. These models also produce the OpenAPI document."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared_code.domain.body_sites import BODY_SITES
from shared_code.domain.nhs_number import is_valid_nhs_number, normalise_nhs_number

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

T = TypeVar("T")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ListOf(Response, Generic[T]):
    items: list[T]
    continuation: str | None = Field(None, description="Pass back as ?continuation= for the next page; null at the end.")


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("must be an e-mail address")
    return value


# --- account ---
class NotificationPreferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comments: bool = Field(True, description="E-mail me when a clinician comments (never the comment's text).")
    shareExpiring: bool = Field(True, description="E-mail me 48 hours before a share expires.")
    uploadRejected: bool = Field(True, description="E-mail me when an upload could not be accepted.")


class AccountIn(Request):
    displayName: str = Field(min_length=1, max_length=100)
    nhsNumber: str | None = Field(None, description="10 digits, modulus-11 valid; spaces allowed as printed.")
    dateOfBirth: date | None = None
    email: str | None = Field(None, max_length=254)
    notificationPreferences: NotificationPreferences = Field(default_factory=NotificationPreferences)

    @field_validator("nhsNumber")
    @classmethod
    def _nhs(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = normalise_nhs_number(value)
        if not is_valid_nhs_number(value):
            # The message never repeats the value: it is personal data.
            raise ValueError("must be a valid 10-digit NHS number")
        return value

    @field_validator("dateOfBirth")
    @classmethod
    def _dob(cls, value: date | None) -> date | None:
        if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
            raise ValueError("must be a date between 1900-01-01 and today")
        return value

    _email = field_validator("email")(classmethod(lambda cls, v: _email(v)))


class Account(Response):
    id: str
    displayName: str
    nhsNumber: str | None = None
    dateOfBirth: date | None = None
    email: str | None = None
    notificationPreferences: NotificationPreferences
    status: Literal["active", "erasing"] = "active"
    createdAt: datetime
    updatedAt: datetime


# --- folders ---
class BodySiteIn(Request):
    code: str = Field(description="SNOMED CT body structure code", json_schema_extra={"enum": sorted(BODY_SITES)})
    laterality: Literal["left", "right"] | None = None

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in BODY_SITES:
            raise ValueError("must be one of the supported SNOMED CT body site codes")
        return value


class BodySite(Response):
    system: str = "http://snomed.info/sct"
    code: str
    display: str
    laterality: Literal["left", "right"] | None = None


class FolderIn(Request):
    label: str = Field(min_length=1, max_length=100, examples=["rash on hands"])
    bodySite: BodySiteIn | None = None
    condition: str | None = Field(None, max_length=200, examples=["eczema"])


class FolderPatch(Request):
    """JSON merge patch: only the fields sent change; `null` clears an optional field."""
    label: str | None = Field(None, min_length=1, max_length=100)
    bodySite: BodySiteIn | None = None
    condition: str | None = Field(None, max_length=200)


class Folder(Response):
    id: str
    label: str
    bodySite: BodySite | None = None
    condition: str | None = None
    imageCount: int = 0
    templateImageId: str | None = None
    createdAt: datetime
    updatedAt: datetime


# --- images ---
View = Literal["distant", "close_up", "dermoscopic"]


class Image(Response):
    id: str
    folderId: str
    status: Literal["pending", "ready", "rejected"]
    rejectedReason: str | None = Field(None, description="Why an upload was refused: empty, too_large, "
                                       "unsupported_type, corrupt, truncated, too_many_pixels.")
    takenAt: datetime | None = None
    uploadedAt: datetime
    note: str | None = None
    view: View | None = None
    width: int | None = None
    height: int | None = None
    contentType: str | None = None
    sizeBytes: int | None = None
    sha256: str | None = Field(None, description="Hex SHA-256 of the stored (metadata-stripped) image.")


def _aware_past(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("must include a time zone (RFC 3339)")
    if value > datetime.now(timezone.utc) + timedelta(minutes=10):
        raise ValueError("must not be in the future")
    if value.year < 1990:
        raise ValueError("must be after 1990")
    return value


# When the photograph was taken: RFC 3339 with a zone, not in the future.
TakenAt = Annotated[datetime | None, AfterValidator(_aware_past)]
Note = Annotated[str | None, Field(max_length=1000)]


class ImagePatch(Request):
    """JSON merge patch: `note` and `takenAt` may change; `null` clears."""
    note: Note = None
    takenAt: TakenAt = None


class UploadStart(Request):
    takenAt: TakenAt = None
    note: Note = None
    view: View | None = None


class UploadTicket(Response):
    imageId: str
    uploadUrl: str = Field(description="PUT the image bytes here (Azure: add header x-ms-blob-type: BlockBlob).")
    expiresAt: datetime
    maxBytes: int


class TemplateIn(Request):
    imageId: str | None = Field(description="A ready image of this folder, or null for no template.")


class Template(Response):
    imageId: str | None
    image: Image | None = None
