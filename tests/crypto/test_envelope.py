"""The key hierarchy: KEK -> patient key -> per-image DEK, and what each wrapping is bound to."""
from __future__ import annotations

import json
import os

import pytest

from shared_code.crypto import (
    DecryptionError,
    ObjectContext,
    decrypt_object,
    encrypt_object,
    new_dek,
    new_patient_key,
    unwrap_dek,
    unwrap_patient_key,
    wrapped_key_from_dict,
    wrapped_key_to_dict,
)
from shared_code.crypto.envelope import WRAPPED_DEK_SIZE
from shared_code.ports.keys import KeyUnavailable, WrappedKey
from tests.crypto.doubles import AesKwKekDouble


def test_patient_key_round_trip_through_the_kek():
    kek = AesKwKekDouble()
    key, wrapped = new_patient_key(kek)
    assert len(key) == 32 and wrapped.kid == kek.current_kid() and wrapped.alg == "A256KW"
    assert unwrap_patient_key(kek, wrapped) == key


def test_patient_keys_are_fresh():
    kek = AesKwKekDouble()
    assert new_patient_key(kek)[0] != new_patient_key(kek)[0]


def test_patient_key_wrapped_before_rotation_still_unwraps():
    kek = AesKwKekDouble()
    key, old = new_patient_key(kek)
    kek.rotate()
    _, new = new_patient_key(kek)
    assert old.kid != new.kid == kek.current_kid()
    assert unwrap_patient_key(kek, old) == key


def test_vault_unavailable_propagates_as_is():
    kek = AesKwKekDouble()
    _, wrapped = new_patient_key(kek)
    with pytest.raises(KeyUnavailable):
        unwrap_patient_key(kek, WrappedKey("unknown/v9", wrapped.alg, wrapped.ciphertext))


def test_a_vault_answer_that_is_not_a_256_bit_key_is_refused():
    class ShortKeyVault(AesKwKekDouble):
        def unwrap(self, wrapped):
            return b"k" * 16

    kek = ShortKeyVault()
    _, wrapped = new_patient_key(kek)
    with pytest.raises(DecryptionError):
        unwrap_patient_key(kek, wrapped)


def test_wrapped_key_dict_round_trips_through_json():
    _, wrapped = new_patient_key(AesKwKekDouble())
    record = json.loads(json.dumps(wrapped_key_to_dict(wrapped)))
    assert set(record) == {"kid", "alg", "ciphertext"}
    assert wrapped_key_from_dict(record) == wrapped


@pytest.mark.parametrize(
    "record",
    [
        None,
        [],
        {"kid": "k", "alg": "A256KW"},
        {"kid": "k", "alg": "A256KW", "ciphertext": "AAAA", "extra": "x"},
        {"kid": "", "alg": "A256KW", "ciphertext": "AAAA"},
        {"kid": "k", "alg": 1, "ciphertext": "AAAA"},
        {"kid": "k", "alg": "A256KW", "ciphertext": ""},
        {"kid": "k", "alg": "A256KW", "ciphertext": "AA=A"},
        {"kid": "k", "alg": "A256KW", "ciphertext": "AA AA"},
        {"kid": "k", "alg": "A256KW", "ciphertext": "AB=="},  # non-canonical padding bits
        {"kid": "k", "alg": "A256KW", "ciphertext": "-_-_"},  # urlsafe alphabet is not ours
    ],
)
def test_malformed_wrapped_key_records_are_refused(record):
    with pytest.raises(DecryptionError):
        wrapped_key_from_dict(record)


def test_dek_round_trip():
    pk = os.urandom(32)
    dek, wrapped = new_dek(pk, "patient-1", "image-a")
    assert len(dek) == 32 and len(wrapped) == WRAPPED_DEK_SIZE == 61
    assert unwrap_dek(pk, "patient-1", "image-a", wrapped) == dek


def test_deks_and_nonces_are_fresh():
    pk = os.urandom(32)
    (d1, w1), (d2, w2) = new_dek(pk, "p", "i"), new_dek(pk, "p", "i")
    assert d1 != d2 and w1[1:13] != w2[1:13]


