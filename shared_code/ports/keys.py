"""Port: wrapping data keys under a key-encryption key (KEK) that never leaves its vault.

In Azure the KEK is a Key Vault RSA-HSM key (RSA-OAEP-256) or a Managed HSM AES key (A256KW);
locally it is a key file under LOCAL_DATA_DIR. The domain sees only this interface.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WrappedKey:
    """A key wrapped by one version of the KEK. `kid` names that version, so older versions keep
    unwrapping after rotation."""

    kid: str
    alg: str
    ciphertext: bytes


class KeyUnavailable(Exception):
    """The vault refused or could not be reached (throttled, disabled key, network)."""


class KeyWrapper(Protocol):
    def current_kid(self) -> str:
        """The newest KEK version's id: what `wrap` uses now."""

    def wrap(self, key: bytes) -> WrappedKey:
        """Wrap `key` under the newest KEK version."""

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        """Unwrap with the version named by `wrapped.kid`. Raises KeyUnavailable."""

    def check(self) -> None:
        """Deep health check: raises if the KEK cannot be used."""
