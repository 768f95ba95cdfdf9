"""The object format: layout, streaming in any chunking, bounded memory, refusals."""
from __future__ import annotations

import hashlib
import os
import random
import tracemalloc

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared_code.crypto import (
    DecryptionError,
    ObjectContext,
    ciphertext_length,
    decrypt_object,
    encrypt_object,
    verify_object,
)
from shared_code.crypto.context import LABEL_COMMITMENT, encode_fields
from shared_code.crypto.streaming import HEADER_SIZE, MAGIC
from tests.crypto.doubles import det_rng, scripted_rng

CTX = ObjectContext("patient-1", "image-a", "original")
SEG = 64
FIRST, NEXT = SEG - 40 - 16, SEG - 16  # 8 and 48 plaintext bytes
MIB = 1 << 20


def seal(dek, plaintext, *, ctx=CTX, segment_size=SEG, rng=os.urandom, chunk=None):
    chunks = [plaintext] if chunk is None else [plaintext[i : i + chunk] for i in range(0, len(plaintext), chunk)]
    stream = encrypt_object(dek, ctx, chunks, segment_size=segment_size, rng=rng)
    blob = b"".join(stream)
    return blob, stream.header_digest, stream.length


def open_(dek, blob, digest, length, *, ctx=CTX, chunk=None):
    chunks = [blob] if chunk is None else [blob[i : i + chunk] for i in range(0, len(blob), chunk)]
    return b"".join(decrypt_object(dek, ctx, chunks, expected_header_digest=digest, expected_length=length))


EDGE_SIZES = [0, 1, FIRST - 1, FIRST, FIRST + 1, FIRST + NEXT, FIRST + NEXT + 1, FIRST + 2 * NEXT, FIRST + 5 * NEXT - 1, 1000]


@pytest.mark.parametrize("n", EDGE_SIZES)
def test_round_trip_around_segment_boundaries(n):
    dek, plaintext = os.urandom(32), os.urandom(n)
    blob, digest, length = seal(dek, plaintext)
    assert len(blob) == length == ciphertext_length(n, SEG)
    assert open_(dek, blob, digest, length) == plaintext


@pytest.mark.parametrize("n", [0, 1, MIB - 56, MIB - 55, MIB - 56 + (MIB - 16), 3 * MIB + 5])
def test_round_trip_default_segment_size(n):
    dek, plaintext = os.urandom(32), os.urandom(n)
    stream = encrypt_object(dek, CTX, [plaintext])
    blob = b"".join(stream)
    assert len(blob) == stream.length == ciphertext_length(n)
    assert verify_object(dek, CTX, [blob], expected_header_digest=stream.header_digest, expected_length=stream.length) == n
    assert open_(dek, blob, stream.header_digest, stream.length, chunk=100_000) == plaintext


def test_ciphertext_length_formula():
    assert ciphertext_length(0, SEG) == HEADER_SIZE + 16
    assert ciphertext_length(FIRST, SEG) == HEADER_SIZE + FIRST + 16
    assert ciphertext_length(FIRST + 1, SEG) == HEADER_SIZE + FIRST + 1 + 32
    assert ciphertext_length(FIRST + NEXT, SEG) == HEADER_SIZE + FIRST + NEXT + 32
    assert ciphertext_length(40 * 10**6) == 81 + 40 * 10**6 + 16 * 39
    with pytest.raises(ValueError):
        ciphertext_length(-1, SEG)
    with pytest.raises(ValueError):
        ciphertext_length(1, 56)


def test_header_layout():
    dek = bytes(range(32))
    salt, nonce_prefix = bytes(range(100, 132)), bytes(range(200, 207))
    blob, digest, _ = seal(dek, b"hello", rng=scripted_rng([salt, nonce_prefix]), segment_size=4096)
    header = blob[:81]
    assert header[0:4] == MAGIC == b"\x89TDO"
    assert header[4] == 1
    assert int.from_bytes(header[5:9], "big") == 4096
    assert header[41] == 40 and header[42:74] == salt and header[74:81] == nonce_prefix
    assert digest == hashlib.sha256(header).digest()
    info = encode_fields(LABEL_COMMITMENT, CTX.associated_data(), MAGIC, b"\x01", (4096).to_bytes(4, "big"), nonce_prefix)
    assert header[9:41] == HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(dek)


