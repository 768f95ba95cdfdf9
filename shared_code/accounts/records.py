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
    reminders: bool = True


class AccountRecord(Record):
    id: Literal["account"] = ACCOUNT_ID
    type: Literal["account"] = "account"
    patient_id: str
    status: AccountStatus = AccountStatus.ACTIVE
    display_name: str
    nhs_number: str | None = None
    # False until the number is traced against the national demographics service with this
    # account's name and date of birth (accounts/verification.py); a changed number is unverified again.
    nhs_number_verified: bool = False
    nhs_number_traced_at: str | None = None
    date_of_birth: date | None = None
    email: str | None = None
    # Mail goes only to an address the identity provider verified (see service.py): false until then.
    email_verified: bool = False
    notification_preferences: NotificationSettings = NotificationSettings()
    patient_key: dict[str, Any] | None = None  # the wrapped key (crypto.wrapped_key_to_dict)
    created_at: str
    updated_at: str
    erasing_since: str | None = None
    # The day (UTC) the account was last used: retention's activity, written at most once a day.
    last_active_at: str | None = None

    @property
    def erasing(self) -> bool:
        return self.status is AccountStatus.ERASING

    def with_profile(self, profile: dict[str, Any], now: str) -> "AccountRecord":
        """`profile`: the stored (camelCase) shape of every profile field, as PUT /api/me replaces all.
        A trace vouched for the number with the name and date of birth it was made with: if any of
        them changes, the number is unverified again (until the next trace)."""
        updated = type(self).model_validate({**self.to_doc(), **profile, "updatedAt": now, "etag": self.etag})
        return updated if not updated.identity_changed_since(self) else updated.but(nhs_number_verified=False,
                                                                                    nhs_number_traced_at=None)

    def identity_changed_since(self, before: "AccountRecord") -> bool:
        return (self.nhs_number, self.display_name, self.date_of_birth) != (
            before.nhs_number, before.display_name, before.date_of_birth)

    @property
    def needs_trace(self) -> bool:
        return self.nhs_number is not None and not self.nhs_number_verified

    def traced(self, verified: bool, now: str) -> "AccountRecord":
        return self.but(nhs_number_verified=verified, nhs_number_traced_at=now if verified else None)

    def public(self) -> dict[str, Any]:
        """The API's account (API.md, Account): its id is the patient id."""
        return {"id": self.patient_id, "displayName": self.display_name, "nhsNumber": self.nhs_number,
                "nhsNumberVerified": self.nhs_number_verified, "dateOfBirth": self.date_of_birth, "email": self.email,
                "emailVerified": self.email_verified,
                "notificationPreferences": self.notification_preferences.to_doc(), "status": self.status.value,
                "createdAt": self.created_at, "updatedAt": self.updated_at}
