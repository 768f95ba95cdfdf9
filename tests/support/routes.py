"""The app's routes as (path, method) pairs. FastAPI 0.16x keeps included routers as nodes
(`_IncludedRouter`) instead of flattening them into `app.routes`, so walk them."""
from __future__ import annotations

from fastapi.routing import APIRoute


def api_routes(app, *, schema_only: bool = True) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(routes, prefix: str = "") -> None:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                context = getattr(route, "include_context", None)
                walk(original.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif isinstance(route, APIRoute) and (route.include_in_schema or not schema_only):
                found.update((prefix + route.path, m) for m in route.methods if m != "HEAD")

    walk(app.routes)
    return found