@pytest.mark.parametrize("seed", range(8))
def test_output_does_not_depend_on_input_chunking(seed):
    r = random.Random(seed)
    dek, plaintext = os.urandom(32), os.urandom(r.randint(0, 2000))
    cuts = sorted(r.randint(0, len(plaintext)) for _ in range(r.randint(0, 40)))
    chunks = [plaintext[a:b] for a, b in zip([0, *cuts], [*cuts, len(plaintext)])]  # includes empty chunks
    expected, digest, length = seal(dek, plaintext, rng=det_rng(str(seed)))
    stream = encrypt_object(dek, CTX, chunks, segment_size=SEG, rng=det_rng(str(seed)))
    assert b"".join(stream) == expected and stream.header_digest == digest and stream.length == length
    assert open_(dek, expected, digest, length, chunk=r.randint(1, 100)) == plaintext


def test_accepts_any_bytes_like_chunks():
    dek = os.urandom(32)
    chunks = [b"ab", bytearray(b"cd"), memoryview(b"efgh")[1:], b"", memoryview(bytearray(b"i" * 100))]
    stream = encrypt_object(dek, CTX, chunks, segment_size=SEG)
    blob = b"".join(stream)
    assert open_(dek, blob, stream.header_digest, stream.length) == b"abcdfgh" + b"i" * 100


def test_each_object_gets_its_own_salt_and_nonce_prefix():
    dek = os.urandom(32)
    a, _, _ = seal(dek, b"same")
    b, _, _ = seal(dek, b"same")
    assert a[42:81] != b[42:81] and a[81:] != b[81:]


def test_digest_and_length_only_after_exhaustion():
    stream = encrypt_object(os.urandom(32), CTX, [b"x" * 500], segment_size=SEG)
    for attr in ("header_digest", "length"):
        with pytest.raises(RuntimeError):
            getattr(stream, attr)
    next(stream)
    next(stream)
    with pytest.raises(RuntimeError):
        stream.length
    rest = list(stream)
    assert rest and stream.length == ciphertext_length(500, SEG)


def test_failing_input_leaves_no_metadata():
    def boom():
        yield b"x" * 100
        raise OSError("upload interrupted")

    stream = encrypt_object(os.urandom(32), CTX, boom(), segment_size=SEG)
    with pytest.raises(OSError):
        list(stream)
    with pytest.raises(RuntimeError):
        stream.header_digest


def test_verify_first_means_no_partial_plaintext():
    dek = os.urandom(32)
    blob, digest, length = seal(dek, os.urandom(500))
    tampered = bytearray(blob)
    tampered[-1] ^= 1  # last tag
    out = []
    with pytest.raises(DecryptionError):
        for piece in decrypt_object(dek, CTX, [bytes(tampered)], expected_header_digest=digest, expected_length=length):
            out.append(piece)
    assert out, "decrypt_object streams the authenticated segments before the bad one ..."
    with pytest.raises(DecryptionError):  # ... which is why the HTTP layer verifies first
        verify_object(dek, CTX, [bytes(tampered)], expected_header_digest=digest, expected_length=length)


def test_trailing_bytes_refused_before_the_last_plaintext_is_released():
    dek = os.urandom(32)
    blob, digest, length = seal(dek, b"x" * 20)  # two segments
    out = []
    with pytest.raises(DecryptionError):
        for piece in decrypt_object(dek, CTX, [blob, b"", b"!"], expected_header_digest=digest, expected_length=length):
            out.append(piece)
    assert b"".join(out) == b"x" * FIRST


