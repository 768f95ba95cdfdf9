"""RFC 9457 problem details: the one shape of every failure this API returns.

Each problem has a stable `type` URI (clients switch on it), a `title` per type, the HTTP `status`
and a `detail` for people. Never a stack trace, a secret, or another person's data: validation
errors name the field and the rule, never the value that was sent (it may be an NHS number)."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from shared_code.problems import PROBLEM_BASE, Problem

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


def problem_body(status: int, slug: str, title: str, detail: str | None, instance: str | None = None,
                 **extensions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    body = problem_body(problem.status, problem.slug, problem.title, problem.detail,
                        request.url.path if request else None, **problem.extensions)
    return JSONResponse(body, status_code=problem.status, media_type=MEDIA_TYPE, headers=problem.headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    if any(e.get("type") == "json_invalid" for e in errors):
        return Problem(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.")
    fields = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return Problem(422, detail=detail, errors=fields)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found", "Method Not Allowed") else None
        if exc.status_code == 404 and detail is None:
            detail = "No such resource."
        problem = Problem(exc.status_code, detail=detail, headers=dict(exc.headers or {}))
        return problem_response(problem, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return problem_response(validation_problem(list(exc.errors())), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # The log keeps the exception type and where; the client gets nothing of it.
        log.error("unhandled error", exc_info=exc)
        return problem_response(Problem(500, detail="Something went wrong. Quote the request id if you report it."),
                                request)
