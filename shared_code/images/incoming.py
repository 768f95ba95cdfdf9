"""Processing an upload that arrived through an upload URL: the Event Grid blob trigger's handler
in Azure and, locally, the upload URL's own. Idempotent on blob name + ETag (duplicate events are
normal): a worker claims the pending record with an ETag-guarded write before doing anything.

A refused upload is `rejected` with its reason, and the patient is told (`upload.rejected`) through
the outbox, in the same write.

Crashes: a claim names its worker (`claimed_by`: host, pid and a token of this process's start). A
claim whose worker is known dead (a pid of this host that no longer runs, or this very pid under an
earlier start, as after a container restart) is stale at once: the next event, the client's PUT
again, or the re-drive (run at start-up locally) takes it over. A worker on another host is never
guessed dead; its claim goes stale after UPLOAD_STUCK_MINUTES. A failure half-way (not a kill)
gives the claim back at once.

Deleted folders: an upload whose folder is gone (deleted while the bytes were in flight) is
discarded, before processing and again after its record became ready, so no readable image of a
deleted folder is left."""
from __future__ import annotations

import logging

from shared_code.clock import Clock, iso, parse_time
from shared_code.errors import UploadAlreadyUsed
from shared_code.folders.repository import FolderRepository
from shared_code.ids import looks_like_id
from shared_code.images.edits import ImageEdits
from shared_code.images.ingest import process
from shared_code.images.objects import ImageObjects
from shared_code.images.records import ImageRecord, ImageStatus
from shared_code.images.repository import ImageRepository, PendingUploads
from shared_code.images.workers import current_worker, worker_is_dead
from shared_code.imaging import ImageRejected
from shared_code.notifications.contract import UPLOAD_REJECTED, Outbox, SourceRef
from shared_code.notifications.outbox import with_event
from shared_code.ports.blobs import BlobInfo, BlobStore
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.settings import INCOMING_CONTAINER, PATIENTS, Settings

log = logging.getLogger(__name__)

