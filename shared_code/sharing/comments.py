"""Comments on a folder, kept in the patient's partition (`type: comment`) so the patient reads
them with their folder: the patient's own notes and every clinician's comment, each saying who
wrote it (role, name, and for clinicians the clinic). A clinician's comment notifies the patient
(`comment.created`, ids only: never the text) and is audited (without the text)."""
from __future__ import annotations

from typing import Any, Callable

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.ids import new_id
from shared_code.notifications.contract import COMMENT_CREATED, SourceRef
from shared_code.ports.errors import NotFound
from shared_code.problems import Problem
from shared_code.repositories.patients import PatientRepository
from shared_code.services.folders import folder_not_found
from shared_code.services.images_contract import ImageReader
from shared_code.settings import PATIENTS
from shared_code.sharing.audit import AuditLog, actor_of
from shared_code.sharing.events import OutboxProvider, emit, with_event
from shared_code.sharing.schemas import CommentIn
from shared_code.sharing.store import sort_key

_PUBLIC = ("id", "folderId", "imageId", "text", "authorRole", "authorName", "clinic", "createdAt")


def public_comment(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in _PUBLIC}


def image_not_in_folder() -> Problem:
    # The same answer whether the image is elsewhere or nowhere: it names nothing the caller cannot see.
    return Problem(422, detail="imageId: not an image of this folder",
                   errors=[{"field": "imageId", "message": "not an image of this folder"}])


class CommentService:
    def __init__(self, patients: PatientRepository, images: Callable[[], ImageReader], audit: AuditLog,
                 clock: Clock, outbox: OutboxProvider):
        self._patients = patients
        self._images = images
        self._audit = audit
        self._clock = clock
        self._outbox = outbox

    def _new(self, folder_id: str, body: CommentIn, **author: Any) -> dict[str, Any]:
        return {"id": new_id("cm"), "type": "comment", "folderId": folder_id, "imageId": body.imageId,
                "text": body.text, "createdAt": iso(self._clock.now()), "sortKey": sort_key(self._clock), **author}

    def _require_folder(self, patient_id: str, folder_id: str) -> None:
        try:
            self._patients.get(patient_id, folder_id, "folder")
        except NotFound:
            raise folder_not_found(folder_id) from None

    def add_by_patient(self, patient_id: str, account: dict[str, Any], folder_id: str, body: CommentIn) -> dict[str, Any]:
        self._require_folder(patient_id, folder_id)
        if body.imageId is not None:
            try:
                image = self._images().get_doc(patient_id, body.imageId)
            except Problem as problem:
                if problem.status != 404:
                    raise
                raise image_not_in_folder() from None
            if image.get("folderId") != folder_id:
                raise image_not_in_folder()
        doc = self._new(folder_id, body, authorRole="patient", authorName=account.get("displayName") or "Patient",
                        clinic=None)
        self._patients.create(patient_id, doc)
        return public_comment(doc)

    def add_by_clinician(self, principal: Principal, patient_id: str, clinic: dict[str, Any], grant: dict[str, Any],
                         body: CommentIn) -> dict[str, Any]:
        """The caller has passed the access check for `comment` on this grant (and image, if any)."""
        doc = self._new(grant["folderId"], body, authorRole="clinician",
                        authorName=principal.name or principal.email or "Clinician",
                        clinic={"id": clinic["clinicId"], "name": clinic["name"]}, grantId=grant["id"])
        emit(self._outbox, COMMENT_CREATED, {"patientId": patient_id, "folderId": grant["folderId"], "commentId": doc["id"]},
             SourceRef(PATIENTS, patient_id, doc["id"]),
             lambda event_id: self._patients.create(patient_id, with_event(doc, event_id)))
        self._audit.record(patient_id, "comment.created", actor_of(principal, "clinician"),
                           clinic={"id": clinic["clinicId"], "name": clinic["name"]}, grantId=grant["id"],
                           folderId=grant["folderId"], imageId=body.imageId, commentId=doc["id"],
                           purposes=grant["purposes"])
        return public_comment(doc)

    def list(self, patient_id: str, folder_id: str, limit: int,
             continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, like every list of this API."""
        self._require_folder(patient_id, folder_id)
        page = self._patients.list(patient_id, "comment", order_by="sortKey", descending=True, limit=limit,
                                   continuation=continuation, folderId=folder_id)
        return [public_comment(s.doc) for s in page.items], page.continuation
