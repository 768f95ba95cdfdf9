"""The key hierarchy: KEK -> patient key -> one DEK per image.

* The KEK lives in the vault behind the KeyWrapper port and wraps one random 256-bit patient key,
  stored (as a WrappedKey) with the patient record. Erasing a patient = forgetting that record:
  every image key below it becomes unrecoverable (crypto-shredding), and a KEK rotation rewraps one
  small key per patient, never an image.
* The patient key wraps one random 256-bit DEK per image with AES-256-GCM. The AAD is the canonical
  (patient id, image id) encoding, so a wrapped DEK copied onto another image, or another
  patient, refuses to unwrap. The original and the thumbnail of an image share its DEK; they are
  told apart by the object context (see streaming.py), not by separate keys.

Wrapped DEK layout (61 bytes): version (1, = FORMAT_VERSION) || nonce (12) || AES-GCM(DEK) (32) ||
tag (16). The version byte is also inside the AAD. Nonces are random: a patient key wraps at most
a few thousand DEKs, far below the 2^32 random-nonce limit for AES-GCM.
"""
from __future__ import annotations

import base64
import binascii
import os
from typing import Any, Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared_code.crypto.context import FORMAT_VERSION, wrapped_dek_aad
from shared_code.crypto.errors import DecryptionError
from shared_code.ports.keys import KeyWrapper, WrappedKey

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
WRAPPED_DEK_SIZE = 1 + NONCE_SIZE + KEY_SIZE + TAG_SIZE

Rng = Callable[[int], bytes]


def _draw(rng: Rng, n: int) -> bytes:
    out = rng(n)
    if not isinstance(out, bytes) or len(out) != n:
        raise ValueError("rng returned the wrong number of bytes")
    return out


def _check_key(name: str, key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_SIZE:
        raise ValueError(f"{name} must be {KEY_SIZE} bytes")


def new_patient_key(kek: KeyWrapper, *, rng: Rng = os.urandom) -> tuple[bytes, WrappedKey]:
    """A fresh patient key and its wrapping under the newest KEK version (store the latter)."""
    key = _draw(rng, KEY_SIZE)
    return key, kek.wrap(key)


def unwrap_patient_key(kek: KeyWrapper, wrapped: WrappedKey) -> bytes:
    """The patient key. KeyUnavailable (vault down, throttled) propagates unchanged: it is
    retryable, unlike DecryptionError. A vault that returns something that is not a 256-bit key
    is refused."""
    key = kek.unwrap(wrapped)
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise DecryptionError("unwrapped patient key has the wrong size")
    return key


def new_dek(patient_key: bytes, patient_id: str, image_id: str, *, rng: Rng = os.urandom) -> tuple[bytes, bytes]:
    """A fresh DEK for one image and its wrapping under the patient key, bound to (patient, image).
    rng is drawn for the DEK (32 bytes) then the nonce (12 bytes)."""
    _check_key("patient_key", patient_key)
    aad = wrapped_dek_aad(patient_id, image_id)
    dek = _draw(rng, KEY_SIZE)
    nonce = _draw(rng, NONCE_SIZE)
    sealed = AESGCM(bytes(patient_key)).encrypt(nonce, dek, aad)
    return dek, FORMAT_VERSION.to_bytes(1, "big") + nonce + sealed


def unwrap_dek(patient_key: bytes, patient_id: str, image_id: str, wrapped_dek: bytes) -> bytes:
    """The image's DEK, or DecryptionError if the wrapped DEK is not, byte for byte, one this
    patient key made for this (patient, image)."""
    _check_key("patient_key", patient_key)
    aad = wrapped_dek_aad(patient_id, image_id)
    if not isinstance(wrapped_dek, (bytes, bytearray)) or len(wrapped_dek) != WRAPPED_DEK_SIZE:
        raise DecryptionError("wrapped DEK has the wrong size")
    if wrapped_dek[0] != FORMAT_VERSION:
        raise DecryptionError("wrapped DEK has an unknown version")
    nonce = bytes(wrapped_dek[1 : 1 + NONCE_SIZE])
    try:
        return AESGCM(bytes(patient_key)).decrypt(nonce, bytes(wrapped_dek[1 + NONCE_SIZE :]), aad)
    except InvalidTag:
        raise DecryptionError("wrapped DEK does not authenticate for this patient key and image") from None


def wrapped_key_to_dict(wrapped: WrappedKey) -> dict[str, str]:
    """JSON-safe form of a WrappedKey for the patient record: ciphertext as standard base64."""
    return {"kid": wrapped.kid, "alg": wrapped.alg, "ciphertext": base64.b64encode(wrapped.ciphertext).decode("ascii")}


def wrapped_key_from_dict(data: Any) -> WrappedKey:
    """Inverse of wrapped_key_to_dict. Strict (exact keys, non-empty strings, canonical base64):
    a record that is not exactly what we wrote raises DecryptionError, because to the caller a
    patient key it cannot read is a patient key it cannot decrypt with."""
    if not isinstance(data, dict) or set(data) != {"kid", "alg", "ciphertext"}:
        raise DecryptionError("malformed wrapped key record")
    if not all(isinstance(data[k], str) and data[k] for k in ("kid", "alg", "ciphertext")):
        raise DecryptionError("malformed wrapped key record")
    try:
        ciphertext = base64.b64decode(data["ciphertext"], validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError("malformed wrapped key record") from None
    if base64.b64encode(ciphertext).decode("ascii") != data["ciphertext"]:
        raise DecryptionError("malformed wrapped key record")  # non-canonical padding bits
    return WrappedKey(kid=data["kid"], alg=data["alg"], ciphertext=ciphertext)