def test_header_problems_are_found_before_any_segment_is_read():
    dek = os.urandom(32)
    blob, digest, length = seal(dek, b"x" * 500)
    pulled = []

    def source():
        for i in range(0, len(blob), 10):
            pulled.append(i)
            yield blob[i : i + 10]

    wrong_ctx = ObjectContext("patient-1", "image-a", "thumbnail")
    with pytest.raises(DecryptionError, match="commitment"):
        next(decrypt_object(dek, wrong_ctx, source(), expected_header_digest=digest, expected_length=length))
    assert len(pulled) * 10 <= HEADER_SIZE + 10


def test_a_never_ending_source_is_cut_off_at_the_recorded_length():
    dek = os.urandom(32)
    blob, digest, length = seal(dek, b"x" * 100)

    def endless():
        yield blob
        while True:
            yield b"\x00" * 1000

    with pytest.raises(DecryptionError):
        verify_object(dek, CTX, endless(), expected_header_digest=digest, expected_length=length)


def test_length_that_no_object_can_have_is_refused():
    dek = os.urandom(32)
    blob, digest, length = seal(dek, b"x" * (FIRST + NEXT))  # 2 full segments
    for extra in range(1, 17):  # a third segment of 1..16 bytes is never written
        with pytest.raises(DecryptionError, match="not a possible"):
            open_(dek, blob + bytes(extra), digest, length + extra)


def test_programming_errors_are_not_decryption_errors():
    with pytest.raises(ValueError):
        encrypt_object(b"short", CTX, [])
    with pytest.raises(ValueError):
        encrypt_object(os.urandom(32), CTX, [], segment_size=56)
    with pytest.raises(ValueError):
        encrypt_object(os.urandom(32), CTX, [], segment_size=(1 << 23) + 1)
    with pytest.raises(TypeError):
        encrypt_object(os.urandom(32), ("p", "i", "original"), [])
    with pytest.raises(ValueError):
        encrypt_object(os.urandom(32), CTX, [], rng=lambda n: b"\x00")
    with pytest.raises(TypeError):
        decrypt_object(os.urandom(32), CTX, [], expected_header_digest="00" * 32, expected_length=100)
    with pytest.raises(ValueError):
        ObjectContext("p", "i", "preview")
    with pytest.raises(TypeError):
        list(encrypt_object(os.urandom(32), CTX, ["text is not bytes"]))


def test_context_encoding_is_unambiguous():
    a = ObjectContext("ab", "c", "original").associated_data()
    b = ObjectContext("a", "bc", "original").associated_data()
    assert a != b
    dek = os.urandom(32)
    blob, digest, length = seal(dek, b"data", ctx=ObjectContext("ab", "c", "original"))
    with pytest.raises(DecryptionError):
        open_(dek, blob, digest, length, ctx=ObjectContext("a", "bc", "original"))


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_encrypting_20_mb_of_chunks_stays_within_a_few_segments_of_memory():
    dek, piece = os.urandom(32), os.urandom(64 * 1024)
    total = 0

    def run():
        nonlocal total
        for chunk in encrypt_object(dek, CTX, (piece for _ in range(320))):  # 20 MiB
            total += len(chunk)

    peak = _peak(run)
    assert total == ciphertext_length(320 * len(piece))
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_encrypting_one_huge_chunk_does_not_copy_it():
    dek, huge = os.urandom(32), os.urandom(20 * MIB)
    peak = _peak(lambda: [None for _ in encrypt_object(dek, CTX, [huge])])
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_streaming_decrypt_of_20_mb_stays_within_a_few_segments_of_memory():
    dek, piece = os.urandom(32), os.urandom(64 * 1024)
    salt_and_prefix = [os.urandom(32), os.urandom(7)]
    first = encrypt_object(dek, CTX, (piece for _ in range(320)), rng=scripted_rng(salt_and_prefix))
    for _ in first:
        pass
    total = 0

    def run():
        nonlocal total
        again = encrypt_object(dek, CTX, (piece for _ in range(320)), rng=scripted_rng(salt_and_prefix))
        for plaintext in decrypt_object(dek, CTX, again, expected_header_digest=first.header_digest, expected_length=first.length):
            total += len(plaintext)

    peak = _peak(run)
    assert total == 320 * len(piece)
    assert peak < 6 * MIB, f"peak {peak / MIB:.1f} MiB"
