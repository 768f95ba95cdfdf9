"""HTTP: a referral's photographs (../shared/API.md "Referrals and triage"): the referrer's direct
upload per lesion with its `view`, and either side's view of an image or its thumbnail (audited).

The upload takes its fields exactly as a patient's direct upload does (shared_code/http/uploads.py
`direct_upload`), with `view` required; it answers 201, so the Idempotency-Key middleware covers a
retried upload. Every route goes through `Access` (shared_code/access.py): the upload is the
referring side's (403 `referral-side-required` for the service), a view either side's, a third
clinic 404."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shared_code.access import Side
from shared_code.http.common import image_response
from shared_code.http.deps import Access, Clinician, ReferralImagesService
from shared_code.http.openapi import INTEGRITY, KEY_SERVICE, UPLOAD_UNAVAILABLE, problem
from shared_code.http.offload import stores_only
from shared_code.http.problems import validation_problem
from shared_code.http.routing import ApiRoute
from shared_code.http.uploads import IMAGE_TYPES, direct_upload
from shared_code.images.contract import Variant
from shared_code.images.schemas import ReferralImage, View

router = APIRouter(route_class=ApiRoute, prefix="/api/clinics/{clinicId}/referrals/{referralId}",
                   tags=["clinician: referrals"])

_NOT_FOUND = problem("`clinic-not-found` (not a member), `referral-not-found` (not this clinic's referral), "
                     "`lesion-not-found`, `image-not-found`.")
_SIDE = problem("`referral-side-required`: the step is the other clinic's; `subscription-inactive`.")


@router.post("/lesions/{lesionId}/images", status_code=201, response_model=ReferralImage,
             responses={403: _SIDE, 404: _NOT_FOUND,
                        409: problem("`referral-state-conflict`: images are added only to a draft, or while "
                                     "information is requested (the state is named in `status`)."),
                        422: problem("`image-rejected` (`reason`), or `validation-failed` (`errors`: `view` is "
                                     "required).", "ImageRejectedProblem"), **UPLOAD_UNAVAILABLE},
             openapi_extra={"requestBody": {"required": True, "content": {
                 t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES}}},
             description="Referring member: a photograph of the lesion, the image bytes as the body. `view` "
                         "(required), `takenAt`, `note` as query parameters or headers, as for a patient's direct "
                         "upload. The answer carries `quality` (advice: blurred, too dark, overexposed, too small), "
                         "for the referrer to retake before submitting.")
async def upload_referral_image(clinicId: str, referralId: str, lesionId: str, request: Request, response: Response,
                                access: Access, images: ReferralImagesService, p: Clinician,
                                takenAt: str | None = Query(None), note: str | None = Query(None, max_length=1000),
                                view: View | None = Query(None, description="Required (or the `view` header).")
                                ) -> ReferralImage:
    caller = await run_in_threadpool(access.referral, p, clinicId, referralId, Side.REFERRER)
    async with direct_upload(request, takenAt, note, view) as (meta, body):
        if meta.view is None:
            raise validation_problem([{"loc": ("query", "view"), "msg": "Field required", "type": "missing"}])
        # Decoding and encryption are CPU work: keep the event loop free.
        image = await run_in_threadpool(images.upload, caller, lesionId, body.data, taken_at=meta.takenAt,
                                        note=meta.note, view=meta.view)
    response.headers["Location"] = f"/api/clinics/{clinicId}/referrals/{referralId}/images/{image.id}/content"
    return ReferralImage.model_validate(image.public())


_BINARY = {404: _NOT_FOUND, **KEY_SERVICE, **INTEGRITY}


def _view(clinicId: str, referralId: str, imageId: str, access: Access, images: ReferralImagesService,
          p: Clinician, variant: Variant) -> StreamingResponse:
    caller = access.referral(p, clinicId, referralId, None)
    stream = images.view(caller, imageId, variant)
    extension = "png" if stream.content_type == "image/png" else "jpg"
    suffix = "-thumbnail" if variant == "thumbnail" else ""
    return image_response(stream, filename=f"{imageId}{suffix}.{extension}")


@router.get("/images/{imageId}/content", response_class=StreamingResponse,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "The decrypted image."},
                       **_BINARY},
            description="Either side: the decrypted photograph (audited in the referral's access log).")
@stores_only
def referral_image_content(clinicId: str, referralId: str, imageId: str, access: Access,
                           images: ReferralImagesService, p: Clinician) -> StreamingResponse:
    return _view(clinicId, referralId, imageId, access, images, p, "original")


@router.get("/images/{imageId}/thumbnail", response_class=StreamingResponse,
            responses={200: {"content": {"image/jpeg": {}}, "description": "A JPEG, longest side at most 512."},
                       **_BINARY},
            description="Either side: the photograph's thumbnail (audited in the referral's access log).")
@stores_only
def referral_image_thumbnail(clinicId: str, referralId: str, imageId: str, access: Access,
                             images: ReferralImagesService, p: Clinician) -> StreamingResponse:
    return _view(clinicId, referralId, imageId, access, images, p, "thumbnail")