class IncomingUploads:
    def __init__(self, images: ImageRepository, pending: PendingUploads, objects: ImageObjects,
                 folders: FolderRepository, edits: ImageEdits, blobs: BlobStore, outbox: Outbox, clock: Clock,
                 settings: Settings):
        self._images = images
        self._pending = pending
        self._objects = objects
        self._folders = folders
        self._blobs = blobs
        self._outbox = outbox
        self._clock = clock
        self._settings = settings
        self._edits = edits

    def expect(self, blob_name: str) -> None:
        """Raises UploadAlreadyUsed unless an upload URL's pending image still takes bytes."""
        patient_id, _, image_id = blob_name.partition("/")
        image = self._images.find(patient_id, image_id)
        if image is None or not (image.status is ImageStatus.PENDING or self._abandoned(image)):
            raise UploadAlreadyUsed()

    @staticmethod
    def _abandoned(image: ImageRecord) -> bool:
        """Claimed by a worker that died before it finished: the bytes may be sent and taken again."""
        return image.status is ImageStatus.PROCESSING and worker_is_dead(image.claimed_by)

    def receive(self, blob_name: str, data: bytes) -> str:
        """Local mode, where this app is the upload URL's target: the bytes land in `incoming` as a
        client's PUT to a SAS would, and are processed at once (as the blob trigger would)."""
        self._blobs.put(INCOMING_CONTAINER, blob_name, [data])
        return self.process(blob_name)

    def process(self, blob_name: str) -> str:
        """Returns what it did, for logs and tests: gone, orphan, already-processed, claimed-elsewhere,
        folder-gone, retry, rejected or ready."""
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
        if image.upload_blob == blob_name and image.status is ImageStatus.PROCESSING and not self._abandoned(image):
            # Another worker holds the claim and is reading these very bytes: leave them to it.
            return "claimed-elsewhere"
        if image.status not in (ImageStatus.PENDING, ImageStatus.PROCESSING) or image.upload_blob != blob_name:
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            return "already-processed"
        if self.discard_if_folder_gone(patient_id, image):
            return "folder-gone"
        try:
            claimed = self._images.replace(patient_id, image.but(
                status=ImageStatus.PROCESSING, processing_etag=info.etag, claimed_at=iso(self._clock.now()),
                claimed_by=current_worker()))
        except (PreconditionFailed, NotFound):
            return "claimed-elsewhere"
        try:
            return self._finish(patient_id, blob_name, info, claimed)
        except Exception:
            # Failed half-way (storage full, a dependency down): give the claim back at once, so
            # the next event, the client's retry or the re-drive takes it up.
            try:
                current = self._images.find(patient_id, image_id)
                if current is not None and current.status is ImageStatus.PROCESSING \
                        and current.claimed_by == claimed.claimed_by:
                    self._images.replace(patient_id, current.but(status=ImageStatus.PENDING, claimed_by=None))
            except Exception:  # noqa: BLE001 - the re-drive takes the claim back later
                log.warning("upload claim not released", extra={"event": "upload.claim-kept"})
            raise

    def _finish(self, patient_id: str, blob_name: str, info: BlobInfo, claimed: ImageRecord) -> str:
        try:
            if info.size > self._settings.max_upload_bytes:
                raise ImageRejected("too_large", "upload larger than the limit")
            _, chunks = self._blobs.open(INCOMING_CONTAINER, blob_name, if_match=info.etag)
            taken_at = parse_time(claimed.client_taken_at) if claimed.client_taken_at else None
            processed = process(self._read_at_most(chunks), taken_at, self._settings)
        except (NotFound, PreconditionFailed):
            # Replaced or lost while we looked: give the claim back; the next event or the re-drive retries.
            self._images.replace(patient_id, claimed.but(status=ImageStatus.PENDING, claimed_by=None))
            return "retry"
        except ImageRejected as exc:
            self.reject(patient_id, claimed, str(exc.reason_code))
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            self._pending.remove(blob_name)
            return "rejected"
        stored = self._objects.store(patient_id, claimed, processed)
        try:
            ready = self._images.replace(patient_id, stored.but(status=ImageStatus.READY, processed_etag=info.etag,
                                                                claimed_at=None, claimed_by=None))
        except (PreconditionFailed, NotFound):
            self._objects.delete(stored)
            return "claimed-elsewhere"
        # The folder may have been deleted while we processed (its cascade may have missed this
        # image): an image of a deleted folder must not stay readable.
        if self.discard_if_folder_gone(patient_id, ready):
            return "folder-gone"
        # The folder counts the image before the incoming copy goes: a retry after a failed clean-up
        # finds the image ready and only cleans up, so the count is never skipped.
        self._folders.update(patient_id, claimed.folder_id, lambda folder: folder.with_image_ready(
            claimed.id, stored.taken_at or stored.uploaded_at))
        self._blobs.delete(INCOMING_CONTAINER, blob_name)
        self._pending.remove(blob_name)
        log.info("upload processed", extra={"event": "image.ready"})
        return "ready"

    def finish_interrupted(self, patient_id: str, image: ImageRecord) -> None:
        """What a processing killed after its last record write left undone: the folder's count
        (made right by counting the folder's ready images, so it is right however often this runs)
        and the clean-up of the incoming bytes and the index entry."""
        if image.ready:
            ready = sum(1 for each in self._images.in_folder(patient_id, image.folder_id) if each.ready)
            self._folders.update(patient_id, image.folder_id, lambda folder: folder.with_image_ready(
                image.id, image.taken_at or image.uploaded_at).but(image_count=ready))
        self._blobs.delete(INCOMING_CONTAINER, image.upload_blob)
        self._pending.remove(image.upload_blob)

    def _read_at_most(self, chunks) -> bytes:
        """The bytes, read chunk by chunk, refused as `too_large` the moment they pass the limit."""
        data = bytearray()
        for chunk in chunks:
            data += chunk
            if len(data) > self._settings.max_upload_bytes:
                raise ImageRejected("too_large", "upload larger than the limit")
        return bytes(data)

    def discard_if_folder_gone(self, patient_id: str, image: ImageRecord) -> bool:
        """Destroys an upload whose folder no longer exists; says whether it did."""
        if self._folders.find(patient_id, image.folder_id) is not None:
            return False
        self._edits.destroy(patient_id, image)
        log.info("upload discarded: its folder was deleted", extra={"event": "upload.folder-gone"})
        return True

    def reject(self, patient_id: str, image: ImageRecord, reason: str) -> None:
        """`image` as last read (the write is guarded by its etag); the patient is told once."""
        rejected = image.but(status=ImageStatus.REJECTED, rejected_reason=reason, claimed_at=None, claimed_by=None)

        def write(event_id: str) -> ImageRecord:
            return self._images.replace(patient_id, rejected.but(events=with_event(rejected.events, event_id)))

        self._outbox.emit(UPLOAD_REJECTED, {"patientId": patient_id, "imageId": image.id, "reason": reason},
                          SourceRef(PATIENTS, patient_id, image.id), write)
        log.info("upload rejected", extra={"event": "image.rejected"})
