"""Generate tests/crypto/vectors.json: known-answer and negative vectors for the crypto package.

    cd /work/main && .venv/bin/python -m tests.crypto.make_vectors

Deterministic: keys, ids and plaintexts are fixed, salts/nonce prefixes/nonces come from a seeded
rng and are recorded in the manifest, so another implementation can reproduce every positive
vector byte for byte. test_vectors.py checks the file equals what this script generates now.
Everything is hex except ids (UTF-8 strings). Negative vectors are whole inputs (ciphertext plus
the metadata presented with it), each of which must raise DecryptionError.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from shared_code.crypto import ObjectContext, encrypt_object, new_dek
from shared_code.crypto.streaming import HEADER_SIZE, TAG_SIZE, TINK_HEADER_SIZE, object_prefix
from tests.crypto.doubles import det_rng, scripted_rng

PATH = Path(__file__).with_name("vectors.json")
SEGMENT = 64  # first segment 8 plaintext bytes, then 48


def _key(name: str) -> bytes:
    return hashlib.sha256(f"vector-key/{name}".encode()).digest()


def _plaintext(name: str, n: int) -> bytes:
    return hashlib.shake_256(f"vector-plaintext/{name}".encode()).digest(n)


def _encrypt(dek: bytes, ctx: ObjectContext, plaintext: bytes, segment_size: int, seed: str) -> dict[str, Any]:
    rng = det_rng(seed)
    salt, nonce_prefix = rng(32), rng(7)
    stream = encrypt_object(dek, ctx, [plaintext], segment_size=segment_size, rng=scripted_rng([salt, nonce_prefix]))
    ciphertext = b"".join(stream)
    return {
        "dek": dek,
        "ctx": ctx,
        "segment_size": segment_size,
        "salt": salt,
        "nonce_prefix": nonce_prefix,
        "plaintext": plaintext,
        "ciphertext": ciphertext,
        "header_digest": stream.header_digest,
        "length": stream.length,
    }


def _ctx_fields(ctx: ObjectContext) -> dict[str, str]:
    return {"patient_id": ctx.patient_id, "image_id": ctx.image_id, "variant": ctx.variant.value}


def _positive(name: str, o: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "dek": o["dek"].hex(),
        **_ctx_fields(o["ctx"]),
        "segment_size": o["segment_size"],
        "salt": o["salt"].hex(),
        "nonce_prefix": o["nonce_prefix"].hex(),
        "plaintext": o["plaintext"].hex(),
        "ciphertext": o["ciphertext"].hex(),
        "header_digest": o["header_digest"].hex(),
        "length": o["length"],
    }


def _negative(name: str, dek: bytes, ctx: ObjectContext, ciphertext: bytes, digest: bytes, length: int) -> dict[str, Any]:
    return {
        "name": name,
        "dek": dek.hex(),
        **_ctx_fields(ctx),
        "ciphertext": ciphertext.hex(),
        "header_digest": digest.hex(),
        "length": length,
    }


def _segments(o: dict[str, Any]) -> list[bytes]:
    """Split an object's segment stream into segments (the vectors' objects are canonical)."""
    ct, size = o["ciphertext"], o["segment_size"]
    out, pos, width = [], HEADER_SIZE, size - TINK_HEADER_SIZE
    while pos < len(ct):
        out.append(ct[pos : pos + width])
        pos += width
        width = size
    return out


def _region(i: int, o: dict[str, Any]) -> str:
    fields = [(4, "magic"), (5, "version"), (9, "segment-size"), (41, "commitment"), (42, "tink-header-length"),
              (74, "salt"), (81, "nonce-prefix")]
    for end, name in fields:
        if i < end:
            return name
    pos = HEADER_SIZE
    for k, seg in enumerate(_segments(o)):
        if i < pos + len(seg):
            return f"segment{k}-{'tag' if i >= pos + len(seg) - TAG_SIZE else 'body'}"
        pos += len(seg)
    raise AssertionError(i)


def _flip(data: bytes, i: int, bit: int) -> bytes:
    out = bytearray(data)
    out[i] ^= 1 << bit
    return bytes(out)


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def object_vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dek_a, dek_b = _key("dek/patient-1/image-a"), _key("dek/patient-1/image-b")
    ctx_a = ObjectContext("patient-1", "image-a", "original")
    ctx_a_thumb = ObjectContext("patient-1", "image-a", "thumbnail")
    ctx_b = ObjectContext("patient-1", "image-b", "original")

    positives = []
    for name, ctx, n, size in [
        ("empty", ctx_a, 0, SEGMENT),
        ("one-byte", ctx_a, 1, SEGMENT),
        ("first-segment-exactly-full", ctx_a, 8, SEGMENT),
        ("first-segment-plus-one", ctx_a, 9, SEGMENT),
        ("two-segments-exactly-full", ctx_a, 56, SEGMENT),
        ("three-segments-exactly-full", ctx_a, 104, SEGMENT),
        ("five-segments-partial-last", ctx_a, 200, SEGMENT),
        ("thumbnail", ctx_a_thumb, 100, SEGMENT),
        ("unicode-ids", ObjectContext("patient-\u00df-\u65e5\u672c", "image-\U0001f4f7", "original"), 50, SEGMENT),
        ("minimum-segment-size", ctx_a, 20, 57),
        ("segment-256", ctx_b, 1000, 256),
    ]:
        o = _encrypt(dek_b if ctx is ctx_b else dek_a, ctx, _plaintext(name, n), size, f"object/{name}")
        positives.append(_positive(name, o))

    base = _encrypt(dek_a, ctx_a, _plaintext("base", 104), SEGMENT, "object/base")  # segments 24, 64, 64
    ct, digest, length = base["ciphertext"], base["header_digest"], base["length"]
    segs = _segments(base)
    header = ct[:HEADER_SIZE]
    positives.append(_positive("base-for-negatives", base))
    negatives: list[dict[str, Any]] = []

    def neg(name: str, ciphertext: bytes, *, dek: bytes = dek_a, ctx: ObjectContext = ctx_a,
            d: bytes | None = None, n: int | None = None) -> None:
        negatives.append(_negative(name, dek, ctx, ciphertext, digest if d is None else d, length if n is None else n))

    for cut in range(len(ct)):
        neg(f"truncated-to-{cut}-recorded-length", ct[:cut])
        neg(f"truncated-to-{cut}-length-also-truncated", ct[:cut], n=cut)
    for i in range(len(ct)):
        neg(f"bit-flip-{_region(i, base)}-byte{i}-bit{i % 8}", _flip(ct, i, i % 8))
    for i in range(HEADER_SIZE):  # an attacker who also rewrote the recorded digest
        forged = _flip(ct, i, 7 - i % 8)
        neg(f"bit-flip-{_region(i, base)}-byte{i}-bit{7 - i % 8}-digest-also-rewritten", forged, d=_sha(forged[:HEADER_SIZE]))

    body = b"".join(segs)
    assert header + body == ct
    for k in range(len(segs)):
        dropped = header + b"".join(s for j, s in enumerate(segs) if j != k)
        neg(f"segment{k}-dropped-length-adjusted", dropped, n=len(dropped))
        neg(f"segment{k}-dropped-recorded-length", dropped)
        dup = header + b"".join(s + s if j == k else s for j, s in enumerate(segs))
        neg(f"segment{k}-duplicated-length-adjusted", dup, n=len(dup))
        neg(f"segment{k}-duplicated-recorded-length", dup)
    neg("segments-1-and-2-swapped", header + segs[0] + segs[2] + segs[1])
    neg("segments-0-and-1-swapped", header + segs[1] + segs[0] + segs[2])
    neg("one-byte-appended-recorded-length", ct + b"\x00")
    neg("one-byte-appended-length-adjusted", ct + b"\x00", n=length + 1)
    neg("seventeen-bytes-appended-length-adjusted", ct + bytes(17), n=length + 17)
    neg("final-segment-repeated-length-adjusted", ct + segs[-1], n=length + len(segs[-1]))
    neg("recorded-length-plus-one", ct, n=length + 1)
    neg("recorded-length-minus-one", ct, n=length - 1)
    neg("recorded-length-zero", ct, n=0)
    neg("recorded-digest-bit-flipped", ct, d=_flip(digest, 0, 0))
    neg("recorded-digest-truncated", ct, d=digest[:31])

    other = _encrypt(dek_a, ctx_a, _plaintext("base", 104), SEGMENT, "object/same-dek-other-salt")
    other_segs = _segments(other)
    neg("segment1-spliced-from-same-image-other-salt", header + segs[0] + other_segs[1] + segs[2])
    neg("header-of-other-object-same-image", other["ciphertext"][:HEADER_SIZE] + body, d=other["header_digest"])
    neg("other-object-same-image-with-these-records", other["ciphertext"])
    image_b = _encrypt(dek_b, ctx_b, _plaintext("base", 104), SEGMENT, "object/image-b")
    neg("segment1-spliced-from-image-b", header + segs[0] + _segments(image_b)[1] + segs[2])
    neg("image-b-object-and-records-presented-as-image-a", image_b["ciphertext"], dek=dek_a,
        d=image_b["header_digest"], n=image_b["length"])
    neg("image-b-object-with-image-b-dek-presented-as-image-a", image_b["ciphertext"], dek=dek_b,
        d=image_b["header_digest"], n=image_b["length"])
    neg("dek-of-image-b", ct, dek=dek_b)
    neg("dek-of-image-b-and-context-of-image-b", ct, dek=dek_b, ctx=ctx_b)
    neg("wrong-image-id", ct, ctx=ObjectContext("patient-1", "image-b", "original"))
    neg("wrong-patient-id", ct, ctx=ObjectContext("patient-2", "image-a", "original"))
    neg("ids-shifted-across-boundary", ct, ctx=ObjectContext("patient-1i", "mage-a", "original"))
    neg("original-read-as-thumbnail", ct, ctx=ctx_a_thumb)
    thumb = _encrypt(dek_a, ctx_a_thumb, _plaintext("base", 104), SEGMENT, "object/thumbnail")
    neg("thumbnail-read-as-original", thumb["ciphertext"], d=thumb["header_digest"], n=thumb["length"])
    neg("thumbnail-blob-with-original-records", thumb["ciphertext"])

    def rebuilt(*, version: int = 1, segment_size: int = SEGMENT, magic: bytes = b"\x89TDO", tink_len: int = 40) -> bytes:
        prefix = object_prefix(dek_a, ctx_a, segment_size=SEGMENT, salt=base["salt"], nonce_prefix=base["nonce_prefix"])
        forged = magic + bytes([version]) + segment_size.to_bytes(4, "big") + prefix[9:] + bytes([tink_len]) + ct[42:]
        return forged

    for name, forged in [
        ("version-2", rebuilt(version=2)),
        ("version-0", rebuilt(version=0)),
        ("magic-of-other-format", rebuilt(magic=b"\x89PNG")),
        ("tink-header-length-41", rebuilt(tink_len=41)),
        ("segment-size-128", rebuilt(segment_size=128)),
        ("segment-size-below-minimum", rebuilt(segment_size=56)),
        ("segment-size-above-maximum", rebuilt(segment_size=(1 << 23) + 1)),
    ]:
        neg(f"{name}-digest-also-rewritten", forged, d=_sha(forged[:HEADER_SIZE]))
    return positives, negatives


def envelope_vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pk1, pk2 = _key("patient-key/patient-1"), _key("patient-key/patient-2")
    positives, made = [], {}
    for name, pk, pid, iid in [
        ("patient-1-image-a", pk1, "patient-1", "image-a"),
        ("patient-1-image-b", pk1, "patient-1", "image-b"),
        ("patient-2-image-a", pk2, "patient-2", "image-a"),
    ]:
        rng = det_rng(f"envelope/{name}")
        dek_out, nonce = rng(32), rng(12)
        dek, wrapped = new_dek(pk, pid, iid, rng=scripted_rng([dek_out, nonce]))
        made[name] = wrapped
        positives.append({"name": name, "patient_key": pk.hex(), "patient_id": pid, "image_id": iid,
                          "dek": dek.hex(), "nonce": nonce.hex(), "wrapped_dek": wrapped.hex()})

    negatives = []

    def neg(name: str, wrapped: bytes, pk: bytes = pk1, pid: str = "patient-1", iid: str = "image-a") -> None:
        negatives.append({"name": name, "patient_key": pk.hex(), "patient_id": pid, "image_id": iid,
                          "wrapped_dek": wrapped.hex()})

    w = made["patient-1-image-a"]
    neg("unwrapped-as-other-image", w, iid="image-b")
    neg("unwrapped-as-other-patient", w, pid="patient-2")
    neg("ids-shifted-across-boundary", w, pid="patient-1i", iid="mage-a")
    neg("other-patients-key", w, pk=pk2)
    neg("wrapped-dek-of-image-b-presented-for-image-a", made["patient-1-image-b"])
    neg("wrapped-dek-of-patient-2-presented-for-patient-1", made["patient-2-image-a"])
    neg("wrapped-dek-of-patient-2-with-patient-2-key-as-patient-1", made["patient-2-image-a"], pk=pk2)
    for i in range(len(w)):
        neg(f"bit-flip-byte{i}-bit{i % 8}", _flip(w, i, i % 8))
    for cut in range(len(w)):
        neg(f"truncated-to-{cut}", w[:cut])
    neg("one-byte-appended", w + b"\x00")
    neg("version-2", b"\x02" + w[1:])
    return positives, negatives


def build() -> dict[str, Any]:
    obj_pos, obj_neg = object_vectors()
    env_pos, env_neg = envelope_vectors()
    return {
        "about": "Generated by tests/crypto/make_vectors.py; do not edit. Object = 41-byte prefix "
                 "(magic, version, uint32 segment size, commitment) || Tink AES-GCM-HKDF streaming "
                 "ciphertext (HKDF-SHA256, 32-byte derived key) with associated data = canonical "
                 "context. Every negative must raise DecryptionError.",
        "format_version": 1,
        "object": {"positive": obj_pos, "negative": obj_neg},
        "envelope": {"positive": env_pos, "negative": env_neg},
    }


def render(manifest: dict[str, Any]) -> str:
    """One vector per line: small diffs, stable bytes."""
    lines = ["{", f' "about": {json.dumps(manifest["about"])},', f' "format_version": {manifest["format_version"]},']
    sections = ["object", "envelope"]
    for si, section in enumerate(sections):
        lines.append(f' "{section}": {{')
        for ki, kind in enumerate(["positive", "negative"]):
            vectors = manifest[section][kind]
            lines.append(f'  "{kind}": [')
            for vi, vector in enumerate(vectors):
                lines.append("   " + json.dumps(vector, ensure_ascii=True) + ("," if vi < len(vectors) - 1 else ""))
            lines.append("  ]" + ("," if ki == 0 else ""))
        lines.append(" }" + ("," if si < len(sections) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    PATH.write_text(render(build()), encoding="ascii")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
