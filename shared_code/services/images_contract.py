"""What other areas (sharing, the clinician endpoints, FHIR export) may use of the image service.

Image documents live in the `patients` container, partition = patient id, id = image id (`i_...`):
    {"id", "type": "image", "folderId", "status": "pending"|"ready"|"rejected", "rejectedReason",
     "takenAt", "uploadedAt", "note", "view": "distant"|"close_up"|"dermoscopic", "width", "height",
     "contentType", "sizeBytes", "sha256", ... crypto fields (wrapped DEK, object seals) ...}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Literal, Protocol

Variant = Literal["original", "thumbnail"]


@dataclass(frozen=True)
class ImageStream:
    content_type: str
    length: int
    chunks: Iterator[bytes]
    sha256: str | None = None  # of the original's stored bytes


class ImageReader(Protocol):
    def get_doc(self, patient_id: str, image_id: str) -> dict[str, Any]:
        """Point read of the image document; raises Problem 404 `image-not-found`."""

    def public(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The API's image metadata (id, folderId, status, takenAt, uploadedAt, note, view, width, height,
        contentType, sizeBytes, sha256, rejectedReason)."""

    def list_folder(self, patient_id: str, folder_id: str, *, status: str | None = "ready",
                    limit: int = 200, continuation: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Image documents of one folder in takenAt order (single-partition query)."""

    def open(self, patient_id: str, doc: dict[str, Any], variant: Variant) -> ImageStream:
        """The decrypted bytes, authenticated in full before the first byte is returned (a tampered
        object raises Problem 500 `image-integrity`, never partial bytes). The image must be ready."""
