"""The patient partition: everything a patient owns, in the `patients` container, one partition
per patient. The typed repositories of accounts, folders, images, shares and comments read and
write through it.

One partition per patient means a patient's lists are single-partition queries, a patient can only
ever address their own documents (another patient's id is simply not in the partition: 404), and
erasure is the deletion of one partition."""
from __future__ import annotations

from typing import Any, Iterator

from shared_code import paging
from shared_code.ports.documents import DocumentStore, Page, Query, Stored
from shared_code.ports.errors import NotFound
from shared_code.records import R, read_record
from shared_code.settings import PATIENTS

ACCOUNT_ID = "account"


class PatientPartition:
    def __init__(self, documents: DocumentStore):
        self.documents = documents

    def account(self, patient_id: str) -> Stored | None:
        try:
            return self.documents.read(PATIENTS, patient_id, ACCOUNT_ID)
        except NotFound:
            return None

    def find(self, patient_id: str, doc_id: str, cls: type[R]) -> R | None:
        """The typed record, or None: absent, or a document of another type."""
        return read_record(self.documents, PATIENTS, patient_id, doc_id, cls)

    def create(self, patient_id: str, doc: dict[str, Any]) -> Stored:
        return self.documents.create(PATIENTS, patient_id, doc)

    def replace(self, patient_id: str, doc: dict[str, Any], if_match: str | None) -> Stored:
        return self.documents.replace(PATIENTS, patient_id, doc, if_match)

    def upsert(self, patient_id: str, doc: dict[str, Any]) -> Stored:
        return self.documents.upsert(PATIENTS, patient_id, doc)

    def delete(self, patient_id: str, doc_id: str, if_match: str | None = None) -> None:
        self.documents.delete(PATIENTS, patient_id, doc_id, if_match)

    def list(self, patient_id: str, doc_type: str, *, order_by: str, descending: bool = False,
             limit: int = paging.DEFAULT_LIMIT, continuation: str | None = None, **equals: Any) -> Page:
        """One page for a client (its continuation is a client token)."""
        return paging.read_page(self.documents, PATIENTS, Query(patient_id, {"type": doc_type, **equals},
                                                                order_by=order_by, descending=descending,
                                                                limit=limit, continuation=continuation))

    def all(self, patient_id: str, doc_type: str, *, order_by: str = "id", **equals: Any) -> Iterator[Stored]:
        """Every document of a type (internal use: erasure, cascades), page by page."""
        return paging.every(self.documents, PATIENTS, Query(patient_id, {"type": doc_type, **equals},
                                                            order_by=order_by, limit=paging.MAX_LIMIT))

    def erase_partition(self, patient_id: str) -> int:
        return self.documents.delete_partition(PATIENTS, patient_id)
