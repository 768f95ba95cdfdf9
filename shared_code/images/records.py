"""The image record: one photograph of a folder, in the patient's partition (`patients` / patient
id / image id `i_...`, `type: image`), and its life: pending -> processing -> ready | rejected,
and deleting while its key and objects are destroyed. `StoredImage` is what any processed photograph
has (metadata, quality, encrypted objects): a referral's images (shared_code/referrals/images.py)
are stored images too."""
from __future__ import annotations

from enum import Enum
from typing import Literal

from shared_code.imaging import QualityIssue
from shared_code.records import Record


class ImageStatus(str, Enum):
    PENDING = "pending"        # an upload URL was issued; the bytes have not been processed
    PROCESSING = "processing"  # claimed by one worker (internal: clients see `pending`)
    READY = "ready"
    REJECTED = "rejected"
    DELETING = "deleting"      # its key is destroyed; objects and record are going


class View(str, Enum):
    DISTANT = "distant"
    CLOSE_UP = "close_up"
    DERMOSCOPIC = "dermoscopic"


class ObjectSeal(Record):
    """Where one encrypted object is, and what must match when it is read back."""

    blob: str
    header_digest: str
    length: int
    etag: str  # the blob's ETag when written (not the record's)


class ImageQuality(Record):
    """Advice measured when the image was processed (shared_code/imaging/quality.py), never a reason
    it was refused. Images processed before quality was measured have none recorded: no issues."""

    issues: list[QualityIssue] = []

    def public(self) -> dict:
        return {"issues": [issue.value for issue in self.issues]}


class StoredImage(Record):
    """One processed photograph, whoever owns it (a patient's ImageRecord, a referral's
    ReferralImage): its metadata and its encrypted objects, as ImageObjects writes and reads them."""

    id: str
    uploaded_at: str
    note: str | None = None
    view: View | None = None
    client_taken_at: str | None = None
    taken_at: str | None = None
    sort_key: str | None = None
    width: int | None = None
    height: int | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    thumbnail_width: int | None = None
    thumbnail_height: int | None = None
    quality: ImageQuality = ImageQuality()
    wrapped_dek: str | None = None
    objects: dict[str, ObjectSeal] | None = None

    def metadata(self) -> dict:
        """The API's fields of any image (API.md, Image): what was measured and said about it."""
        return {"id": self.id, "takenAt": self.taken_at, "uploadedAt": self.uploaded_at, "note": self.note,
                "view": self.view.value if self.view else None, "width": self.width, "height": self.height,
                "contentType": self.content_type, "sizeBytes": self.size_bytes, "sha256": self.sha256,
                "quality": self.quality.public()}


class ImageRecord(StoredImage):
    type: Literal["image"] = "image"
    folder_id: str
    status: ImageStatus
    rejected_reason: str | None = None
    # Upload-URL path only.
    upload_blob: str | None = None
    upload_expires_at: str | None = None
    processing_etag: str | None = None
    processed_etag: str | None = None
    claimed_at: str | None = None
    claimed_by: str | None = None  # the worker holding the claim (host:pid:start), to tell a dead one
    events: list[str] = []

    @property
    def visible(self) -> bool:
        """Does it exist for its owner? A deleting image is already gone as far as anyone can tell."""
        return self.status is not ImageStatus.DELETING

    @property
    def ready(self) -> bool:
        return self.status is ImageStatus.READY

    @property
    def public_status(self) -> str:
        """What clients see: a claim by a worker is an internal detail of `pending`."""
        return ImageStatus.PENDING.value if self.status is ImageStatus.PROCESSING else self.status.value

    def public(self) -> dict:
        """The API's image metadata (API.md, Image), for the owner and for a clinician alike."""
        return {**self.metadata(), "folderId": self.folder_id, "status": self.public_status,
                "rejectedReason": self.rejected_reason}

    def shown_in(self, folder_id: str) -> bool:
        """May it be shown through a share of `folder_id`? Only a ready image of that folder."""
        return self.ready and self.folder_id == folder_id
