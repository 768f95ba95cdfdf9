"""How every API route answers before its handler runs, and which methods a path allows.

FastAPI reads and parses a JSON body before it solves a route's dependencies, and it runs a route's
`dependencies=[...]` before the parameters' ones: left alone, a caller without a token who sends
the wrong content type or broken JSON would learn about the body (415/400) before being told to
authenticate (401). `ApiRoute` (every router's `route_class`) fixes the order for routes that take
a JSON body: authentication, then the content type (where the route declares `require_json`), then
the JSON itself (malformed JSON and invalid UTF-8 are the same `malformed-json` problem), then
FastAPI's own validation and the handler. It also tells `@stores_only` handlers (offload.py) whether
the app's stores are in-process. (`allow.py` answers which methods a path allows.)"""
from __future__ import annotations

import email.message
from typing import Any, Callable

from fastapi import Request
from fastapi.routing import APIRoute

from shared_code.http.auth import authenticate, principal
from shared_code.http.common import require_json
from shared_code.http.offload import in_process_stores
from shared_code.http.problems import malformed_json


def _json_content(request: Request) -> bool:
    """FastAPI's rule for a body it parses as JSON: application/json or +json (strict: a body
    without a content type is not parsed)."""
    value = request.headers.get("content-type")
    if not value:
        return False
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def calls(route: APIRoute) -> set[Callable[..., Any]]:
    """Every dependency a route runs (its own and the nested ones): what it checks, by function."""
    found: set[Callable[..., Any]] = set()
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call is not None:
            found.add(dependant.call)
        pending.extend(dependant.dependencies)
    return found


class ApiRoute(APIRoute):
    def get_route_handler(self):
        handler = self._ordered(super().get_route_handler())

        async def with_stores(request: Request):
            # Which kind of stores this app has, for `@stores_only` (offload.py) in this request.
            token = in_process_stores.set(request.app.state.settings.is_local)
            try:
                return await handler(request)
            finally:
                in_process_stores.reset(token)

        return with_stores

    def _ordered(self, handler):
        if self.body_field is None:  # nothing is parsed before the dependencies: their order holds
            return handler
        needed = calls(self)
        authenticates = principal in needed
        checks_type = require_json in needed
        required = self.body_field.field_info.is_required()

        async def ordered(request: Request):
            if authenticates:
                authenticate(request, required=True)
            has_body = required or request.headers.get("content-length", "0") != "0" or (
                "transfer-encoding" in request.headers)
            if checks_type and has_body:
                require_json(request)
            if has_body and _json_content(request) and await request.body():
                try:
                    await request.json()  # Starlette keeps the parsed value: FastAPI does not parse again
                except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
                    raise malformed_json() from None
            return await handler(request)

        return ordered
