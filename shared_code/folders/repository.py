"""Folder documents in the patient's partition: the only code that reads or writes them."""
from __future__ import annotations

from typing import Callable

from shared_code.errors import ConcurrentUpdate, FolderNotFound
from shared_code.folders.records import FolderRecord
from shared_code.partitions import PatientPartition
from shared_code.ports.errors import NotFound, PreconditionFailed

# Concurrent uploads to one folder are normal: a counter update retries this often on a lost race.
UPDATE_ATTEMPTS = 10


class FolderRepository:
    def __init__(self, patients: PatientPartition):
        self._patients = patients

    def find(self, patient_id: str, folder_id: str) -> FolderRecord | None:
        try:
            return FolderRecord.from_stored(self._patients.get(patient_id, folder_id, "folder"))
        except NotFound:
            return None

    def get(self, patient_id: str, folder_id: str) -> FolderRecord:
        folder = self.find(patient_id, folder_id)
        if folder is None:
            raise FolderNotFound(folder_id)
        return folder

    def create(self, patient_id: str, folder: FolderRecord) -> FolderRecord:
        stored = self._patients.create(patient_id, folder.to_doc())
        return folder.but(etag=stored.etag)

    def replace(self, patient_id: str, folder: FolderRecord) -> FolderRecord:
        """Guarded by the record's etag: raises PreconditionFailed if the folder changed since."""
        stored = self._patients.replace(patient_id, folder.to_doc(), if_match=folder.etag)
        return folder.but(etag=stored.etag)

    def page(self, patient_id: str, limit: int, continuation: str | None) -> tuple[list[FolderRecord], str | None]:
        """Newest first; the continuation is a client token."""
        page = self._patients.list(patient_id, "folder", order_by="createdAt", descending=True, limit=limit,
                                   continuation=continuation)
        return [FolderRecord.from_stored(s) for s in page.items], page.continuation

    def delete(self, patient_id: str, folder_id: str) -> None:
        try:
            self._patients.delete(patient_id, folder_id)
        except NotFound:
            pass

    def update(self, patient_id: str, folder_id: str, change: Callable[[FolderRecord], FolderRecord]) -> None:
        """Read-modify-write guarded by the ETag, retried on a lost race; a folder deleted meanwhile
        is left alone."""
        for _ in range(UPDATE_ATTEMPTS):
            folder = self.find(patient_id, folder_id)
            if folder is None:
                return
            try:
                self.replace(patient_id, change(folder))
                return
            except PreconditionFailed:
                continue
        raise ConcurrentUpdate("The folder is busy; try again.")
