"""Known-answer and negative vectors from vectors.json (made by make_vectors.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared_code.crypto import DecryptionError, ObjectContext, decrypt_object, encrypt_object, new_dek, unwrap_dek, verify_object
from tests.crypto import make_vectors
from tests.crypto.doubles import scripted_rng

MANIFEST = json.loads(Path(__file__).with_name("vectors.json").read_text(encoding="ascii"))
OBJ_POS = MANIFEST["object"]["positive"]
OBJ_NEG = MANIFEST["object"]["negative"]
ENV_POS = MANIFEST["envelope"]["positive"]
ENV_NEG = MANIFEST["envelope"]["negative"]


def _ctx(v: dict) -> ObjectContext:
    return ObjectContext(v["patient_id"], v["image_id"], v["variant"])


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def test_manifest_is_what_the_generator_makes_now():
    assert Path(make_vectors.PATH).read_text(encoding="ascii") == make_vectors.render(make_vectors.build()), (
        "vectors.json is stale: run `python -m tests.crypto.make_vectors` and review the diff"
    )


def test_manifest_covers_the_required_negatives():
    names = {v["name"] for v in OBJ_NEG}
    base = next(v for v in OBJ_POS if v["name"] == "base-for-negatives")
    assert all(f"truncated-to-{n}-recorded-length" in names for n in range(base["length"]))
    assert sum(n.startswith("bit-flip-") and "digest" not in n for n in names) == base["length"]
    for needle in ("dropped", "duplicated", "swapped", "spliced", "dek-of-image-b", "read-as-thumbnail",
                   "thumbnail-read-as-original", "wrong-patient-id", "wrong-image-id", "commitment", "tag"):
        assert any(needle in n for n in names), needle
    assert len(names) == len(OBJ_NEG)


@pytest.mark.parametrize("v", OBJ_POS, ids=lambda v: v["name"])
def test_object_positive_reproduces_exactly_and_decrypts(v):
    dek, plaintext, expected = bytes.fromhex(v["dek"]), bytes.fromhex(v["plaintext"]), bytes.fromhex(v["ciphertext"])
    for size in (1, 7, 1 << 20):
        rng = scripted_rng([bytes.fromhex(v["salt"]), bytes.fromhex(v["nonce_prefix"])])
        stream = encrypt_object(dek, _ctx(v), _chunks(plaintext, size), segment_size=v["segment_size"], rng=rng)
        assert b"".join(stream) == expected
        assert stream.header_digest.hex() == v["header_digest"] and stream.length == v["length"] == len(expected)
    kwargs = dict(expected_header_digest=bytes.fromhex(v["header_digest"]), expected_length=v["length"])
    for size in (1, 13, 1 << 20):
        assert b"".join(decrypt_object(dek, _ctx(v), _chunks(expected, size), **kwargs)) == plaintext
    assert verify_object(dek, _ctx(v), [expected], **kwargs) == len(plaintext)


@pytest.mark.parametrize("v", OBJ_NEG, ids=lambda v: v["name"])
def test_object_negative_is_refused(v):
    dek, ct = bytes.fromhex(v["dek"]), bytes.fromhex(v["ciphertext"])
    kwargs = dict(expected_header_digest=bytes.fromhex(v["header_digest"]), expected_length=v["length"])
    for size in (5, 1 << 20):
        with pytest.raises(DecryptionError):
            for _ in decrypt_object(dek, _ctx(v), _chunks(ct, size), **kwargs):
                pass
    with pytest.raises(DecryptionError):
        verify_object(dek, _ctx(v), [ct], **kwargs)


@pytest.mark.parametrize("v", ENV_POS, ids=lambda v: v["name"])
def test_envelope_positive_reproduces_exactly_and_unwraps(v):
    pk, dek, nonce = bytes.fromhex(v["patient_key"]), bytes.fromhex(v["dek"]), bytes.fromhex(v["nonce"])
    made_dek, wrapped = new_dek(pk, v["patient_id"], v["image_id"], rng=scripted_rng([dek, nonce]))
    assert made_dek == dek and wrapped.hex() == v["wrapped_dek"]
    assert unwrap_dek(pk, v["patient_id"], v["image_id"], wrapped) == dek


@pytest.mark.parametrize("v", ENV_NEG, ids=lambda v: v["name"])
def test_envelope_negative_is_refused(v):
    with pytest.raises(DecryptionError):
        unwrap_dek(bytes.fromhex(v["patient_key"]), v["patient_id"], v["image_id"], bytes.fromhex(v["wrapped_dek"]))
