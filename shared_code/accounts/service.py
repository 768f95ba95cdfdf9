"""Patient accounts: create or update, read, and erase everything.

Erasure order matters: the account is first marked `erasing` (every later request is refused),
then the patient key is destroyed (so every image is unreadable at once, backups included), then
the erasure steps run (the container passes them: shares revoked, the key cache told, blobs
deleted), and finally the partition itself. A crash at any step leaves the account `erasing`, and
the next DELETE resumes.

Whose address: mail to a patient goes only to an address the patients' identity provider verified,
i.e. the token's `email` with `email_verified: true` (auth/tokens.py keeps no other on the
principal). PUT /api/me records `emailVerified` true when the `email` sent is that address, keeps
it true while the same address is sent again, and false for any other (stored, shown, never
mailed). This service runs no confirmation flow of its own, on purpose: the identity provider (NHS
login, Entra External ID) already proves the address with a one-time code at sign-up and when the
patient changes it there; a flow here would mean mailing codes to unproven addresses, which is the
abuse it is meant to stop, and a second place to change an address. A patient who wants mail
elsewhere changes it at the provider and sends it again. The dispatcher (notifications/recipients.py)
mails nobody whose account does not say `emailVerified`."""
from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from shared_code.accounts.nhs_numbers import NhsNumberIndex
from shared_code.accounts.records import AccountRecord, AccountStatus
from shared_code.accounts.repository import AccountRepository
from shared_code.accounts.schemas import AccountIn
from shared_code.accounts.verification import NhsNumberTracer
from shared_code.clock import Clock, iso
from shared_code.errors import AccountErasing, AccountNotFound

log = logging.getLogger(__name__)

ErasureStep = Callable[[str], None]  # (patient_id)


class KeyIssuer(Protocol):
    def create(self) -> dict[str, Any]:
        """A new patient key, wrapped by the KEK, in its stored form. Raises KeyServiceUnavailable."""


class AccountService:
    def __init__(self, accounts: AccountRepository, keys: KeyIssuer, clock: Clock, erasure_steps: list[ErasureStep],
                 nhs_numbers: NhsNumberIndex, tracer: NhsNumberTracer):
        self._accounts = accounts
        self._keys = keys
        self._clock = clock
        self._erasure_steps = erasure_steps
        self._nhs_numbers = nhs_numbers
        self._tracer = tracer

    def require(self, patient_id: str) -> AccountRecord:
        """The caller's account: none yet, or being erased, is AccountNotFound."""
        account = self._accounts.find(patient_id)
        if account is None:
            raise AccountNotFound()
        if account.erasing:
            raise AccountNotFound("This account is being erased.")
        return account

    def put(self, patient_id: str, data: AccountIn, verified_email: str | None = None) -> tuple[AccountRecord, bool]:
        """Creates the account (with its patient key) or replaces its profile; True when created.
        `verified_email`: the address the caller's token verifies (the principal's `email`)."""
        now = iso(self._clock.now())
        profile = data.model_dump(mode="json")
        account = self._accounts.find(patient_id)
        profile["emailVerified"] = _email_verified(data.email, verified_email, account)
        if account is None:
            created = AccountRecord.model_validate({**profile, "patientId": patient_id, "createdAt": now,
                                                    "updatedAt": now, "patientKey": self._keys.create()})
            created = self._accounts.create(self._trace(created, now))
            self._index_number(created, None)
            log.info("account created")
            return created, True
        if account.erasing:
            raise AccountErasing()
        updated = self._accounts.replace(self._trace(account.with_profile(profile, now), now))
        self._index_number(updated, account.nhs_number)
        return updated, False

    def _trace(self, account: AccountRecord, now: str) -> AccountRecord:
        """Inline, before the one write, with the adapter's short timeout: a number not yet verified
        (new, changed, or with a changed name or date of birth) is traced; a failed or impossible
        trace leaves it unverified and never fails the request."""
        if not account.needs_trace or not self._tracer.configured:
            return account
        return account.traced(self._tracer.traced(account.nhs_number, account.display_name, account.date_of_birth),
                              now)

    def _index_number(self, account: AccountRecord, before: str | None) -> None:
        """Which accounts hold which number (for `nhsNumberShared`); after the account's write, so
        the account is never missing from the entry of the number it holds for long."""
        if account.nhs_number == before:
            return
        if account.nhs_number:
            self._nhs_numbers.add(account.nhs_number, account.patient_id)
        if before:
            self._nhs_numbers.remove(before, account.patient_id)

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
        if account.nhs_number:
            self._nhs_numbers.remove(account.nhs_number, patient_id)
        count = self._accounts.erase(patient_id)
        log.info("account erased", extra={"event": "account.erased", "documents": count})


def _email_verified(email: str | None, verified_email: str | None, account: AccountRecord | None) -> bool:
    """The token verifies it now, or it is the address already verified for this account."""
    if email is None:
        return False
    if verified_email is not None and email == verified_email.strip().lower():
        return True
    return account is not None and account.email_verified and account.email == email
