"""Getting an image in: the direct upload (bytes in the request, processed at once) and the start
of an upload through an upload URL (a pending record and a short-lived URL; images/incoming.py
processes the bytes when they arrive)."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from shared_code.clock import Clock, iso
from shared_code.errors import FolderNotFound, UploadRejected
from shared_code.folders.repository import FolderRepository
from shared_code.ids import new_id
from shared_code.images.edits import ImageEdits
from shared_code.images.objects import ImageObjects
from shared_code.images.records import ImageRecord, ImageStatus, View
from shared_code.images.repository import ImageRepository, PendingUploads
from shared_code.imaging import ImageRejected, ProcessedImage, process_image
from shared_code.ports.upload_urls import UploadUrls
from shared_code.settings import Settings
from shared_code.telemetry import metrics

log = logging.getLogger(__name__)


def process(data: bytes, taken_at: datetime | None, settings: Settings) -> ProcessedImage:
    """Decode, sanitise and measure an upload (raises imaging.ImageRejected). Both upload paths come
    here: the one place uploads are counted and timed (telederm.uploads, telederm.ingest.duration)."""
    started = time.perf_counter()
    try:
        processed = process_image(data, max_bytes=settings.max_upload_bytes,
                                  max_decoded_bytes=settings.image_decode_budget_bytes, client_taken_at=taken_at)
    except ImageRejected as exc:
        metrics.upload_processed(time.perf_counter() - started, rejected=str(exc.reason_code))
        raise
    metrics.upload_processed(time.perf_counter() - started)
    return processed


def process_direct_upload(data: bytes, taken_at: datetime | None, settings: Settings) -> ProcessedImage:
    """`process` for bytes in a request (a patient's, a referral's): a refusal is UploadRejected, the
    caller's 422 with the reason."""
    try:
        return process(data, taken_at, settings)
    except ImageRejected as exc:
        raise UploadRejected(str(exc.reason_code), exc.message) from None


class ImageIngest:
    def __init__(self, images: ImageRepository, pending: PendingUploads, objects: ImageObjects,
                 folders: FolderRepository, edits: ImageEdits, upload_urls: UploadUrls, clock: Clock,
                 settings: Settings):
        self._images = images
        self._pending = pending
        self._objects = objects
        self._folders = folders
        self._edits = edits
        self._upload_urls = upload_urls
        self._clock = clock
        self._settings = settings

    def upload(self, patient_id: str, folder_id: str, data: bytes, *, taken_at: datetime | None,
               note: str | None, view: str | None) -> ImageRecord:
        """The direct upload: stored and ready, or UploadRejected with the reason."""
        self._folders.get(patient_id, folder_id)
        image_id = new_id("i")
        processed = process_direct_upload(data, taken_at, self._settings)
        image = ImageRecord(id=image_id, folder_id=folder_id, status=ImageStatus.READY,
                            uploaded_at=iso(self._clock.now()), note=note, view=View(view) if view else None,
                            client_taken_at=iso(taken_at) if taken_at else None)
        image = self._images.create(patient_id, self._objects.store(patient_id, image, processed))
        counted = self._folders.update(
            patient_id, folder_id, lambda folder: folder.with_image_ready(image_id, image.taken_at or image.uploaded_at))
        if counted is None:
            # The folder was deleted while these bytes were processed: its cascade has passed, so the
            # image is destroyed here, never left readable in a folder that no longer exists.
            self._edits.destroy(patient_id, image)
            raise FolderNotFound(folder_id)
        log.info("image stored", extra={"event": "image.ready"})
        return image

    def start_upload(self, patient_id: str, folder_id: str, *, taken_at: datetime | None, note: str | None,
                     view: str | None) -> dict:
        """A pending image and the URL its bytes go to: {imageId, uploadUrl, expiresAt, maxBytes}."""
        self._folders.get(patient_id, folder_id)
        image_id = new_id("i")
        now = self._clock.now()
        expires = now + timedelta(minutes=self._settings.upload_url_minutes)
        blob_name = f"{patient_id}/{image_id}"
        taken = iso(taken_at) if taken_at else None
        image = ImageRecord(id=image_id, folder_id=folder_id, status=ImageStatus.PENDING, uploaded_at=iso(now),
                            note=note, view=View(view) if view else None, client_taken_at=taken, taken_at=taken,
                            sort_key=f"{iso(taken_at or now)}|{image_id}", upload_blob=blob_name,
                            upload_expires_at=iso(expires))
        self._pending.add(blob_name, now)
        self._images.create(patient_id, image)
        url = self._upload_urls.issue(blob_name, expires)
        return {"imageId": image_id, "uploadUrl": url, "expiresAt": iso(expires),
                "maxBytes": self._settings.max_upload_bytes}
