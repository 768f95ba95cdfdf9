"""Account documents, and the index of every patient (`directory` / `patients`, one entry per
patient id, for KEK rotation to visit every account with one single-partition query): the only
code that reads or writes either."""
from __future__ import annotations

from typing import Iterator

from shared_code import paging
from shared_code.accounts.records import AccountRecord
from shared_code.partitions import PatientPartition
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import NotFound
from shared_code.settings import DIRECTORY

PATIENT_INDEX = "patients"


class AccountRepository:
    def __init__(self, patients: PatientPartition, documents: DocumentStore):
        self._patients = patients
        self._documents = documents

    def find(self, patient_id: str) -> AccountRecord | None:
        stored = self._patients.account(patient_id)
        return AccountRecord.from_stored(stored) if stored is not None else None

    def create(self, account: AccountRecord) -> AccountRecord:
        """The index entry first: an account is never missed by rotation, and an entry without an
        account is skipped by it."""
        self._documents.upsert(DIRECTORY, PATIENT_INDEX, {"id": account.patient_id, "createdAt": account.created_at})
        stored = self._patients.create(account.patient_id, account.to_doc())
        return account.but(etag=stored.etag)

    def replace(self, account: AccountRecord) -> AccountRecord:
        """Guarded by the record's etag: raises PreconditionFailed (or NotFound) if it changed."""
        stored = self._patients.replace(account.patient_id, account.to_doc(), if_match=account.etag)
        return account.but(etag=stored.etag)

    def erase(self, patient_id: str) -> int:
        """Deletes the whole partition (every document the patient owns), then the index entry;
        returns how many documents went."""
        count = self._patients.erase_partition(patient_id)
        try:
            self._documents.delete(DIRECTORY, PATIENT_INDEX, patient_id)
        except NotFound:
            pass
        return count

    def patient_ids(self) -> Iterator[str]:
        """Every indexed patient id, page by page (internal: KEK rotation)."""
        for stored in paging.every(self._documents, DIRECTORY, Query(PATIENT_INDEX, limit=paging.MAX_LIMIT)):
            yield stored.doc["id"]
