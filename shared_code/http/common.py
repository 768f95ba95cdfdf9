"""Small pieces every router uses: JSON-only bodies (415 otherwise), paging parameters, decrypted
image bytes as a response. (An upload's bytes and fields: uploads.py.)"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from shared_code.http.problems import Problem
from shared_code.images.contract import ImageStream
from shared_code.paging import DEFAULT_LIMIT, MAX_LIMIT

JSON_TYPES = ("application/json", "application/merge-patch+json")


def require_json(request: Request) -> None:
    """Bodies are JSON: anything else is 415 before the body is looked at."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        raise Problem(415, detail="Send the body as application/json.")


_LIMIT = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (1-200).")
_CONTINUATION = Query(None, max_length=4096,
                      description="Opaque: the `continuation` of the previous page, passed back unchanged. Any other "
                                  "value is 400 invalid-continuation.")


class PageParams:
    def __init__(self, limit: int = _LIMIT, continuation: str | None = _CONTINUATION):
        self.limit = limit
        self.continuation = continuation


async def page_params(limit: int = _LIMIT, continuation: str | None = _CONTINUATION) -> PageParams:
    return PageParams(limit, continuation)


# `page: Page` in a list route. (`page: PageParams = Depends()` works too, but FastAPI builds a class
# dependency in the thread pool: a hop there and back for two query parameters.)
Page = Annotated[PageParams, Depends(page_params)]


def image_response(stream: ImageStream, **headers: str) -> Response:
    """Decrypted bytes, authenticated before the first byte; never cached by anything in between. An
    image decrypted in one pass is already in memory: one body, sent from the event loop (streaming
    it would take the thread pool twice for one chunk and its end)."""
    headers = {"Content-Length": str(stream.length), "Cache-Control": "private, no-store",
               "X-Content-Type-Options": "nosniff", **headers}
    if stream.body is not None:
        return Response(stream.body, media_type=stream.content_type, headers=headers)
    return StreamingResponse(stream.chunks, media_type=stream.content_type, headers=headers)
