"""The encrypted objects of an image in the `images` container: written once, read back only if
they match the record, destroyed with it.

Each image has a DEK wrapped by its owner's key (AAD = owner id + image id); its sanitised
original and its thumbnail are each an object of `shared_code.crypto`'s streaming format, under a
name that includes a fresh object-set id (so a concurrent second processing can never overwrite the
blobs a record points at). The record keeps each object's header digest, length and blob ETag; a
read that does not match all three fails closed (ImageIntegrityError, never partial bytes).

The owner is whoever holds the key: a patient (PatientKeys, the key on the account) or a referral
(shared_code/referrals/keys.py, the key on the referral). The owner id takes the patient id's place
in the AAD, the object context and the blob names (`{ownerId}/{imageId}/...`); `under` gives the same
objects over another owner's keys."""
from __future__ import annotations

import base64
import logging
from typing import Iterator, Protocol, TypeVar

from shared_code.clock import iso
from shared_code.crypto import DecryptionError, ObjectContext, decrypt_object, encrypt_object, new_dek, unwrap_dek, \
    verify_object
from shared_code.errors import ImageIntegrityError
from shared_code.ids import new_id
from shared_code.images.contract import ImageStream, Variant
from shared_code.images.records import ImageQuality, ObjectSeal, StoredImage
from shared_code.imaging import ProcessedImage
from shared_code.ports.blobs import BlobStore
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.settings import IMAGES_CONTAINER, INCOMING_CONTAINER

log = logging.getLogger(__name__)

_CHUNK = 1 << 20  # how the plaintext is fed to the encrypting stream


S = TypeVar("S", bound=StoredImage)


class OwnerKeys(Protocol):
    def get(self, owner_id: str) -> bytes:
        """The owner's unwrapped key (raises the domain's errors: unavailable, destroyed, corrupt)."""


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), _CHUNK):
        yield data[start:start + _CHUNK]


class ImageObjects:
    def __init__(self, blobs: BlobStore, keys: OwnerKeys, single_pass_max_bytes: int):
        self._blobs = blobs
        self._keys = keys
        # Objects up to this size are decrypted once, into memory, after full authentication; larger
        # ones are authenticated in a first streaming pass and decrypted in a second, pinned to the ETag.
        self._single_pass_max = single_pass_max_bytes

    def under(self, keys: OwnerKeys) -> "ImageObjects":
        """The same store, for the owners of other keys."""
        return ImageObjects(self._blobs, keys, self._single_pass_max)

    def store(self, owner_id: str, image: S, processed: ProcessedImage) -> S:
        """Encrypts and writes both variants under a new DEK; the record with what they are, its status
        unchanged (the caller decides it)."""
        dek, wrapped_dek = new_dek(self._keys.get(owner_id), owner_id, image.id)
        object_set = new_id("o")
        objects = {}
        for variant, data in (("original", processed.data), ("thumbnail", processed.thumbnail)):
            stream = encrypt_object(dek, ObjectContext(owner_id, image.id, variant), _chunks(data))
            name = f"{owner_id}/{image.id}/{object_set}/{variant}"
            info = self._blobs.put(IMAGES_CONTAINER, name, stream, overwrite=False)
            objects[variant] = ObjectSeal(blob=name, header_digest=stream.header_digest.hex(), length=stream.length,
                                          etag=info.etag)
        taken_at = iso(processed.taken_at) if processed.taken_at else None
        return image.but(wrapped_dek=base64.b64encode(wrapped_dek).decode(), objects=objects, taken_at=taken_at,
                         sort_key=f"{taken_at or image.uploaded_at}|{image.id}", width=processed.width,
                         height=processed.height, content_type=processed.content_type,
                         size_bytes=len(processed.data), sha256=processed.sha256,
                         thumbnail_width=processed.thumbnail_width, thumbnail_height=processed.thumbnail_height,
                         quality=ImageQuality(issues=list(processed.quality_issues)))

    def open(self, owner_id: str, image: StoredImage, variant: Variant) -> ImageStream:
        """The decrypted bytes of one variant, authenticated in full before the first is returned."""
        seal = image.objects[variant]
        context = ObjectContext(owner_id, image.id, variant)
        try:
            dek = unwrap_dek(self._keys.get(owner_id), owner_id, image.id, base64.b64decode(image.wrapped_dek))
            digest, length = bytes.fromhex(seal.header_digest), seal.length
            info, chunks = self._blobs.open(IMAGES_CONTAINER, seal.blob, if_match=seal.etag)
            if info.size != length:
                raise DecryptionError("length")
            content_type = "image/jpeg" if variant == "thumbnail" else image.content_type
            if length <= self._single_pass_max:
                plain = list(decrypt_object(dek, context, chunks, expected_header_digest=digest, expected_length=length))
                body = plain[0] if len(plain) == 1 else b"".join(plain)
                return ImageStream(content_type, len(body), iter((body,)), image.sha256, body=body)
            plain_length = verify_object(dek, context, chunks, expected_header_digest=digest, expected_length=length)
            _, again = self._blobs.open(IMAGES_CONTAINER, seal.blob, if_match=seal.etag)
            stream = decrypt_object(dek, context, again, expected_header_digest=digest, expected_length=length)
            return ImageStream(content_type, plain_length, stream, image.sha256)
        except (DecryptionError, NotFound, PreconditionFailed, ValueError, KeyError, TypeError):
            log.error("image integrity check failed", extra={"event": "image.integrity_failed"})
            raise ImageIntegrityError() from None

    def delete(self, image: StoredImage) -> None:
        """Its encrypted objects (the record's DEK is already gone: they were unreadable before)."""
        for seal in (image.objects or {}).values():
            self._blobs.delete(IMAGES_CONTAINER, seal.blob)

    def delete_owner(self, owner_id: str) -> None:
        """Every blob of an owner, stored or waiting in `incoming` (erasure, a referral's shredding)."""
        for container in (IMAGES_CONTAINER, INCOMING_CONTAINER):
            for info in list(self._blobs.list(container, f"{owner_id}/")):
                self._blobs.delete(container, info.name)
