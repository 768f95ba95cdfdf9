"""The patient key: one random key per patient, wrapped by the KEK and kept on the account record;
every image's DEK is wrapped by it. Unwrapped keys are cached in memory (crypto/key_cache.py) for
PATIENT_KEY_CACHE_SECONDS, single-flight, and forgotten at erasure.

This is the one place the key service's failures become domain errors: unreachable or throttled
is KeyServiceUnavailable (503, Retry-After), a destroyed key is AccountNotFound, a key record that
does not unwrap is ImageIntegrityError."""
from __future__ import annotations

from typing import Any

from shared_code.accounts.repository import AccountRepository
from shared_code.crypto import (
    DecryptionError, PatientKeyCache, new_patient_key, unwrap_patient_key, wrapped_key_from_dict, wrapped_key_to_dict,
)
from shared_code.errors import AccountNotFound, ImageIntegrityError, KeyServiceUnavailable
from shared_code.ports.errors import NotFound
from shared_code.ports.keys import KeyUnavailable, KeyWrapper


class PatientKeys:
    def __init__(self, accounts: AccountRepository, keys: KeyWrapper, cache_seconds: float):
        self._accounts = accounts
        self._keys = keys
        self.cache = PatientKeyCache(self._unwrap, ttl_seconds=cache_seconds)

    def create(self) -> dict[str, Any]:
        """A new patient key, wrapped by the KEK, in the account record's form."""
        try:
            _, wrapped = new_patient_key(self._keys)
        except KeyUnavailable:
            raise KeyServiceUnavailable() from None
        return wrapped_key_to_dict(wrapped)

    def get(self, patient_id: str) -> bytes:
        try:
            return self.cache.get(patient_id)
        except KeyUnavailable:
            raise KeyServiceUnavailable() from None
        except NotFound:
            raise AccountNotFound("This account's keys have been destroyed.") from None
        except (DecryptionError, ValueError):
            raise ImageIntegrityError() from None

    def forget(self, patient_id: str) -> None:
        """Erasure: the cached key goes now (the account's write already dropped the wrapped one)."""
        self.cache.forget(patient_id)

    def _unwrap(self, patient_id: str) -> bytes:
        account = self._accounts.find(patient_id)
        if account is None or not account.patient_key:
            raise NotFound(patient_id)  # erased: the key no longer exists anywhere
        return unwrap_patient_key(self._keys, wrapped_key_from_dict(account.patient_key))
