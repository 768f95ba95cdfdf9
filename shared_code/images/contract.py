"""What other areas (sharing, the clinician endpoints, FHIR export, referrals) may use of images:
read a record, list a folder's, open the decrypted bytes. Nothing else of the image package."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Literal, Protocol

from shared_code.images.records import ImageRecord, ImageStatus

Variant = Literal["original", "thumbnail"]


@dataclass(frozen=True)
class ImageStream:
    content_type: str
    length: int
    chunks: Iterator[bytes]
    sha256: str | None = None  # of the original's stored bytes
    # The whole plaintext when it was decrypted in one pass (up to IMAGE_SINGLE_PASS_MAX_BYTES): sent as
    # one response body. None for a larger object, streamed segment by segment.
    body: bytes | None = None


class ImageReader(Protocol):
    def get(self, patient_id: str, image_id: str) -> ImageRecord:
        """Point read of a visible image; raises ImageNotFound."""

    def list_folder(self, patient_id: str, folder_id: str, *, status: ImageStatus | None = None, limit: int = 50,
                    continuation: str | None = None) -> tuple[list[ImageRecord], str | None]:
        """Visible images of one folder in takenAt order (single-partition query)."""

    def open(self, patient_id: str, image: ImageRecord, variant: Variant) -> ImageStream:
        """The decrypted bytes, authenticated in full before the first byte is returned: a tampered
        object raises ImageIntegrityError, never partial bytes; an image not ready, ImageNotReady."""
