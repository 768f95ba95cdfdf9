"""Folder documents in the patient's partition, and the reminder index (`directory` / `reminders`):
the only code that reads or writes either.

The index holds one entry per folder whose reminder the patient has not yet been told of, ordered
by due time, so the reminder timer finds its work with one single-partition query (as the grant
expiry index does). An entry is written before the folder it points at (so no reminder exists
that the timer cannot find) and only says where to look: the folder decides."""
from __future__ import annotations

import logging
from typing import Callable, Iterator

from shared_code import paging
from shared_code.errors import ConcurrentUpdate, FolderNotFound
from shared_code.folders.records import FolderRecord, ReminderEntry
from shared_code.notifications.outbox import record_event
from shared_code.partitions import PatientPartition
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.settings import DIRECTORY

log = logging.getLogger(__name__)

# Concurrent uploads to one folder are normal: a counter update retries this often on a lost race.
UPDATE_ATTEMPTS = 10
REMINDER_PARTITION = "reminders"
_BATCH = 100


class ReminderIndex:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def put(self, patient_id: str, folder: FolderRecord) -> None:
        """The entry of a folder whose reminder is pending, at its due time (idempotent)."""
        assert folder.reminder is not None
        entry = ReminderEntry(id=folder.id, patient_id=patient_id, folder_id=folder.id,
                              due_at=folder.reminder.next_due_at)
        self._documents.upsert(DIRECTORY, REMINDER_PARTITION, entry.to_doc())

    def remove(self, folder_id: str, if_match: str | None = None) -> None:
        """Best effort: a left-over entry is dropped by the timer when it reaches it. With
        `if_match` (the timer's), an entry rewritten meanwhile (a new photo moved it) stays."""
        try:
            self._documents.delete(DIRECTORY, REMINDER_PARTITION, folder_id, if_match)
        except (NotFound, PreconditionFailed):
            pass
        except Exception as exc:  # noqa: BLE001 - the folder already says what happened
            log.warning("reminder entry not deleted: folder=%s error=%s", folder_id, type(exc).__name__)

    def by_due(self) -> Iterator[ReminderEntry]:
        """Soonest due first, one single-partition query page by page (the caller stops)."""
        query = Query(REMINDER_PARTITION, {"type": "reminder"}, order_by="dueAt", limit=_BATCH)
        return (ReminderEntry.from_stored(s) for s in paging.every(self._documents, DIRECTORY, query))

    def forget_patient(self, patient_id: str) -> None:
        """Erasure: no entry names the patient afterwards."""
        query = Query(REMINDER_PARTITION, {"type": "reminder", "patientId": patient_id}, limit=_BATCH)
        for entry in list(paging.every(self._documents, DIRECTORY, query)):
            self.remove(entry.doc["id"])


class FolderRepository:
    def __init__(self, patients: PatientPartition, reminders: ReminderIndex):
        self._patients = patients
        self.reminders = reminders

    def find(self, patient_id: str, folder_id: str) -> FolderRecord | None:
        return self._patients.find(patient_id, folder_id, FolderRecord)

    def get(self, patient_id: str, folder_id: str) -> FolderRecord:
        folder = self.find(patient_id, folder_id)
        if folder is None:
            raise FolderNotFound(folder_id)
        return folder

    def create(self, patient_id: str, folder: FolderRecord) -> FolderRecord:
        stored = self._patients.create(patient_id, folder.to_doc())
        return folder.but(etag=stored.etag)

    def replace(self, patient_id: str, folder: FolderRecord, event_id: str | None = None) -> FolderRecord:
        """Guarded by the record's etag: raises PreconditionFailed if the folder changed since.
        A pending reminder's index entry is written first; `event_id` joins the folder's events
        (the outbox's write)."""
        if folder.reminder is not None and folder.reminder.pending:
            self.reminders.put(patient_id, folder)
        doc = folder.to_doc() if event_id is None else record_event(folder.to_doc(), event_id)
        stored = self._patients.replace(patient_id, doc, if_match=folder.etag)
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
        self.reminders.remove(folder_id)

    def update(self, patient_id: str, folder_id: str,
               change: Callable[[FolderRecord], FolderRecord]) -> FolderRecord | None:
        """Read-modify-write guarded by the ETag, retried on a lost race; a folder deleted meanwhile
        is left alone (None)."""
        for _ in range(UPDATE_ATTEMPTS):
            folder = self.find(patient_id, folder_id)
            if folder is None:
                return None
            try:
                return self.replace(patient_id, change(folder))
            except PreconditionFailed:
                continue
        raise ConcurrentUpdate("The folder is busy; try again.")

