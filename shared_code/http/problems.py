"""RFC 9457 problem details: the one shape of every failure this API returns.

Each problem has a stable `type` URI (clients switch on it), a `title` per type, the HTTP `status`
and a `detail` for people. Never a stack trace, a secret, or another person's data: validation
errors name the field and the rule, never the value that was sent (it may be an NHS number)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from shared_code import errors as e
from shared_code.http.allow import allowed_methods
from shared_code.telemetry import metrics

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
# Refusals counted by problem type (telederm.access.denials): unauthenticated, forbidden, not found.
DENIALS = frozenset({401, 403, 404})
PROBLEM_BASE = "https://telederm.dev/problems/"

_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "Validation failed"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}


class Problem(Exception):
    """An answer of the HTTP edge itself (authentication, content type, routing). Below the edge,
    code raises `shared_code.errors`; `PROBLEMS` turns those into problems."""

    def __init__(self, status: int, slug: str | None = None, title: str | None = None, detail: str | None = None,
                 headers: dict[str, str] | None = None, **extensions: Any):
        default_slug, default_title = _TITLES.get(status, ("error", "Error"))
        self.status = status
        self.slug = slug or default_slug
        self.title = title or default_title
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions
        super().__init__(self.slug)


@dataclass(frozen=True)
class ProblemType:
    status: int
    slug: str | None = None   # None: the status's generic type
    title: str | None = None


# Every domain error, and the problem a client sees for it. Clients switch on the type (slug).
PROBLEMS: dict[type[e.DomainError], ProblemType] = {
    e.AccountNotFound: ProblemType(404, "account-not-found", "No account"),
    e.FolderNotFound: ProblemType(404, "folder-not-found", "No such folder"),
    e.ImageNotFound: ProblemType(404, "image-not-found", "No such image"),
    e.ShareNotFound: ProblemType(404, "share-not-found", "No such share"),
    e.GrantNotFound: ProblemType(404, "grant-not-found", "No such share"),
    e.ClinicNotFound: ProblemType(404, "clinic-not-found", "No such clinic"),
    e.ReferralNotFound: ProblemType(404, "referral-not-found", "No such referral"),
    e.LesionNotFound: ProblemType(404, "lesion-not-found", "No such lesion"),
    e.ReferralStateConflict: ProblemType(409, "referral-state-conflict", "Not possible in the referral's state"),
    e.ReferralIncomplete: ProblemType(422, "referral-incomplete", "Referral incomplete"),
    e.ClinicCodeNotFound: ProblemType(404, "clinic-code-not-found", "Unknown clinic code"),
    e.MemberNotFound: ProblemType(404, "member-not-found", "No such member"),
    e.RoleRequired: ProblemType(403, "role-required", "Role required"),
    e.ClinicAdminRequired: ProblemType(403, "clinic-admin-required", "Clinic admin required"),
    e.SubscriptionInactive: ProblemType(403, "subscription-inactive", "Subscription inactive"),
    e.GrantRevoked: ProblemType(403, "grant-revoked", "Share revoked"),
    e.GrantExpired: ProblemType(403, "grant-expired", "Share expired"),
    e.PurposeNotGranted: ProblemType(403, "purpose-not-granted", "Purpose not granted"),
    e.ReferralSideRequired: ProblemType(403, "referral-side-required", "The other side of the referral"),
    e.UploadUrlInvalid: ProblemType(403, "upload-url-invalid", "Upload URL not valid"),
    e.AccountErasing: ProblemType(409, "account-erasing", "Account being erased"),
    e.ImageNotReady: ProblemType(409, "image-not-ready", "Image not ready"),
    e.ConcurrentUpdate: ProblemType(409, "concurrent-update", "Concurrent update"),
    e.EditConflict: ProblemType(409, "conflict"),
    e.ClinicCodeTaken: ProblemType(409, "clinic-code-taken", "Clinic code taken"),
    e.MemberExists: ProblemType(409, "member-exists", "Already a member"),
    e.LastClinicAdmin: ProblemType(409, "last-clinic-admin", "Last clinic admin"),
    e.UploadAlreadyUsed: ProblemType(409, "upload-already-used", "Upload already used"),
    e.StaleVersion: ProblemType(412),
    e.InvalidContinuation: ProblemType(400, "invalid-continuation", "Invalid continuation token"),
    e.InvalidField: ProblemType(422),
    e.UploadRejected: ProblemType(422, "image-rejected", "Image rejected"),
    e.RateLimited: ProblemType(429),
    e.KeyServiceUnavailable: ProblemType(503, "key-service-unavailable", "Key service unavailable"),
    e.UploadsBusy: ProblemType(503, "uploads-busy", "Too many uploads in progress"),
    e.Busy: ProblemType(503),
    e.StorageFull: ProblemType(507, "storage-full", "Storage full"),
    e.StorageUnavailable: ProblemType(503, "storage-unavailable", "Storage unavailable"),
    e.ImageIntegrityError: ProblemType(500, "image-integrity", "Image failed its integrity check"),
    # The families, for a subclass that has no row of its own.
    e.NotFoundError: ProblemType(404),
    e.Forbidden: ProblemType(403),
    e.StateConflict: ProblemType(409),
    e.DomainError: ProblemType(400),
}


def problem_for(error: e.DomainError) -> Problem:
    """The problem for a domain error: its own row, else its nearest ancestor's (a new subclass
    without a row still answers with its family's status, never a 500)."""
    spec = next(PROBLEMS[cls] for cls in type(error).__mro__ if cls in PROBLEMS)
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return Problem(spec.status, spec.slug, spec.title, error.detail, headers=headers, **error.extensions)


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
    if problem.status in DENIALS:
        metrics.access_denied(problem.status, problem.slug)
    body = problem_body(problem.status, problem.slug, problem.title, problem.detail,
                        request.url.path if request else None, **problem.extensions)
    return JSONResponse(body, status_code=problem.status, media_type=MEDIA_TYPE, headers=problem.headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def malformed_json() -> Problem:
    """A body that is not JSON (bad syntax or not UTF-8): one problem type for both."""
    return Problem(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.")


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    if any(e.get("type") == "json_invalid" for e in errors):
        return malformed_json()
    fields = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return Problem(422, detail=detail, errors=fields)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc, request)

    @app.exception_handler(e.DomainError)
    async def _domain(request: Request, exc: e.DomainError):
        return problem_response(problem_for(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found", "Method Not Allowed") else None
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and detail is None:
            detail = "No such resource."
        if exc.status_code == 405:
            # The router names only the first route that matched the path; a path may have several.
            allowed = allowed_methods(request.app, request.url.path) or headers.get("Allow", "").split(", ")
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; this resource allows {headers['Allow']}."
        problem = Problem(exc.status_code, detail=detail, headers=headers)
        return problem_response(problem, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return problem_response(validation_problem(list(exc.errors())), request)

    # An exception no handler knows is answered by middleware.UnhandledErrors (logged once, and the
    # connection stays usable): an `Exception` handler here would make Starlette re-raise it.
