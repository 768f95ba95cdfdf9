"""The account's API bodies (PUT/GET /api/me)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared_code.domain.nhs_number import is_valid_nhs_number, normalise_nhs_number
from shared_code.api_schemas import EMAIL, CalendarDate, Request, Response, email_address


class NotificationPreferences(BaseModel):
    # Strict: a preference is JSON true or false, never 0, 1 or "yes".
    model_config = ConfigDict(extra="forbid", strict=True)
    comments: bool = Field(True, description="E-mail me when a clinician comments (never the comment's text).")
    shareExpiring: bool = Field(True, description="E-mail me 48 hours before a share expires.")
    uploadRejected: bool = Field(True, description="E-mail me when an upload could not be accepted.")
    reminders: bool = Field(True, description="E-mail me when a folder's photo reminder is due.")


class AccountIn(Request):
    displayName: str = Field(min_length=1, max_length=100)
    nhsNumber: str | None = Field(None, description="10 digits, modulus-11 valid; spaces allowed as printed.")
    dateOfBirth: CalendarDate | None = None
    email: str | None = Field(None, max_length=254, json_schema_extra=EMAIL)
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

    _email = field_validator("email")(classmethod(lambda cls, v: email_address(v)))


class Account(Response):
    id: str
    displayName: str
    nhsNumber: str | None = None
    nhsNumberVerified: bool = Field(
        False, description="False until the NHS number is traced against the national demographics service (PDS) "
                           "with this name and date of birth; false again when any of them changes. Where no trace "
                           "is configured (local development) it stays false.")
    dateOfBirth: date | None = None
    email: str | None = None
    emailVerified: bool = Field(False, description=(
        "Mail is sent only when true: `email` is the address the sign-in provider verified for this login."))
    notificationPreferences: NotificationPreferences
    status: Literal["active", "erasing"] = "active"
    createdAt: datetime
    updatedAt: datetime