@pytest.mark.parametrize(
    "patient_id, image_id",
    [("patient-1", "image-b"), ("patient-2", "image-a"), ("patient-1i", "mage-a"), ("patient-", "1image-a")],
)
def test_dek_of_one_image_refuses_to_unwrap_as_another(patient_id, image_id):
    pk = os.urandom(32)
    _, wrapped = new_dek(pk, "patient-1", "image-a")
    with pytest.raises(DecryptionError):
        unwrap_dek(pk, patient_id, image_id, wrapped)


def test_dek_refuses_to_unwrap_under_another_patients_key():
    kek = AesKwKekDouble()
    pk1, _ = new_patient_key(kek)
    pk2, _ = new_patient_key(kek)
    _, wrapped = new_dek(pk1, "patient-1", "image-a")
    with pytest.raises(DecryptionError):
        unwrap_dek(pk2, "patient-1", "image-a", wrapped)


def test_swapped_patient_key_records_are_caught():
    """Patient 2's wrapped patient key stored on patient 1's record: it unwraps (the KEK is
    shared) but no DEK of patient 1 opens under it."""
    kek = AesKwKekDouble()
    pk1, _ = new_patient_key(kek)
    _, wrapped_pk2 = new_patient_key(kek)
    _, wrapped_dek = new_dek(pk1, "patient-1", "image-a")
    with pytest.raises(DecryptionError):
        unwrap_dek(unwrap_patient_key(kek, wrapped_pk2), "patient-1", "image-a", wrapped_dek)


def test_wrapped_deks_swapped_between_images_are_caught():
    pk = os.urandom(32)
    _, wrapped_a = new_dek(pk, "patient-1", "image-a")
    _, wrapped_b = new_dek(pk, "patient-1", "image-b")
    with pytest.raises(DecryptionError):
        unwrap_dek(pk, "patient-1", "image-a", wrapped_b)
    with pytest.raises(DecryptionError):
        unwrap_dek(pk, "patient-1", "image-b", wrapped_a)


@pytest.mark.parametrize("bad", [b"", b"\x01" * 60, b"\x01" * 62, "not bytes"])
def test_malformed_wrapped_deks_are_refused(bad):
    with pytest.raises(DecryptionError):
        unwrap_dek(os.urandom(32), "p", "i", bad)


@pytest.mark.parametrize("pk", [b"", b"k" * 16, b"k" * 33])
def test_wrong_size_patient_key_is_a_programming_error(pk):
    with pytest.raises(ValueError):
        new_dek(pk, "p", "i")
    with pytest.raises(ValueError):
        unwrap_dek(pk, "p", "i", b"\x01" * 61)


@pytest.mark.parametrize("bad_id", ["", "\ud800", "x" * 1025, None])
def test_bad_ids_are_refused(bad_id):
    with pytest.raises((ValueError, TypeError)):
        new_dek(os.urandom(32), bad_id, "i")
    with pytest.raises((ValueError, TypeError)):
        ObjectContext("p", bad_id, "original")


def test_whole_chain_kek_to_plaintext():
    kek = AesKwKekDouble()
    _, wrapped_pk = new_patient_key(kek)
    record = {"patient_key": wrapped_key_to_dict(wrapped_pk)}  # as stored with the patient
    pk = unwrap_patient_key(kek, wrapped_key_from_dict(json.loads(json.dumps(record))["patient_key"]))
    dek, wrapped_dek = new_dek(pk, "patient-1", "image-a")
    ctx = ObjectContext("patient-1", "image-a", "original")
    stream = encrypt_object(dek, ctx, [b"skin " * 1000], segment_size=256)
    blob = b"".join(stream)
    dek_again = unwrap_dek(unwrap_patient_key(kek, wrapped_pk), "patient-1", "image-a", wrapped_dek)
    out = decrypt_object(dek_again, ctx, [blob], expected_header_digest=stream.header_digest, expected_length=stream.length)
    assert b"".join(out) == b"skin " * 1000
