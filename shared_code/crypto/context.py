"""Canonical, unambiguous byte encodings of what a key or an object is bound to.

Every encoding is a sequence of fields, each a 4-byte big-endian length followed by the field's
bytes, and the first field is always a purpose label. Therefore
  * distinct tuples never encode to the same bytes (("ab", "c") vs ("a", "bc")), and
  * an encoding made for one purpose (AAD of a wrapped DEK, AAD/HKDF info of an object, key
    commitment) can never be mistaken for one made for another: the labels differ in the first
    field.
Identifiers are opaque: they are encoded as strict UTF-8 with no normalisation, so two ids that
merely look alike are different ids.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

#: Version of the object format and of every encoding below. It is inside every AAD, HKDF info and
#: commitment, so bytes written under one version can never be accepted under another.
FORMAT_VERSION = 1

MAX_ID_BYTES = 1024

LABEL_OBJECT = b"nhs-teledermatology/object"
LABEL_WRAPPED_DEK = b"nhs-teledermatology/wrapped-dek"
LABEL_COMMITMENT = b"nhs-teledermatology/key-commitment"


def encode_fields(*fields: bytes) -> bytes:
    """Length-prefix each field (uint32 big-endian) and concatenate: an injective encoding."""
    out = bytearray()
    for field in fields:
        if not isinstance(field, (bytes, bytearray)):
            raise TypeError("fields must be bytes")
        if len(field) >= 1 << 32:
            raise ValueError("field too long")
        out += len(field).to_bytes(4, "big")
        out += field
    return bytes(out)


def encode_id(name: str, value: str) -> bytes:
    """Strict UTF-8 of a non-empty identifier (lone surrogates are refused, not replaced)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str")
    raw = value.encode("utf-8")  # strict: raises UnicodeEncodeError (a ValueError) on surrogates
    if not raw or len(raw) > MAX_ID_BYTES:
        raise ValueError(f"{name} must be 1..{MAX_ID_BYTES} UTF-8 bytes")
    return raw


class Variant(str, enum.Enum):
    """Which rendition of an image an object holds. Both share the image's DEK, so the variant is
    part of the object context: a thumbnail can never be served (or accepted) as the original."""

    ORIGINAL = "original"
    THUMBNAIL = "thumbnail"


@dataclass(frozen=True)
class ObjectContext:
    """Everything one encrypted object is bound to besides its DEK."""

    patient_id: str
    image_id: str
    variant: Variant

    def __post_init__(self) -> None:
        encode_id("patient_id", self.patient_id)
        encode_id("image_id", self.image_id)
        object.__setattr__(self, "variant", Variant(self.variant))  # accepts "original"/"thumbnail"

    def associated_data(self) -> bytes:
        """The canonical context: Tink's associated data for the segment stream, which Tink also
        uses as the HKDF info of the per-object key."""
        return encode_fields(
            LABEL_OBJECT,
            FORMAT_VERSION.to_bytes(1, "big"),
            encode_id("patient_id", self.patient_id),
            encode_id("image_id", self.image_id),
            self.variant.value.encode("ascii"),
        )


def wrapped_dek_aad(patient_id: str, image_id: str) -> bytes:
    """AAD under which a patient key wraps an image's DEK: the DEK is bound to that image."""
    return encode_fields(
        LABEL_WRAPPED_DEK,
        FORMAT_VERSION.to_bytes(1, "big"),
        encode_id("patient_id", patient_id),
        encode_id("image_id", image_id),
    )
