"""The OpenAPI document tells every answer an operation can give, in one place.

FastAPI documents an operation's success and, wrongly for this service, a 422 in its own
`HTTPValidationError` shape. `install(app)` post-processes the generated document: every failure
is `application/problem+json` (RFC 9457: `Problem`; `ValidationProblem` adds `errors`,
`ImageRejectedProblem` adds `reason`), and each operation lists the statuses that follow from what
the route depends on:

| the route depends on                  | statuses                                   |
|---------------------------------------|--------------------------------------------|
| a caller (`Caller`: a bearer token)   | 401                                        |
| a caller with a role (patient, ...)   | 403 `role-required`                        |
| a patient caller with an account      | 404 `account-not-found`                    |
| the clinicians' access gate (`Access`)| 403 (grant, subscription, purpose), 404    |
| a path id                             | 404                                        |
| a JSON body                           | 400 `malformed-json`, 413, 415, 422        |
| an image body                         | 413, 415, 422                              |
| query or header parameters            | 422                                        |
| paging (`continuation`)               | 400 `invalid-continuation`                 |
| `If-Match`                            | 412                                        |

A route adds only what is its own with `responses={status: problem("...")}` (409 image-not-ready,
429 on clinic-code routes, 503 key-service-unavailable, ...)."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from shared_code.http import deps
from shared_code.http.allow import routes_of
from shared_code.http.auth import Caller
from shared_code.http.common import PageParams, page_params
from shared_code.http.problems import MEDIA_TYPE, PROBLEM_BASE
from shared_code.http.routing import calls

_REF = "#/components/schemas/"

SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "type": "object",
        "title": "Problem",
        "description": "RFC 9457 problem details. Clients switch on `type`; `detail` is for people.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "format": "uri", "description": f"Stable, e.g. {PROBLEM_BASE}not-found."},
            "title": {"type": "string", "description": "The same for every problem of this type."},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "What went wrong this time, for people."},
            "instance": {"type": "string", "description": "The path that was requested."},
        },
    },
    "FieldError": {
        "type": "object",
        "title": "FieldError",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "Dotted path of the field, e.g. `bodySite.code`."},
            "message": {"type": "string", "description": "The rule broken (never the value sent)."},
        },
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "description": "422 `validation-failed`: `errors` names each field and the rule it broke.",
        "allOf": [{"$ref": _REF + "Problem"}, {
            "type": "object", "required": ["errors"],
            "properties": {"errors": {"type": "array", "items": {"$ref": _REF + "FieldError"}}}}],
    },
    "ImageRejectedProblem": {
        "title": "ImageRejectedProblem",
        "description": "422 `image-rejected`: `reason` is the stable code the app acts on.",
        "allOf": [{"$ref": _REF + "Problem"}, {
            "type": "object", "required": ["reason"],
            "properties": {"reason": {"type": "string", "enum": [
                "empty", "too_large", "unsupported_type", "corrupt", "truncated", "too_many_pixels"]}}}],
    },
}


def problem(description: str, schema: str = "Problem") -> dict[str, Any]:
    """A route's own failure for `responses=`: `{409: problem("image-not-ready: ...")}`."""
    return {"description": description, "content": {MEDIA_TYPE: {"schema": {"$ref": _REF + schema}}}}


_ACCESS = deps.Access.__metadata__[0].dependency


def derived(route: APIRoute, operation: dict[str, Any]) -> dict[int, str]:
    """The failures that follow from what `route` depends on (see the module's table)."""
    needed = calls(route)
    callers = [c for c in needed if isinstance(c, Caller)]
    params = {(p.get("in"), p.get("name", "").lower()) for p in operation.get("parameters", [])}
    out: dict[int, str] = {}
    if callers:
        out[401] = "`unauthenticated`: no bearer token; `invalid-token`: a token that is not valid."
    if any(c.role for c in callers):
        out[403] = "`role-required`: the token lacks the role this operation needs."
    not_found = [f"`{name}`" for kind, name in sorted(params) if kind == "path"]
    if not_found:
        out[404] = "Nothing the caller may see exists at " + ", ".join(not_found) + " (never 403 for another's)."
    if any(c.with_account for c in callers):
        out[404] = (out.get(404, "") + " `account-not-found`: create the account first (PUT /api/me).").strip()
    if _ACCESS in needed:
        out[403] = ("`role-required`, `clinic-admin-required`, `subscription-inactive`, `grant-revoked`, "
                    "`grant-expired`, `purpose-not-granted`: a member of the clinic may not do this (now).")
        out[404] = ("`clinic-not-found` (not a member), `grant-not-found` (another clinic's), `image-not-found` "
                    "(not a ready image of the shared folder), ...")
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        out[413] = "`payload-too-large`: the body is over the limit."
        out[415] = "`unsupported-media-type`: send one of the content types documented for the body."
        if any(t.endswith("json") for t in body):
            out[400] = "`malformed-json`: the body is not JSON (bad syntax or not UTF-8)."
    if body or any(kind in ("query", "header") for kind, _ in params):
        out[422] = "`validation-failed`: a field breaks a rule; `errors` names each."
    if PageParams in needed or page_params in needed:
        out[400] = "`invalid-continuation`: pass back the `continuation` of the previous page unchanged."
    if ("header", "if-match") in params:
        out[412] = "`precondition-failed`: the resource changed since the ETag in `If-Match`."
    return out


def _problem_content(status: int, given: dict[str, Any]) -> dict[str, Any]:
    if status != 422:
        return {MEDIA_TYPE: {"schema": {"$ref": _REF + "Problem"}}}
    schemas = [{"$ref": _REF + "ValidationProblem"}]
    declared = given.get(MEDIA_TYPE, {}).get("schema")
    if declared and declared not in schemas:
        schemas.append(declared)
    return {MEDIA_TYPE: {"schema": schemas[0] if len(schemas) == 1 else {"anyOf": schemas}}}


def describe(doc: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components.update(SCHEMAS)
    for path, route in routes_of(app.routes):
        if not (isinstance(route, APIRoute) and route.include_in_schema):
            continue
        for method in route.methods:
            operation = doc["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in derived(route, operation).items():
                responses.setdefault(str(status), {"description": description})
            for code, response in responses.items():
                if code[0] in "45" and not _is_plain_json_failure(code, response):
                    response["content"] = _problem_content(int(code), response.get("content", {}))
    return doc


def _is_plain_json_failure(code: str, response: dict[str, Any]) -> bool:
    """A failure documented with a JSON body of its own (the deep health check's 503)."""
    content = response.get("content", {})
    return code != "422" and "application/json" in content and MEDIA_TYPE not in content


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(generate(), app)
        return app.openapi_schema

    app.openapi = openapi


# Failures several routes share, for their `responses=`.
KEY_SERVICE = {503: problem("`key-service-unavailable`: the key service did not answer; retry after Retry-After.")}
# The 503s of a route that processes an upload's bytes (shared_code/http/uploads.py `admitted_body`).
UPLOAD_UNAVAILABLE = {503: problem("`key-service-unavailable`: the key service did not answer; or `uploads-busy`: "
                                   "this instance is processing as many uploads as it may and nothing was stored. "
                                   "Retry after Retry-After.")}
NOT_READY = {409: problem("`image-not-ready`: the image is still `pending` or was `rejected`.")}
INTEGRITY = {500: problem("`image-integrity`: the stored image failed its integrity check (operations are alerted).")}
