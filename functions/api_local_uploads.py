"""HTTP, local mode only: the target of a local upload URL (Azure clients PUT to a blob SAS instead).

Same rules as the SAS: the URL expires, names one blob, takes at most MAX_UPLOAD_BYTES, and is
refused once that upload has been processed. After the PUT the very handler that the Event Grid blob
trigger runs in Azure processes the upload, in-process."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from shared_code.errors import UploadUrlInvalid
from shared_code.http.deps import AppAdapters, AppClock, Incoming
from shared_code.http.problems import Problem
from shared_code.ports.upload_urls import InvalidUploadToken

router = APIRouter(tags=["local development"])


@router.put("/api/local-uploads/{token}", status_code=201,
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
    body = await request.body()
    await run_in_threadpool(incoming.receive, blob_name, body)
    return Response(status_code=201)
