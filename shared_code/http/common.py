"""Small pieces every router uses: JSON-only bodies (415 otherwise), paging parameters."""
from __future__ import annotations

from fastapi import Query, Request

from shared_code.http.problems import Problem
from shared_code.paging import DEFAULT_LIMIT, MAX_LIMIT

JSON_TYPES = ("application/json", "application/merge-patch+json")


def require_json(request: Request) -> None:
    """Bodies are JSON: anything else is 415 before the body is looked at."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        raise Problem(415, detail="Send the body as application/json.")


class PageParams:
    def __init__(self, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (1-200)."),
                 continuation: str | None = Query(
                     None, max_length=4096,
                     description="Opaque: the `continuation` of the previous page, passed back unchanged. Any other "
                                 "value is 400 invalid-continuation.")):
        self.limit = limit
        self.continuation = continuation
