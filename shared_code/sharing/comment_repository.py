"""Comments, in the patient's partition (`patients` / patientId / `cm_...`, `type: comment`), so the
patient reads them with their folder: the only code that reads or writes them."""
from __future__ import annotations

from shared_code.partitions import PatientPartition
from shared_code.ports.documents import Stored
from shared_code.sharing.records import Comment
from shared_code.sharing.repository import doc_of


class CommentRepository:
    def __init__(self, patients: PatientPartition):
        self._patients = patients

    def create(self, patient_id: str, comment: Comment, event_id: str | None = None) -> Stored:
        return self._patients.create(patient_id, doc_of(comment, event_id))

    def page(self, patient_id: str, folder_id: str, limit: int,
             continuation: str | None) -> tuple[list[Comment], str | None]:
        """Newest first, like every list of this API."""
        page = self._patients.list(patient_id, "comment", order_by="sortKey", descending=True, limit=limit,
                                   continuation=continuation, folderId=folder_id)
        return [Comment.from_stored(s) for s in page.items], page.continuation
