"""The timers that keep uploads honest: the re-drive of uploads waiting too long, the sweep of
blobs left in `incoming`, and the sweep of leftovers of writes killed half-way.

Re-drive, for each upload waiting over UPLOAD_STUCK_MINUTES (every waiting upload at start-up,
`recover`): a missed event is processed now, a claim by a worker known dead (or older than
UPLOAD_STUCK_MINUTES) is taken back, an upload whose folder was deleted is discarded, an upload
never received is rejected (`not_received`) once its URL has been expired for
UPLOAD_NOT_RECEIVED_HOURS. Safe on two instances at once: every transition is an ETag-guarded claim.

Leftovers, older than LEFTOVER_SWEEP_MINUTES (longer than any write takes): encrypted objects no
image record names (a direct upload killed between writing its objects and creating its record, a
processing killed before its record was written), and a store's temporary files of writes that
never finished (the local file store's `.part` files). Idempotent."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from shared_code.clock import Clock, parse_time
from shared_code.images.incoming import IncomingUploads
from shared_code.images.workers import worker_is_dead
from shared_code.images.records import ImageStatus
from shared_code.images.repository import ImageRepository, PendingUploads
from shared_code.ports.blobs import BlobStore
from shared_code.ports.errors import PreconditionFailed
from shared_code.settings import IMAGES_CONTAINER, INCOMING_CONTAINER, Settings

_FINISHED = (ImageStatus.READY, ImageStatus.REJECTED, ImageStatus.DELETING)


@runtime_checkable
class PartialWrites(Protocol):
    """A blob store that can leave temporary files behind when killed (the local file store)."""

    def remove_partials(self, older_than_seconds: float) -> int: ...


class UploadRedrive:
    def __init__(self, images: ImageRepository, pending: PendingUploads, incoming: IncomingUploads,
                 blobs: BlobStore, clock: Clock, settings: Settings):
        self._images = images
        self._pending = pending
        self._incoming = incoming
        self._blobs = blobs
        self._clock = clock
        self._stuck_after = timedelta(minutes=settings.upload_stuck_minutes)
        self._not_received_after = timedelta(hours=settings.upload_not_received_hours)
        self._sweep_after = timedelta(hours=settings.incoming_sweep_hours)
        self._leftover_after = timedelta(minutes=settings.leftover_sweep_minutes)

    def recover(self) -> dict[str, int]:
        """At start-up: every waiting upload now, however young (what a killed process left)."""
        return self.redrive_pending(everything=True)

    def redrive_pending(self, *, everything: bool = False) -> dict[str, int]:
        """How many uploads ended how (outcome -> count), for logs and tests."""
        outcomes: dict[str, int] = {}
        now = self._clock.now()
        for entry in self._pending.oldest_first():
            if not everything and now - entry.started_at < self._stuck_after:
                continue
            outcome = self._redrive_one(entry.blob, now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes

    def _redrive_one(self, blob_name: str, now: datetime) -> str:
        patient_id, _, image_id = blob_name.partition("/")
        image = self._images.find(patient_id, image_id)
        if image is None:
            self._pending.remove(blob_name)
            return "orphan"
        if image.status is not ImageStatus.DELETING and self._incoming.discard_if_folder_gone(patient_id, image):
            return "folder-gone"
        if image.status in _FINISHED:
            self._incoming.finish_interrupted(patient_id, image)
            return "done"
        if image.status is ImageStatus.PROCESSING:
            if now - parse_time(image.claimed_at) < self._stuck_after and not worker_is_dead(image.claimed_by):
                return "processing"
            try:
                self._images.replace(patient_id, image.but(status=ImageStatus.PENDING, claimed_by=None))
            except PreconditionFailed:
                return "claimed-elsewhere"
        outcome = self._incoming.process(blob_name)
        if outcome == "gone" and now - parse_time(image.upload_expires_at) > self._not_received_after:
            self._incoming.reject(patient_id, self._images.find(patient_id, image_id), "not_received")
            self._pending.remove(blob_name)
            return "not-received"
        return outcome

    def sweep_incoming(self) -> int:
        """Deletes uploads left in `incoming` over INCOMING_SWEEP_HOURS; returns how many."""
        cutoff = self._clock.now() - self._sweep_after
        removed = 0
        for info in list(self._blobs.list(INCOMING_CONTAINER)):
            if info.last_modified < cutoff:
                self._blobs.delete(INCOMING_CONTAINER, info.name)
                removed += 1
        return removed

    def sweep_leftovers(self) -> dict[str, int]:
        """Deletes encrypted objects no image record names and unfinished temporary files, older
        than LEFTOVER_SWEEP_MINUTES: {"objects": n, "partials": m}."""
        cutoff = self._clock.now() - self._leftover_after
        named: dict[tuple[str, str], set[str]] = {}
        removed = 0
        for info in list(self._blobs.list(IMAGES_CONTAINER)):
            if info.last_modified >= cutoff:
                continue  # a write may still be between its objects and its record
            patient_id, _, rest = info.name.partition("/")
            image_id = rest.partition("/")[0]
            if (patient_id, image_id) not in named:
                image = self._images.find(patient_id, image_id)
                named[(patient_id, image_id)] = {seal.blob for seal in (image.objects or {}).values()} if image else set()
            if info.name not in named[(patient_id, image_id)]:
                self._blobs.delete(IMAGES_CONTAINER, info.name)
                removed += 1
        partials = 0
        if isinstance(self._blobs, PartialWrites):
            partials = self._blobs.remove_partials(self._leftover_after.total_seconds())
        return {"objects": removed, "partials": partials}
