"""Comments on a folder, kept in the patient's partition so the patient reads them with their
folder: the patient's own notes and every clinician's comment, each saying who wrote it (role,
name, and for clinicians the clinic). A clinician's comment notifies the patient (`comment.created`,
ids only: never the text) and is audited (without the text)."""
from __future__ import annotations

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.errors import ImageNotFound, InvalidField
from shared_code.folders.repository import FolderRepository
from shared_code.ids import new_id
from shared_code.images.contract import ImageReader
from shared_code.notifications.contract import COMMENT_CREATED, Outbox, SourceRef
from shared_code.settings import PATIENTS
from shared_code.sharing.audit import AuditLog, actor_of
from shared_code.sharing.events import emit
from shared_code.sharing.comment_repository import CommentRepository
from shared_code.sharing.records import AuthorRole, Clinic, Comment, Grant, sort_key
from shared_code.sharing.schemas import CommentIn


def image_not_in_folder() -> InvalidField:
    # The same answer whether the image is elsewhere or nowhere: it names nothing the caller cannot see.
    return InvalidField(("imageId", "not an image of this folder"))


class CommentService:
    def __init__(self, comments: CommentRepository, folders: FolderRepository, images: ImageReader, audit: AuditLog,
                 clock: Clock, outbox: Outbox):
        self._comments = comments
        self._folders = folders
        self._images = images
        self._audit = audit
        self._clock = clock
        self._outbox = outbox

    def _new(self, folder_id: str, body: CommentIn, **author) -> Comment:
        now = self._clock.now()
        return Comment(id=new_id("cm"), folder_id=folder_id, image_id=body.imageId, text=body.text,
                       created_at=iso(now), sort_key=sort_key(now), **author)

    def add_by_patient(self, patient_id: str, display_name: str | None, folder_id: str, body: CommentIn) -> Comment:
        self._folders.get(patient_id, folder_id)  # the patient's own folder, or FolderNotFound
        if body.imageId is not None:
            try:
                image = self._images.get(patient_id, body.imageId)
            except ImageNotFound:
                raise image_not_in_folder() from None
            if image.folder_id != folder_id:
                raise image_not_in_folder()
        comment = self._new(folder_id, body, author_role=AuthorRole.PATIENT, author_name=display_name or "Patient")
        self._comments.create(patient_id, comment)
        return comment

    def add_by_clinician(self, principal: Principal, clinic: Clinic, grant: Grant, body: CommentIn) -> Comment:
        """The caller has passed the access check for `comment` on this grant (and image, if any)."""
        comment = self._new(grant.folder_id, body, author_role=AuthorRole.CLINICIAN,
                            author_name=principal.name or principal.email or "Clinician", clinic=clinic.ref(),
                            grant_id=grant.id)
        patient_id = grant.patient_id
        source = SourceRef(PATIENTS, patient_id, comment.id)
        # The comment, its notification and its audit entry: one step (outbox, AuditLog.with_entry).
        self._audit.with_entry(
            lambda: emit(self._outbox, COMMENT_CREATED,
                         {"patientId": patient_id, "folderId": grant.folder_id, "commentId": comment.id}, source,
                         lambda event_id: self._comments.create(patient_id, comment, event_id)),
            patient_id, "comment.created", actor_of(principal, "clinician"), written=source, undo=[source],
            clinic=clinic.ref(), grant_id=grant.id, folder_id=grant.folder_id, image_id=body.imageId,
            comment_id=comment.id, purposes=grant.purposes)
        return comment

    def list(self, patient_id: str, folder_id: str, limit: int,
             continuation: str | None) -> tuple[list[Comment], str | None]:
        """Newest first, like every list of this API."""
        self._folders.get(patient_id, folder_id)
        return self._comments.page(patient_id, folder_id, limit, continuation)
