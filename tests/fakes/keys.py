"""In-memory KeyWrapper: a real AES-256-GCM key wrap (A256GCMKW, as the local adapter) under
versioned KEKs kept in a `FakeVault`.

Several wrappers over one vault behave like several instances over one Key Vault key. The error
contract is the port's: a version that is disabled or unknown raises KeyUnavailable; a bad wrapped
key (tampered or truncated ciphertext, a kid of another KEK, another algorithm) raises ValueError.
`unwrap_calls` counts what would be vault operations (for key-cache tests)."""
from __future__ import annotations

import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared_code.ports.keys import KeyUnavailable, WrappedKey
from tests.fakes.faults import Faults

ALGORITHM = "A256GCMKW"
KID_PREFIX = "memory-kek/v"
_KID = re.compile(r"^memory-kek/v([0-9]{1,9})$")
_NONCE, _TAG = 12, 16


class FakeVault:
    """The KEK versions (newest is current) and which of them are disabled."""

    def __init__(self) -> None:
        self.versions: list[bytes] = []
        self.disabled: set[str] = set()
        self.rotate()

    def rotate(self) -> str:
        self.versions.append(AESGCM.generate_key(bit_length=256))
        return self.current_kid()

    def current_kid(self) -> str:
        return f"{KID_PREFIX}{len(self.versions)}"

    def disable(self, kid: str) -> None:
        self.disabled.add(kid)

    def key(self, kid: str) -> bytes:
        match = _KID.match(kid) if isinstance(kid, str) else None
        if not match:
            raise ValueError(f"{kid!r} is not a version of this KEK")
        number = int(match.group(1))
        if not 1 <= number <= len(self.versions):
            raise KeyUnavailable(f"KEK version {kid} does not exist")
        if kid in self.disabled:
            raise KeyUnavailable(f"KEK version {kid} is disabled")
        return self.versions[number - 1]


class FakeKeyWrapper:
    def __init__(self, vault: FakeVault | None = None) -> None:
        self.vault = vault or FakeVault()
        self.unwrap_calls = 0
        self.faults = Faults()

    def current_kid(self) -> str:
        return self.vault.current_kid()

    def wrap(self, key: bytes) -> WrappedKey:
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise ValueError("wrap() takes the data key as non-empty bytes")
        self.faults.before("wrap", key)
        kid = self.vault.current_kid()
        nonce = os.urandom(_NONCE)
        return WrappedKey(kid, ALGORITHM, nonce + AESGCM(self.vault.key(kid)).encrypt(nonce, bytes(key), kid.encode()))

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        self.unwrap_calls += 1
        self.faults.before("unwrap", wrapped)
        if wrapped.alg != ALGORITHM:
            raise ValueError(f"this KEK cannot unwrap {wrapped.alg!r} (expected {ALGORITHM})")
        kek = self.vault.key(wrapped.kid)
        data = wrapped.ciphertext
        if len(data) <= _NONCE + _TAG:
            raise ValueError("wrapped key is too short")
        try:
            return AESGCM(kek).decrypt(data[:_NONCE], data[_NONCE:], wrapped.kid.encode())
        except InvalidTag:
            raise ValueError(f"wrapped key failed authentication under {wrapped.kid}") from None

    def check(self) -> None:
        probe = os.urandom(32)
        if self.unwrap(self.wrap(probe)) != probe:  # pragma: no cover - AES-GCM would have raised
            raise KeyUnavailable("KEK self-test failed")

    def rotate(self) -> str:
        """Add a KEK version and make it current (as LocalKeyWrapper.rotate): older ones keep unwrapping."""
        return self.vault.rotate()
