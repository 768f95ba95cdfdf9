"""Differential tests against Google Tink (the `tink` package): after our 41-byte prefix, an
object IS a Tink AES-GCM-HKDF streaming ciphertext, in both directions."""
from __future__ import annotations

import hashlib
import io
import os
import random

import pytest

tink = pytest.importorskip("tink")
from tink import cleartext_keyset_handle, streaming_aead  # noqa: E402
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2  # noqa: E402

from shared_code.crypto import DecryptionError, ObjectContext, decrypt_object, encrypt_object, object_prefix  # noqa: E402
from shared_code.crypto.streaming import HEADER_SIZE, PREFIX_SIZE  # noqa: E402

streaming_aead.register()
CTX = ObjectContext("patient-7", "image-42", "original")
SIZES = [0, 1, 8, 9, 56, 57, 104, 105, 1000, 5003]


def tink_primitive(key: bytes, segment_size: int) -> streaming_aead.StreamingAead:
    """A Tink StreamingAead for a raw 32-byte key. Test only: builds a cleartext keyset."""
    key_proto = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0,
        key_value=key,
        params=aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
            ciphertext_segment_size=segment_size, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256
        ),
    )
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
                    value=key_proto.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    return cleartext_keyset_handle.from_keyset(keyset).primitive(streaming_aead.StreamingAead)


class _Sink(io.BytesIO):
    """Tink closes its destination; keep the bytes."""

    def close(self) -> None:
        self.value = self.getvalue()
        super().close()


def tink_encrypt(key: bytes, segment_size: int, plaintext: bytes, aad: bytes, write_size: int) -> bytes:
    sink = _Sink()
    with tink_primitive(key, segment_size).new_encrypting_stream(sink, aad) as out:
        for i in range(0, len(plaintext), write_size):
            out.write(plaintext[i : i + write_size])
    return sink.value


def tink_decrypt(key: bytes, segment_size: int, ciphertext: bytes, aad: bytes) -> bytes:
    with tink_primitive(key, segment_size).new_decrypting_stream(io.BytesIO(ciphertext), aad) as src:
        return src.read()


@pytest.mark.parametrize("segment_size", [57, 64, 4096])
@pytest.mark.parametrize("n", SIZES)
def test_our_segment_stream_decrypts_with_tink(segment_size, n):
    dek, plaintext = os.urandom(32), os.urandom(n)
    ours = b"".join(encrypt_object(dek, CTX, [plaintext], segment_size=segment_size))
    assert ours[PREFIX_SIZE] == 40  # Tink's header-length byte
    assert tink_decrypt(dek, segment_size, ours[PREFIX_SIZE:], CTX.associated_data()) == plaintext


def test_our_default_segment_size_object_decrypts_with_tink():
    dek, plaintext = os.urandom(32), os.urandom(3 * (1 << 20) + 12345)
    ours = b"".join(encrypt_object(dek, CTX, [plaintext]))
    assert tink_decrypt(dek, 1 << 20, ours[PREFIX_SIZE:], CTX.associated_data()) == plaintext


def test_tink_refuses_our_stream_under_another_context():
    dek = os.urandom(32)
    ours = b"".join(encrypt_object(dek, CTX, [b"x" * 300], segment_size=64))
    other = ObjectContext("patient-7", "image-42", "thumbnail").associated_data()
    with pytest.raises(tink.TinkError):
        tink_decrypt(dek, 64, ours[PREFIX_SIZE:], other)


def _as_object(dek: bytes, ctx: ObjectContext, segment_size: int, tink_ct: bytes) -> tuple[bytes, bytes]:
    prefix = object_prefix(dek, ctx, segment_size=segment_size, salt=tink_ct[1:33], nonce_prefix=tink_ct[33:40])
    obj = prefix + tink_ct
    return obj, hashlib.sha256(obj[:HEADER_SIZE]).digest()


@pytest.mark.parametrize("segment_size", [57, 64, 4096])
@pytest.mark.parametrize("n", SIZES)
def test_tink_ciphertext_with_our_prefix_decrypts_with_ours(segment_size, n):
    dek, plaintext = os.urandom(32), os.urandom(n)
    write_size = random.Random(n * segment_size).randint(1, 300)
    tink_ct = tink_encrypt(dek, segment_size, plaintext, CTX.associated_data(), write_size)
    obj, digest = _as_object(dek, CTX, segment_size, tink_ct)
    out = decrypt_object(dek, CTX, [obj], expected_header_digest=digest, expected_length=len(obj))
    assert b"".join(out) == plaintext


def test_tink_ciphertext_for_another_context_is_refused_by_ours():
    dek = os.urandom(32)
    thumb = ObjectContext("patient-7", "image-42", "thumbnail")
    tink_ct = tink_encrypt(dek, 64, b"y" * 200, thumb.associated_data(), 200)
    obj, digest = _as_object(dek, CTX, 64, tink_ct)  # a prefix that claims the original
    with pytest.raises(DecryptionError):
        b"".join(decrypt_object(dek, CTX, [obj], expected_header_digest=digest, expected_length=len(obj)))


def test_same_bytes_as_tink_given_the_same_salt_and_nonce_prefix():
    """Tink draws its salt and nonce prefix itself; re-encrypting with ours using the ones Tink
    drew must give Tink's exact bytes."""
    dek, plaintext = os.urandom(32), os.urandom(777)
    tink_ct = tink_encrypt(dek, 64, plaintext, CTX.associated_data(), 100)
    salt, nonce_prefix = tink_ct[1:33], tink_ct[33:40]
    script = iter([salt, nonce_prefix])
    ours = b"".join(encrypt_object(dek, CTX, [plaintext], segment_size=64, rng=lambda n: next(script)))
    assert ours[PREFIX_SIZE:] == tink_ct
