"""Image documents in the patient's partition, and the index of uploads waiting to be processed
(`directory` / `pending-uploads`, one entry per upload blob, so the re-drive timer finds waiting
uploads with one single-partition query). The only code that reads or writes either."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from shared_code import paging
from shared_code.clock import iso, parse_time
from shared_code.errors import ImageNotFound
from shared_code.images.records import ImageRecord, ImageStatus
from shared_code.partitions import PatientPartition
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import NotFound
from shared_code.settings import DIRECTORY

PENDING_UPLOADS = "pending-uploads"


class ImageRepository:
    def __init__(self, patients: PatientPartition):
        self._patients = patients

    def find(self, patient_id: str, image_id: str) -> ImageRecord | None:
        """Whatever its status (deleting included): for the upload and deletion machinery."""
        return self._patients.find(patient_id, image_id, ImageRecord)

    def get(self, patient_id: str, image_id: str) -> ImageRecord:
        """A visible image, or ImageNotFound."""
        image = self.find(patient_id, image_id)
        if image is None or not image.visible:
            raise ImageNotFound(image_id)
        return image

    def create(self, patient_id: str, image: ImageRecord) -> ImageRecord:
        return image.but(etag=self._patients.create(patient_id, image.to_doc()).etag)

    def replace(self, patient_id: str, image: ImageRecord) -> ImageRecord:
        """Guarded by the record's etag: raises PreconditionFailed, or NotFound if it is gone."""
        return image.but(etag=self._patients.replace(patient_id, image.to_doc(), if_match=image.etag).etag)

    def upsert(self, patient_id: str, image: ImageRecord) -> ImageRecord:
        return image.but(etag=self._patients.upsert(patient_id, image.to_doc()).etag)

    def delete(self, patient_id: str, image_id: str) -> None:
        try:
            self._patients.delete(patient_id, image_id)
        except NotFound:
            pass

    def page(self, patient_id: str, folder_id: str, *, status: ImageStatus | None, limit: int,
             continuation: str | None) -> tuple[list[ImageRecord], str | None]:
        """One client page of a folder's visible images in sort-key (takenAt) order."""
        equals = {"folderId": folder_id, **({"status": status.value} if status else {})}
        page = self._patients.list(patient_id, "image", order_by="sortKey", limit=limit, continuation=continuation,
                                   **equals)
        images = [ImageRecord.from_stored(s) for s in page.items]
        return [i for i in images if i.visible], page.continuation

    def in_folder(self, patient_id: str, folder_id: str) -> Iterator[ImageRecord]:
        """Every image of a folder, whatever its status (internal: the folder cascade)."""
        for stored in self._patients.all(patient_id, "image", folderId=folder_id):
            yield ImageRecord.from_stored(stored)

    def first_ready(self, patient_id: str, folder_id: str) -> str | None:
        """The id of the folder's earliest uploaded ready image (the default template)."""
        for stored in self._patients.all(patient_id, "image", order_by="uploadedAt", folderId=folder_id,
                                         status=ImageStatus.READY.value):
            return stored.doc["id"]
        return None


@dataclass(frozen=True)
class PendingUpload:
    blob: str
    started_at: datetime


class PendingUploads:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    @staticmethod
    def _entry_id(blob_name: str) -> str:
        return blob_name.replace("/", ":")

    def add(self, blob_name: str, started_at: datetime) -> None:
        self._documents.upsert(DIRECTORY, PENDING_UPLOADS, {"id": self._entry_id(blob_name), "blob": blob_name,
                                                            "startedAt": iso(started_at)})

    def remove(self, blob_name: str) -> None:
        try:
            self._documents.delete(DIRECTORY, PENDING_UPLOADS, self._entry_id(blob_name))
        except NotFound:
            pass

    def remove_patient(self, patient_id: str) -> int:
        """Erasure: drops every entry of the patient's uploads; returns how many."""
        mine = [entry.blob for entry in self.oldest_first() if entry.blob.startswith(f"{patient_id}/")]
        for blob_name in mine:
            self.remove(blob_name)
        return len(mine)

    def oldest_first(self) -> Iterator[PendingUpload]:
        """Every waiting upload, oldest first, page by page."""
        query = Query(PENDING_UPLOADS, order_by="startedAt", limit=paging.MAX_LIMIT)
        for stored in paging.every(self._documents, DIRECTORY, query):
            yield PendingUpload(stored.doc["blob"], parse_time(stored.doc["startedAt"]))
