"""Owner keys: one random key per owner of images, wrapped by the KEK and kept on the owner's record;
every image's DEK is wrapped by it. The owners are patients (`PatientKeys`, the key on the account
record) and referrals (shared_code/referrals/keys.py, the key on the referral). Unwrapped keys are
cached in memory (crypto/key_cache.py) for PATIENT_KEY_CACHE_SECONDS, single-flight, and forgotten
when the owner is erased or shredded.

`OwnerKeyring` is the one place the key service's failures become domain errors: unreachable or
throttled is KeyServiceUnavailable (503, Retry-After), a destroyed key is the owner's own "gone"
error (AccountNotFound for a patient), a key record that does not unwrap is ImageIntegrityError."""
from __future__ import annotations

from typing import Any

from shared_code.accounts.repository import AccountRepository
from shared_code.crypto import (
    DecryptionError, PatientKeyCache, new_patient_key, unwrap_patient_key, wrapped_key_from_dict, wrapped_key_to_dict,
)
from shared_code.errors import AccountNotFound, DomainError, ImageIntegrityError, KeyServiceUnavailable
from shared_code.ports.errors import NotFound
from shared_code.ports.keys import KeyUnavailable, KeyWrapper
from shared_code.telemetry import metrics


class OwnerKeyring:
    """Keys by `key_id` (what names where the owner's wrapped key is kept); subclasses read it."""

    def __init__(self, keys: KeyWrapper, cache_seconds: float):
        self._keys = keys
        self.cache = PatientKeyCache(self._unwrap, ttl_seconds=cache_seconds)

    def create(self) -> dict[str, Any]:
        """A new owner key, wrapped by the KEK, in the owner record's form."""
        try:
            _, wrapped = new_patient_key(self._keys)
        except KeyUnavailable:
            raise KeyServiceUnavailable() from None
        return wrapped_key_to_dict(wrapped)

    def get(self, key_id: str) -> bytes:
        try:
            key = self.cache.get(key_id)
        except KeyUnavailable:
            raise KeyServiceUnavailable() from None
        except NotFound:
            raise self._destroyed() from None
        except (DecryptionError, ValueError):
            raise ImageIntegrityError() from None
        metrics.patient_key_lookup()  # telederm.patient_key.lookups: hits are those no unwrap served
        return key

    def forget(self, key_id: str) -> None:
        """Erasure, shredding: the cached key goes now (the owner's write already dropped the wrapped one)."""
        self.cache.forget(key_id)

    def _wrapped(self, key_id: str) -> dict[str, Any] | None:
        """The owner's wrapped key as its record keeps it; None when the owner or its key is gone."""
        raise NotImplementedError

    def _destroyed(self) -> DomainError:
        raise NotImplementedError

    def _unwrap(self, key_id: str) -> bytes:
        wrapped = self._wrapped(key_id)
        if not wrapped:
            raise NotFound(key_id)  # erased or shredded: the key no longer exists anywhere
        try:
            key = unwrap_patient_key(self._keys, wrapped_key_from_dict(wrapped))
        except KeyUnavailable:
            metrics.patient_key_missed(ok=False)
            raise
        metrics.patient_key_missed()
        return key


class PatientKeys(OwnerKeyring):
    """The patient's key, on the account record; the key id is the patient id."""

    def __init__(self, accounts: AccountRepository, keys: KeyWrapper, cache_seconds: float):
        self._accounts = accounts
        super().__init__(keys, cache_seconds)

    def _wrapped(self, patient_id: str) -> dict[str, Any] | None:
        account = self._accounts.find(patient_id)
        return account.patient_key if account is not None else None

    def _destroyed(self) -> DomainError:
        return AccountNotFound("This account's keys have been destroyed.")
