"""HTTP, local mode only: the target of a local upload URL (Azure clients PUT to a blob SAS instead).

Same rules as the SAS: the URL expires, names one blob, takes at most MAX_UPLOAD_BYTES, and is
refused once that upload has been processed. After the PUT the very handler that the Event Grid blob
trigger runs in Azure processes the upload, in-process."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from shared_code.adapters.local.upload_urls import InvalidUploadToken
from shared_code.http.auth import container
from shared_code.problems import Problem
from shared_code.settings import INCOMING_CONTAINER

router = APIRouter(tags=["local development"])


@router.put("/api/local-uploads/{token}", status_code=201,
            description="Local mode: PUT the image bytes to the `uploadUrl` returned by POST /uploads.")
async def put_local_upload(token: str, request: Request) -> Response:
    c = container(request)
    verify = getattr(c.adapters.upload_urls, "verify", None)
    if verify is None:  # upload URLs are blob SAS here: this route is not their target
        raise Problem(404, detail="Local upload URLs are not in use.")
    try:
        blob_name = verify(token, c.clock.now())
    except InvalidUploadToken:
        raise Problem(403, "upload-url-invalid", "Upload URL not valid",
                      "This upload URL is expired or was altered; start a new upload.") from None
    if c.images.upload_target(blob_name) is None:
        raise Problem(409, "upload-already-used", "Upload already used", "This upload has already been received.")
    body = await request.body()
    await run_in_threadpool(c.adapters.blobs.put, INCOMING_CONTAINER, blob_name, [body])
    await run_in_threadpool(c.images.process_incoming, blob_name)
    return Response(status_code=201)
