"""HTTP: comments on a folder — the patient's own notes, and clinicians' comments through a share
(which pass `Access`, operation `comment`). The patient sees both in the folder."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from shared_code.access import COMMENT
from shared_code.api_schemas import ListOf
from shared_code.http.common import Page, require_json
from shared_code.http.deps import Access, Clinician, Comments, Patient
from shared_code.http.offload import stores_only
from shared_code.http.routing import ApiRoute
from shared_code.sharing.comments import image_not_in_folder
from shared_code.sharing.schemas import Comment, CommentIn

router = APIRouter(route_class=ApiRoute, tags=["comments"])


@router.get("/api/folders/{folderId}/comments", response_model=ListOf[Comment],
            description="The folder's comments, newest first: your notes and every clinician's comment.")
@stores_only
def list_comments(folderId: str, comments: Comments, caller: Patient, page: Page) -> ListOf[Comment]:
    items, continuation = comments.list(caller.patient_id, folderId, page.limit, page.continuation)
    return ListOf[Comment].page((c.public() for c in items), continuation)


@router.post("/api/folders/{folderId}/comments", status_code=201, response_model=Comment,
             dependencies=[Depends(require_json)], description="A note of your own on the folder or one of its images.")
@stores_only
def add_note(folderId: str, body: CommentIn, comments: Comments, caller: Patient) -> Comment:
    comment = comments.add_by_patient(caller.patient_id, caller.account.display_name, folderId, body)
    return Comment.model_validate(comment.public())


@router.post("/api/clinics/{clinicId}/shares/{grantId}/comments", status_code=201, response_model=Comment,
             dependencies=[Depends(require_json)], tags=["clinician: shares"],
             description="Comment on the shared folder or one of its images; it appears in the patient's folder and "
                         "the patient is notified (never with the text). Audited (without the text).")
@stores_only
def add_clinician_comment(clinicId: str, grantId: str, body: CommentIn, access: Access, comments: Comments,
                          p: Clinician) -> Comment:
    checked = access.grant(p, clinicId, grantId, COMMENT)
    if body.imageId is not None and access.image_of(checked, body.imageId) is None:
        raise image_not_in_folder()
    comment = comments.add_by_clinician(p, checked.clinic, checked.grant, body)
    return Comment.model_validate(comment.public())
