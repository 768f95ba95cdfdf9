"""Test doubles and deterministic randomness for the crypto tests (never for production)."""
from __future__ import annotations

import hashlib
import os
from typing import Callable, Sequence

from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from shared_code.ports.keys import KeyUnavailable, WrappedKey


class AesKwKekDouble:
    """KeyWrapper test double: AES-256 key wrap (RFC 3394, "A256KW") under in-memory KEK
    versions. Stands in for the vault; `rotate()` adds a version, old ones keep unwrapping."""

    alg = "A256KW"

    def __init__(self, seed: bytes | None = None):
        self._seed = seed
        self._versions: dict[str, bytes] = {}
        self.unwrap_calls = 0
        self.rotate()

    def rotate(self) -> str:
        kid = f"test-kek/v{len(self._versions) + 1}"
        material = os.urandom(32) if self._seed is None else hashlib.sha256(self._seed + kid.encode()).digest()
        self._versions[kid] = material
        self._current = kid
        return kid

    def current_kid(self) -> str:
        return self._current

    def wrap(self, key: bytes) -> WrappedKey:
        return WrappedKey(kid=self._current, alg=self.alg, ciphertext=aes_key_wrap(self._versions[self._current], key))

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        self.unwrap_calls += 1
        if wrapped.kid not in self._versions or wrapped.alg != self.alg:
            raise KeyUnavailable(f"no KEK version {wrapped.kid!r} for {wrapped.alg!r}")
        return aes_key_unwrap(self._versions[wrapped.kid], wrapped.ciphertext)

    def check(self) -> None:
        return None


def det_rng(seed: str) -> Callable[[int], bytes]:
    """A deterministic rng (SHAKE-256 of seed and a call counter) for reproducible vectors."""
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        counter += 1
        return hashlib.shake_256(f"{seed}/{counter}".encode()).digest(n)

    return rng


def scripted_rng(outputs: Sequence[bytes]) -> Callable[[int], bytes]:
    """An rng that returns exactly `outputs`, in order, and fails on any other request."""
    pending = list(outputs)

    def rng(n: int) -> bytes:
        assert pending, "rng drawn more often than scripted"
        out = pending.pop(0)
        assert len(out) == n, f"rng asked for {n} bytes, script has {len(out)}"
        return out

    return rng
