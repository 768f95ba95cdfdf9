"""HTTP, local mode only: the target of a local upload URL (Azure clients PUT to a blob SAS instead).

Same rules as the SAS: the URL expires, names one blob, takes at most MAX_UPLOAD_BYTES, and is
refused once that upload has been processed. After the PUT the very handler that the Event Grid blob
trigger runs in Azure processes the upload, in-process, holding one of the instance's upload slots
(shared_code/images/admission.py) from before the body is read: 503 `uploads-busy` when none frees
up in time, the body unread and nothing stored (the URL stays good until it expires)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from shared_code.errors import UploadUrlInvalid
from shared_code.http.deps import AppAdapters, AppClock, Incoming
from shared_code.http.openapi import problem
from shared_code.http.problems import Problem
from shared_code.http.routing import ApiRoute
from shared_code.http.uploads import admitted_body
from shared_code.ports.upload_urls import InvalidUploadToken

router = APIRouter(route_class=ApiRoute, tags=["local development"])


@router.put("/api/local-uploads/{token}", status_code=201, response_class=Response,
            responses={201: {"description": "Received, with no body (as a blob PUT to a SAS URL answers); the "
                                            "image then shows `ready` or `rejected`."},
                       403: problem("`upload-url-invalid`: the URL is expired, altered or not this service's."),
                       409: problem("`upload-already-used`: this upload has been received already."),
                       413: problem("`payload-too-large`: over `maxBytes` of the ticket."),
                       503: problem("`uploads-busy`: this instance is processing as many uploads as it may; "
                                    "nothing was stored. PUT again after Retry-After.")},
            description="Local mode: PUT the image bytes to the `uploadUrl` returned by POST /uploads.")
async def put_local_upload(token: str, request: Request, adapters: AppAdapters, clock: AppClock,
                           incoming: Incoming) -> Response:
    verifier = adapters.upload_url_verifier
    if verifier is None:  # upload URLs are blob SAS here: this route is not their target
        raise Problem(404, detail="Local upload URLs are not in use.")
    try:
        blob_name = verifier.verify(token, clock.now())
    except InvalidUploadToken:
        raise UploadUrlInvalid() from None
    incoming.expect(blob_name)
    async with admitted_body(request) as body:
        await run_in_threadpool(incoming.receive, blob_name, body.data)
    return Response(status_code=201)
