"""HTTP: the patient's folders, and each folder's photo reminder."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Response

from shared_code.api_schemas import ListOf
from shared_code.folders.schemas import Folder, FolderIn, FolderPatch, Reminder, ReminderIn
from shared_code.http.common import Page, require_json
from shared_code.http.deps import Folders, Patient
from shared_code.http.offload import stores_only
from shared_code.http.routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/folders", tags=["patient: folders"])


@router.post("", status_code=201, response_model=Folder, dependencies=[Depends(require_json)])
def create_folder(body: FolderIn, response: Response, folders: Folders, caller: Patient) -> Folder:
    folder = folders.create(caller.patient_id, body)
    response.headers["Location"] = f"/api/folders/{folder.id}"
    return Folder.model_validate(folder.public())


@router.get("", response_model=ListOf[Folder], description="Newest first.")
@stores_only
def list_folders(folders: Folders, caller: Patient, page: Page) -> ListOf[Folder]:
    items, continuation = folders.list(caller.patient_id, page.limit, page.continuation)
    return ListOf[Folder].page((f.public() for f in items), continuation)


@router.get("/{folderId}", response_model=Folder)
def get_folder(folderId: str, response: Response, folders: Folders, caller: Patient) -> Folder:
    folder = folders.get(caller.patient_id, folderId)
    response.headers["ETag"] = folder.etag
    return Folder.model_validate(folder.public())


@router.patch("/{folderId}", response_model=Folder, dependencies=[Depends(require_json)])
def patch_folder(folderId: str, body: FolderPatch, folders: Folders, caller: Patient,
                 if_match: str | None = Header(None, description="Refuse the change (412) if the folder changed.")
                 ) -> Folder:
    return Folder.model_validate(folders.patch(caller.patient_id, folderId, body, if_match).public())


@router.delete("/{folderId}", status_code=204,
               description="Deletes the folder and its images, and revokes its shares.")
def delete_folder(folderId: str, folders: Folders, caller: Patient) -> Response:
    folders.delete(caller.patient_id, folderId)
    return Response(status_code=204)


@router.put("/{folderId}/reminder", response_model=Reminder, dependencies=[Depends(require_json)],
            description="Remind me to take the next photo every `everyDays` days after my latest one. The "
                        "reminder names no label, condition or body site, and is never sent 21:00-08:00 UK time.")
def put_reminder(folderId: str, body: ReminderIn, folders: Folders, caller: Patient) -> Reminder:
    folder = folders.set_reminder(caller.patient_id, folderId, body)
    return Reminder.model_validate(folder.reminder.public())


@router.delete("/{folderId}/reminder", status_code=204, description="No more reminders for this folder.")
def delete_reminder(folderId: str, folders: Folders, caller: Patient) -> Response:
    folders.remove_reminder(caller.patient_id, folderId)
    return Response(status_code=204)
