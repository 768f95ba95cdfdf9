"""HTTP: the patient's images — both upload paths, listing, metadata, content, the template."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shared_code.api_schemas import ListOf
from shared_code.http.common import Page, image_response, require_json
from shared_code.http.deps import Edits, Folders, Images, Ingest, Patient
from shared_code.http.offload import stores_only
from shared_code.http.openapi import INTEGRITY, KEY_SERVICE, NOT_READY, UPLOAD_UNAVAILABLE, problem
from shared_code.http.routing import ApiRoute
from shared_code.http.uploads import IMAGE_TYPES, direct_upload
from shared_code.images.contract import ImageStream
from shared_code.images.records import ImageRecord, ImageStatus
from shared_code.images.schemas import Image, ImagePatch, Template, TemplateIn, UploadStart, UploadTicket, View

router = APIRouter(route_class=ApiRoute, tags=["patient: images"])


def _image(image: ImageRecord) -> Image:
    return Image.model_validate(image.public())


def _template(image: ImageRecord | None) -> Template:
    return Template(imageId=image.id if image else None, image=_image(image) if image else None)


@router.post("/api/folders/{folderId}/images", status_code=201, response_model=Image,
             responses={422: problem("`image-rejected` (`reason`), or `validation-failed` (`errors`).",
                                     "ImageRejectedProblem"), **UPLOAD_UNAVAILABLE},
             openapi_extra={"requestBody": {"required": True, "content": {
                 t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES}}},
             description="Direct upload: the image bytes as the body. `takenAt`, `note`, `view` as query "
                         "parameters or as headers of the same names (a note in a header percent-encoded).")
async def upload_image(folderId: str, request: Request, response: Response, ingest: Ingest, caller: Patient,
                       takenAt: str | None = Query(None), note: str | None = Query(None, max_length=1000),
                       view: View | None = Query(None)) -> Image:
    async with direct_upload(request, takenAt, note, view) as (meta, body):
        # Decoding and encryption are CPU work: keep the event loop free.
        image = await run_in_threadpool(ingest.upload, caller.patient_id, folderId, body.data,
                                        taken_at=meta.takenAt, note=meta.note, view=meta.view)
    response.headers["Location"] = f"/api/images/{image.id}"
    return _image(image)


@router.post("/api/folders/{folderId}/uploads", status_code=201, response_model=UploadTicket,
             description="Start a direct-to-storage upload: PUT the bytes to `uploadUrl` before `expiresAt`. "
                         "The image is `pending`, then `ready` or `rejected` (with `rejectedReason`).")
def start_upload(folderId: str, request: Request, ingest: Ingest, caller: Patient,
                 body: UploadStart | None = None) -> UploadTicket:
    if request.headers.get("content-length", "0") != "0":
        require_json(request)
    body = body or UploadStart()
    ticket = ingest.start_upload(caller.patient_id, folderId, taken_at=body.takenAt, note=body.note, view=body.view)
    return UploadTicket.model_validate(ticket)


@router.get("/api/folders/{folderId}/images", response_model=ListOf[Image],
            description="The folder's images in `takenAt` order (upload time where none is known).")
@stores_only
def list_images(folderId: str, folders: Folders, images: Images, caller: Patient, page: Page,
                status: str | None = Query(None, pattern="^(pending|ready|rejected)$")) -> ListOf[Image]:
    folders.get(caller.patient_id, folderId)
    items, continuation = images.list_folder(caller.patient_id, folderId, status=ImageStatus(status) if status else None,
                                             limit=page.limit, continuation=page.continuation)
    return ListOf[Image].page((i.public() for i in items), continuation)


@router.get("/api/images/{imageId}", response_model=Image)
@stores_only
def get_image(imageId: str, images: Images, caller: Patient) -> Image:
    return _image(images.get(caller.patient_id, imageId))


@router.patch("/api/images/{imageId}", response_model=Image, dependencies=[Depends(require_json)])
def patch_image(imageId: str, body: ImagePatch, edits: Edits, caller: Patient) -> Image:
    return _image(edits.patch(caller.patient_id, imageId, body))


@router.delete("/api/images/{imageId}", status_code=204,
               description="Destroys the image's key first (unreadable at once), then its stored objects.")
def delete_image(imageId: str, edits: Edits, caller: Patient) -> Response:
    edits.delete(caller.patient_id, imageId)
    return Response(status_code=204)


_BINARY = {200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "The decrypted image."},
           **NOT_READY, **KEY_SERVICE, **INTEGRITY}


@router.get("/api/images/{imageId}/content", response_class=StreamingResponse, responses=_BINARY)
@stores_only
def image_content(imageId: str, images: Images, caller: Patient):
    image = images.get(caller.patient_id, imageId)
    extension = "png" if image.content_type == "image/png" else "jpg"
    return _content(images.open(caller.patient_id, image, "original"), f"{imageId}.{extension}")


@router.get("/api/images/{imageId}/thumbnail", response_class=StreamingResponse, responses=_BINARY)
@stores_only
def image_thumbnail(imageId: str, images: Images, caller: Patient):
    image = images.get(caller.patient_id, imageId)
    return _content(images.open(caller.patient_id, image, "thumbnail"), f"{imageId}-thumbnail.jpg")


def _content(stream: ImageStream, filename: str) -> Response:
    return image_response(stream, **{"Content-Disposition": f'inline; filename="{filename}"'})


@router.get("/api/folders/{folderId}/template", response_model=Template,
            description="The overlay template: by default the first image uploaded; `imageId` null for none.")
def get_template(folderId: str, edits: Edits, caller: Patient) -> Template:
    return _template(edits.template(caller.patient_id, folderId))


@router.put("/api/folders/{folderId}/template", response_model=Template, dependencies=[Depends(require_json)],
            responses=NOT_READY)
def put_template(folderId: str, body: TemplateIn, edits: Edits, caller: Patient) -> Template:
    return _template(edits.set_template(caller.patient_id, folderId, body.imageId))
