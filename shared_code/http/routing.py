"""How every API route answers before its handler runs, and which methods a path allows.

FastAPI reads and parses a JSON body before it solves a route's dependencies, and it runs a route's
`dependencies=[...]` before the parameters' ones: left alone, a caller without a token who sends
the wrong content type or broken JSON would learn about the body (415/400) before being told to
authenticate (401). `ApiRoute` (every router's `route_class`) fixes the order for routes that take
a JSON body: authentication, then the content type (where the route declares `require_json`), then
the JSON itself (malformed JSON and invalid UTF-8 are the same `malformed-json` problem), then
FastAPI's own validation and the handler. It also tells `@stores_only` handlers (offload.py) whether
the app's stores are in-process, gives a route whose inputs are simple its inputs itself
(resolve.py), and turns a path away without its regular expression when the path cannot match the
route's template (`added_flat`). (`allow.py` answers which methods a path allows.)"""
from __future__ import annotations

import email.message
from typing import Any, Callable

from fastapi import Request
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Match

from shared_code.http.auth import Caller, authenticate
from shared_code.http.common import require_json
from shared_code.http.offload import in_process_stores
from shared_code.http.problems import malformed_json
from shared_code.http.resolve import resolved_here


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
    # The router tries each route in turn until one matches: with 60 routes, a request for one near
    # the end paid for the regular expression and FastAPI's bookkeeping of every route before it.
    _outline: tuple[str, str, int | None] | None = None

    def added_flat(self) -> None:
        """This route is an entry of the app's own route list (functions/http_app.py), so its template
        is the whole path it answers: from now on a path that cannot match it is turned away by three
        string checks, each implied by the template's regular expression (so the answer never changes).
        Not for a route under `include_router`, whose template lacks the router's prefix."""
        self._outline = template_outline(self.path)

    def matches(self, scope):
        # Called for every route before the one that matches: the checks are inlined, not a call each.
        if self._outline is not None and scope["type"] == "http":
            head, tail, slashes = self._outline
            path = scope["path"] if not scope.get("root_path") else get_route_path(scope)
            if not (path.startswith(head) and path.endswith(tail) and (slashes is None or path.count("/") == slashes)):
                return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self):
        handler = resolved_here(self) or self._ordered(super().get_route_handler())

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
        authenticates = any(isinstance(c, Caller) for c in needed)
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


def template_outline(template: str) -> tuple[str, str, int | None]:
    """What every path a Starlette template matches has: the literal text before its first
    parameter, the literal text after its last, and its number of `/` (a parameter matches no `/`;
    unknown, None, when a `:path` parameter may hold some)."""
    head = template.split("{", 1)[0]
    tail = template.rsplit("}", 1)[-1] if "}" in template else template
    return head, tail, None if ":path}" in template else template.count("/")

