"""HTTP: the patient's folders."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response

from shared_code.http.auth import PatientCaller, container, patient_with_account
from shared_code.http.common import PageParams, require_json
from shared_code.schemas import Folder, FolderIn, FolderPatch, ListOf

router = APIRouter(prefix="/api/folders", tags=["patient: folders"])


@router.post("", status_code=201, response_model=Folder, dependencies=[Depends(require_json)])
def create_folder(body: FolderIn, request: Request, response: Response,
                  caller: PatientCaller = Depends(patient_with_account)) -> Folder:
    folder = container(request).folders.create(caller.patient_id, body)
    response.headers["Location"] = f"/api/folders/{folder.id}"
    return folder


@router.get("", response_model=ListOf[Folder], description="Newest first.")
def list_folders(request: Request, page: PageParams = Depends(),
                 caller: PatientCaller = Depends(patient_with_account)) -> ListOf[Folder]:
    items, continuation = container(request).folders.list(caller.patient_id, page.limit, page.continuation)
    return ListOf[Folder](items=items, continuation=continuation)


@router.get("/{folderId}", response_model=Folder)
def get_folder(folderId: str, request: Request, response: Response,
               caller: PatientCaller = Depends(patient_with_account)) -> Folder:
    stored = container(request).folders.get_doc(caller.patient_id, folderId)
    response.headers["ETag"] = stored.etag
    return Folder.model_validate(stored.doc)


@router.patch("/{folderId}", response_model=Folder, dependencies=[Depends(require_json)])
def patch_folder(folderId: str, body: FolderPatch, request: Request,
                 if_match: str | None = Header(None, description="Refuse the change (412) if the folder changed."),
                 caller: PatientCaller = Depends(patient_with_account)) -> Folder:
    return container(request).folders.patch(caller.patient_id, folderId, body, if_match)


@router.delete("/{folderId}", status_code=204,
               description="Deletes the folder and its images, and revokes its shares.")
def delete_folder(folderId: str, request: Request, caller: PatientCaller = Depends(patient_with_account)) -> Response:
    container(request).folders.delete(caller.patient_id, folderId)
    return Response(status_code=204)
