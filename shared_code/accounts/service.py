"""Patient accounts: create or update, read, and erase everything.

Erasure order matters: the account is first marked `erasing` (every later request is refused),
then the patient key is destroyed (so every image is unreadable at once, backups included), then
the erasure steps run (the container passes them: shares revoked, the key cache told, blobs
deleted), and finally the partition itself. A crash at any step leaves the account `erasing`, and
the next DELETE resumes."""
from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from shared_code.accounts.records import AccountRecord, AccountStatus
from shared_code.accounts.repository import AccountRepository
from shared_code.accounts.schemas import AccountIn
from shared_code.clock import Clock, iso
from shared_code.errors import AccountErasing, AccountNotFound

log = logging.getLogger(__name__)

ErasureStep = Callable[[str], None]  # (patient_id)


class KeyIssuer(Protocol):
    def create(self) -> dict[str, Any]:
        """A new patient key, wrapped by the KEK, in its stored form. Raises KeyServiceUnavailable."""


class AccountService:
    def __init__(self, accounts: AccountRepository, keys: KeyIssuer, clock: Clock, erasure_steps: list[ErasureStep]):
        self._accounts = accounts
        self._keys = keys
        self._clock = clock
        self._erasure_steps = erasure_steps

    def require(self, patient_id: str) -> AccountRecord:
        """The caller's account: none yet, or being erased, is AccountNotFound."""
        account = self._accounts.find(patient_id)
        if account is None:
            raise AccountNotFound()
        if account.erasing:
            raise AccountNotFound("This account is being erased.")
        return account

    def put(self, patient_id: str, data: AccountIn) -> tuple[AccountRecord, bool]:
        """Creates the account (with its patient key) or replaces its profile; True when created."""
        now = iso(self._clock.now())
        profile = data.model_dump(mode="json")
        account = self._accounts.find(patient_id)
        if account is None:
            created = AccountRecord.model_validate({**profile, "patientId": patient_id, "createdAt": now,
                                                    "updatedAt": now, "patientKey": self._keys.create()})
            created = self._accounts.create(created)
            log.info("account created")
            return created, True
        if account.erasing:
            raise AccountErasing()
        return self._accounts.replace(account.with_profile(profile, now)), False

    def erase(self, patient_id: str) -> None:
        account = self._accounts.find(patient_id)
        if account is None:
            raise AccountNotFound("There is no account to erase.")
        if not account.erasing or account.patient_key:
            # One write: the account is closed to every request AND its wrapped patient key is gone,
            # so every image of the patient is unreadable from this instant, backups included.
            self._accounts.replace(account.but(status=AccountStatus.ERASING, patient_key=None,
                                               erasing_since=iso(self._clock.now())))
        for step in self._erasure_steps:
            step(patient_id)
        count = self._accounts.erase(patient_id)
        log.info("account erased", extra={"event": "account.erased", "documents": count})
