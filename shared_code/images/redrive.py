"""The timers that keep uploads honest: the re-drive of uploads waiting too long, and the sweep of
blobs left in `incoming`.

Re-drive, for each upload waiting over UPLOAD_STUCK_MINUTES: a missed event is processed now, a
dead worker's claim is taken back, an upload never received is rejected once its URL has been
expired for UPLOAD_NOT_RECEIVED_HOURS. Safe on two instances at once: every transition is an
ETag-guarded claim."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared_code.clock import Clock, parse_time
from shared_code.images.incoming import IncomingUploads
from shared_code.images.records import ImageStatus
from shared_code.images.repository import ImageRepository, PendingUploads
from shared_code.ports.blobs import BlobStore
from shared_code.ports.errors import PreconditionFailed
from shared_code.settings import INCOMING_CONTAINER, Settings

_FINISHED = (ImageStatus.READY, ImageStatus.REJECTED, ImageStatus.DELETING)


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

    def redrive_pending(self) -> dict[str, int]:
        """How many uploads ended how (outcome -> count), for logs and tests."""
        outcomes: dict[str, int] = {}
        now = self._clock.now()
        for entry in self._pending.oldest_first():
            if now - entry.started_at < self._stuck_after:
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
        if image.status in _FINISHED:
            self._pending.remove(blob_name)
            return "done"
        if image.status is ImageStatus.PROCESSING:
            if now - parse_time(image.claimed_at) < self._stuck_after:
                return "processing"
            try:
                self._images.replace(patient_id, image.but(status=ImageStatus.PENDING))
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
