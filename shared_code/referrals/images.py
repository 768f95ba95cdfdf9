"""A referral's photographs: uploaded by the referring clinic per lesion and view, read by both sides.

Exactly what a patient's image goes through (images/ingest.process_direct_upload: the type proven by
decoding, metadata stripped, a thumbnail, quality measured; images/objects.ImageObjects: envelope
encryption and tamper detection), under the referral's own key (referrals/keys.py) instead of a
patient's: the owner id in every AAD, object context and blob name (`{referralId}/{imageId}/...`) is
the referral id. Shredding the referral's key makes every image unreadable at once.

Upload, in order: the referral must be editable and the lesion exist (checked first, so nothing is
processed for a refusal); the bytes are processed; the referral key made if this is the first image;
the objects written; the record created; then the lesion's `images` list gains a LesionImage (id,
view) by the referral's one write loop (referrals/writes.py), checked again against the fresh
referral. If that last write is refused (submitted or cancelled meanwhile, the lesion gone), the
objects and the record are destroyed: an image is a referral's only once its lesion names it.

Viewing is either side's, audited (referrals/audit.py) after the bytes have been authenticated and
before they are answered."""
from __future__ import annotations

import logging
from datetime import datetime

from shared_code.access import ReferralAccess
from shared_code.clock import Clock, iso
from shared_code.errors import DomainError, ImageNotFound, LesionNotFound, ReferralNotFound, ReferralStateConflict
from shared_code.ids import new_id
from shared_code.images.contract import ImageStream, Variant
from shared_code.images.ingest import process_direct_upload
from shared_code.images.objects import ImageObjects
from shared_code.images.records import View
from shared_code.referrals.audit import ReferralAudit
from shared_code.referrals.image_repository import ReferralImageRepository
from shared_code.referrals.keys import ReferralKeys, key_id
from shared_code.referrals.records import LesionImage, Referral, ReferralImage
from shared_code.referrals.writes import ReferralWrites
from shared_code.settings import Settings

log = logging.getLogger(__name__)

VIEW_ACTIONS = {"original": "referral.image_viewed", "thumbnail": "referral.thumbnail_viewed"}


def _editable_lesion(referral: Referral, lesion_id: str) -> None:
    if not referral.editable:
        raise ReferralStateConflict(referral.status.value)
    if referral.lesion(lesion_id) is None:
        raise LesionNotFound(lesion_id)


class ReferralImages:
    def __init__(self, records: ReferralImageRepository, writes: ReferralWrites, keys: ReferralKeys,
                 objects: ImageObjects, audit: ReferralAudit, clock: Clock, settings: Settings):
        self._records = records
        self._writes = writes
        self._keys = keys
        self._objects = objects
        self._audit = audit
        self._clock = clock
        self._settings = settings

    def upload(self, access: ReferralAccess, lesion_id: str, data: bytes, *, taken_at: datetime | None,
               note: str | None, view: str) -> ReferralImage:
        """The stored image, or UploadRejected (422), ReferralStateConflict (409), LesionNotFound (404)."""
        _editable_lesion(access.referral, lesion_id)
        processed = process_direct_upload(data, taken_at, self._settings)
        referral = self._keys.ensure(access.referral)
        image = ReferralImage(id=new_id("i"), referral_id=referral.id, lesion_id=lesion_id, view=View(view),
                              uploaded_at=iso(self._clock.now()), note=note, uploaded_by=access.member.id,
                              client_taken_at=iso(taken_at) if taken_at else None)
        image = self._objects_of(referral).store(referral.id, image, processed)
        image = self._records.create(referral.service_clinic_id, image)
        try:
            self._writes.update(referral, lambda current: self._with_image(current, image))
        except DomainError:
            self._destroy(referral, image)
            raise
        log.info("referral image stored", extra={"event": "referral.image_stored"})
        return image

    def images(self, referral: Referral) -> list[ReferralImage]:
        """The images the referral's lesions name, in the lesions' order (one single-partition query)."""
        found = {image.id: image for image in self._records.of_referral(referral.service_clinic_id, referral.id)}
        named = (found.get(shown.image_id) for lesion in referral.lesions for shown in lesion.images)
        return [image for image in named if image is not None and image.wrapped_dek]

    def open(self, referral: Referral, image_id: str, variant: Variant) -> ImageStream:
        """The decrypted bytes, authenticated in full first (a tampered object is ImageIntegrityError,
        never partial bytes); an image the referral does not name is ImageNotFound."""
        image = self._records.get(referral.service_clinic_id, image_id) \
            if referral.lesion_of_image(image_id) is not None else None
        if image is None or image.referral_id != referral.id or not image.wrapped_dek:
            raise ImageNotFound(image_id, scope="referral")
        try:
            return self._objects_of(referral).open(referral.id, image, variant)
        except ImageNotFound:
            raise ImageNotFound(image_id, scope="referral") from None  # the referral key was shredded

    def view(self, access: ReferralAccess, image_id: str, variant: Variant) -> ImageStream:
        """`open`, recorded in the referral's access log (either side may look)."""
        stream = self.open(access.referral, image_id, variant)
        self._audit.record(access, VIEW_ACTIONS[variant], image_id=image_id)
        return stream

    def shred(self, referral: Referral) -> None:
        """Every image of the referral made unreadable at once, then removed: the key goes from the
        referral first (the wrapped DEKs and the objects are then noise), then the objects and the
        records. For the referral's deletion and retention; safe to run again after a failure."""
        try:  # even if `referral` shows no key: a stale copy is re-read by the write loop
            self._writes.update(referral, lambda current: current.but(referral_key=None))
        except ReferralNotFound:
            pass  # the referral document is gone, and its key with it
        self._keys.forget(key_id(referral))  # this instance's cache, and an unwrap in flight
        self._objects.delete_owner(referral.id)
        for image in self._records.of_referral(referral.service_clinic_id, referral.id):
            self._records.delete(referral.service_clinic_id, image.id)
        log.info("referral images shredded", extra={"event": "referral.images_shredded"})

    def _with_image(self, current: Referral, image: ReferralImage) -> Referral:
        _editable_lesion(current, image.lesion_id)
        shown = LesionImage(image_id=image.id, view=image.view)
        lesions = [lesion.but(images=[*lesion.images, shown]) if lesion.id == image.lesion_id else lesion
                   for lesion in current.lesions]
        return current.but(lesions=lesions, updated_at=image.uploaded_at)

    def _destroy(self, referral: Referral, image: ReferralImage) -> None:
        """An image no lesion names: its DEK first (the record rewritten without it), objects, record."""
        self._records.upsert(referral.service_clinic_id, image.but(wrapped_dek=None))
        self._objects.delete(image)
        self._records.delete(referral.service_clinic_id, image.id)

    def _objects_of(self, referral: Referral) -> ImageObjects:
        return self._objects.under(self._keys.of(referral))
