"""The account record: one per patient, `patients` / patient id / `account`. It holds the profile,
the notification preferences and the patient key wrapped by the KEK (gone once erasure begins)."""
from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any, Literal

from shared_code.records import Record

ACCOUNT_ID = "account"


class AccountStatus(str, Enum):
    ACTIVE = "active"
    ERASING = "erasing"  # closed to every request; erasure resumes on the next DELETE


class NotificationSettings(Record):
    comments: bool = True
    share_expiring: bool = True
    upload_rejected: bool = True


class AccountRecord(Record):
    id: Literal["account"] = ACCOUNT_ID
    type: Literal["account"] = "account"
    patient_id: str
    status: AccountStatus = AccountStatus.ACTIVE
    display_name: str
    nhs_number: str | None = None
    date_of_birth: date | None = None
    email: str | None = None
    notification_preferences: NotificationSettings = NotificationSettings()
    patient_key: dict[str, Any] | None = None  # the wrapped key (crypto.wrapped_key_to_dict)
    created_at: str
    updated_at: str
    erasing_since: str | None = None

    @property
    def erasing(self) -> bool:
        return self.status is AccountStatus.ERASING

    def with_profile(self, profile: dict[str, Any], now: str) -> "AccountRecord":
        """`profile`: the stored (camelCase) shape of every profile field, as PUT /api/me replaces all."""
        return type(self).model_validate({**self.to_doc(), **profile, "updatedAt": now, "etag": self.etag})

    def public(self) -> dict[str, Any]:
        """The API's account (API.md, Account): its id is the patient id."""
        return {"id": self.patient_id, "displayName": self.display_name, "nhsNumber": self.nhs_number,
                "dateOfBirth": self.date_of_birth, "email": self.email,
                "notificationPreferences": self.notification_preferences.to_doc(), "status": self.status.value,
                "createdAt": self.created_at, "updatedAt": self.updated_at}
