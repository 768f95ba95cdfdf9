"""Processing an upload that arrived through an upload URL: the Event Grid blob trigger's handler
in Azure and, locally, the upload URL's own. Idempotent on blob name + ETag (duplicate events are
normal): a worker claims the pending record with an ETag-guarded write before doing anything.

A refused upload is `rejected` with its reason, and the patient is told (`upload.rejected`) through
the outbox, in the same write."""
from __future__ import annotations

import logging

from shared_code.clock import Clock, iso, parse_time
from shared_code.errors import UploadAlreadyUsed
from shared_code.folders.repository import FolderRepository
from shared_code.ids import looks_like_id
from shared_code.images.ingest import process
from shared_code.images.objects import ImageObjects
from shared_code.images.records import ImageRecord, ImageStatus
from shared_code.images.repository import ImageRepository, PendingUploads
from shared_code.imaging import ImageRejected
from shared_code.notifications.contract import UPLOAD_REJECTED, Outbox, SourceRef
from shared_code.notifications.outbox import with_event
from shared_code.ports.blobs import BlobInfo, BlobStore
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.settings import INCOMING_CONTAINER, PATIENTS, Settings

log = logging.getLogger(__name__)


class IncomingUploads:
    def __init__(self, images: ImageRepository, pending: PendingUploads, objects: ImageObjects,
                 folders: FolderRepository, blobs: BlobStore, outbox: Outbox, clock: Clock, settings: Settings):
        self._images = images
        self._pending = pending
        self._objects = objects
        self._folders = folders
        self._blobs = blobs
        self._outbox = outbox
        self._clock = clock
        self._settings = settings

    def expect(self, blob_name: str) -> None:
        """Raises UploadAlreadyUsed unless an upload URL's pending image still takes bytes."""
        patient_id, _, image_id = blob_name.partition("/")
        image = self._images.find(patient_id, image_id)
        if image is None or image.status is not ImageStatus.PENDING:
            raise UploadAlreadyUsed()

    def receive(self, blob_name: str, data: bytes) -> str:
        """Local mode, where this app is the upload URL's target: the bytes land in `incoming` as a
        client's PUT to a SAS would, and are processed at once (as the blob trigger would)."""
        self._blobs.put(INCOMING_CONTAINER, blob_name, [data])
        return self.process(blob_name)

    def process(self, blob_name: str) -> str:
        """Returns what it did, for logs and tests: gone, orphan, already-processed, claimed-elsewhere,
        retry, rejected or ready."""
        patient_id, _, image_id = blob_name.partition("/")
        try:
            info = self._blobs.info(INCOMING_CONTAINER, blob_name)
        except NotFound:
            return "gone"  # already processed and deleted, or never committed
        if not (looks_like_id(image_id, "i") and patient_id.startswith("p_")):
            # Not a name this service hands out (upload URLs name `p_…/i_…` only): drop it, don't retry it.
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            return "orphan"
        image = self._images.find(patient_id, image_id)
        if image is None:
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            return "orphan"
        if image.upload_blob == blob_name and image.status is ImageStatus.PROCESSING:
            # Another worker holds the claim and is reading these very bytes: leave them to it.
            return "claimed-elsewhere"
        if image.status is not ImageStatus.PENDING or image.upload_blob != blob_name:
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            return "already-processed"
        try:
            claimed = self._images.replace(patient_id, image.but(
                status=ImageStatus.PROCESSING, processing_etag=info.etag, claimed_at=iso(self._clock.now())))
        except (PreconditionFailed, NotFound):
            return "claimed-elsewhere"
        return self._finish(patient_id, blob_name, info, claimed)

    def _finish(self, patient_id: str, blob_name: str, info: BlobInfo, claimed: ImageRecord) -> str:
        try:
            if info.size > self._settings.max_upload_bytes:
                raise ImageRejected("too_large", "upload larger than the limit")
            _, chunks = self._blobs.open(INCOMING_CONTAINER, blob_name, if_match=info.etag)
            taken_at = parse_time(claimed.client_taken_at) if claimed.client_taken_at else None
            processed = process(b"".join(chunks), taken_at, self._settings)
        except (NotFound, PreconditionFailed):
            # Replaced or lost while we looked: give the claim back; the next event or the re-drive retries.
            self._images.replace(patient_id, claimed.but(status=ImageStatus.PENDING))
            return "retry"
        except ImageRejected as exc:
            self.reject(patient_id, claimed, str(exc.reason_code))
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            self._pending.remove(blob_name)
            return "rejected"
        stored = self._objects.store(patient_id, claimed, processed)
        try:
            self._images.replace(patient_id, stored.but(status=ImageStatus.READY, processed_etag=info.etag,
                                                        claimed_at=None))
        except (PreconditionFailed, NotFound):
            self._objects.delete(stored)
            return "claimed-elsewhere"
        # The folder counts the image before the incoming copy goes: a retry after a failed clean-up
        # finds the image ready and only cleans up, so the count is never skipped.
        self._folders.update(patient_id, claimed.folder_id, lambda folder: folder.with_image_ready(claimed.id))
        self._blobs.delete(INCOMING_CONTAINER, blob_name)
        self._pending.remove(blob_name)
        log.info("upload processed", extra={"event": "image.ready"})
        return "ready"

    def reject(self, patient_id: str, image: ImageRecord, reason: str) -> None:
        """`image` as last read (the write is guarded by its etag); the patient is told once."""
        rejected = image.but(status=ImageStatus.REJECTED, rejected_reason=reason, claimed_at=None)

        def write(event_id: str) -> ImageRecord:
            return self._images.replace(patient_id, rejected.but(events=with_event(rejected.events, event_id)))

        self._outbox.emit(UPLOAD_REJECTED, {"patientId": patient_id, "imageId": image.id, "reason": reason},
                          SourceRef(PATIENTS, patient_id, image.id), write)
        log.info("upload rejected", extra={"event": "image.rejected"})
