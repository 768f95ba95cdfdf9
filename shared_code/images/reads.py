"""Reading images: a record, a folder's page, the decrypted bytes. `ImageReads` implements
images/contract.ImageReader, the part of images other areas (sharing, the clinician endpoints,
FHIR export) may use."""
from __future__ import annotations

from shared_code.errors import ImageNotReady
from shared_code.images.contract import ImageStream, Variant
from shared_code.images.objects import ImageObjects
from shared_code.images.records import ImageRecord, ImageStatus
from shared_code.images.repository import ImageRepository


class ImageReads:
    def __init__(self, images: ImageRepository, objects: ImageObjects):
        self._images = images
        self._objects = objects

    def get(self, patient_id: str, image_id: str) -> ImageRecord:
        return self._images.get(patient_id, image_id)

    def list_folder(self, patient_id: str, folder_id: str, *, status: ImageStatus | None = None, limit: int = 50,
                    continuation: str | None = None) -> tuple[list[ImageRecord], str | None]:
        return self._images.page(patient_id, folder_id, status=status, limit=limit, continuation=continuation)

    def open(self, patient_id: str, image: ImageRecord, variant: Variant) -> ImageStream:
        if not image.ready:
            raise ImageNotReady(f"The image is {image.public_status}.")
        return self._objects.open(patient_id, image, variant)
