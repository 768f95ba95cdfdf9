"""The inputs of a route whose inputs are simple, given without FastAPI's general solver.

FastAPI's solver spends about 20 µs of bookkeeping per dependency per request, and its request
handler as much again (`make bench`'s profile: more than the image views' own work of reading the
caller's account and the record). For a route whose every input is one of two kinds, what the
solver would do is plain, and `resolved_here` does it directly:

    a path parameter that is a plain `str`      the path's text (FastAPI's check of a str passes any)
    an async dependency of the request alone    awaited once per request, in declaration order
    (the caller, a service of the container)    (FastAPI's order; its per-request cache, by call)

and the endpoint returns a `Response` (nothing to validate or serialise). Anything else (a query,
header, cookie or body parameter, a nested or sync dependency, a response model) is left to FastAPI:
`resolved_here` returns None. Exceptions travel as they would from FastAPI's handler, to the app's
exception handlers. The image views are such routes."""
from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response]]
_SPECIAL = ("websocket_param_name", "http_connection_param_name", "response_param_name",
            "background_tasks_param_name", "security_scopes_param_name")


def resolved_here(route: APIRoute) -> Handler | None:
    endpoint = route.dependant
    if (route.response_model is not None or route.body_field is not None or not _is_async(endpoint.call)
            or _has_params(endpoint, path=False) or any(getattr(endpoint, name) for name in _SPECIAL)):
        return None
    if not all(_plain_str(field) for field in endpoint.path_params):
        return None
    if not all(_of_the_request_alone(sub) for sub in endpoint.dependencies):
        return None
    path_names = [(field.name, field.alias) for field in endpoint.path_params]
    provided = [(sub.name, sub.call) for sub in endpoint.dependencies]
    request_name = endpoint.request_param_name
    call = endpoint.call

    async def handler(request: Request) -> Response:
        path_params = request.path_params
        values: dict[str, Any] = {name: path_params[alias] for name, alias in path_names}
        given: dict[Any, Any] = {}
        for name, provider in provided:
            if provider not in given:
                given[provider] = await provider(request)
            if name is not None:  # a route's `dependencies=[...]` runs for its checks alone
                values[name] = given[provider]
        if request_name is not None:
            values[request_name] = request
        response = await call(**values)
        if not isinstance(response, Response):
            raise TypeError(f"{route.path}: the endpoint must return a Response")
        return response

    return handler


def _has_params(dependant: Dependant, *, path: bool) -> bool:
    return bool((path and dependant.path_params) or dependant.query_params or dependant.header_params
                or dependant.cookie_params or dependant.body_params)


def _plain_str(field: Any) -> bool:
    info = field.field_info
    return info.annotation is str and not info.metadata


def _of_the_request_alone(sub: Dependant) -> bool:
    return (sub.request_param_name is not None and sub.use_cache and not sub.dependencies
            and not _has_params(sub, path=True) and not any(getattr(sub, name) for name in _SPECIAL)
            and not sub.own_oauth_scopes and _is_async(sub.call))


def _is_async(call: Any) -> bool:
    """A coroutine function, or an object whose `__call__` is one (FastAPI's own test); never a
    generator dependency (its clean-up is FastAPI's)."""
    if call is None or inspect.isasyncgenfunction(call) or inspect.isgeneratorfunction(call):
        return False
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None))
