"""Which methods a path allows, for the `Allow` header of a 405: every route at the path, not only
the first one the router tried. FastAPI keeps an included router as a node of its own, so the
routes are walked through those nodes."""
from __future__ import annotations

from starlette.routing import compile_path


def routes_of(routes, prefix: str = ""):
    """(the full path, the route) of every route under `routes`, through included routers."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            context = getattr(route, "include_context", None)
            yield from routes_of(original.routes, prefix + (getattr(context, "prefix", "") or ""))
        else:
            yield prefix + route.path, route


def allowed_methods(app, path: str) -> list[str]:
    """Every method some route of `app` serves at `path` (the `Allow` of a 405)."""
    table = getattr(app.state, "allowed_methods_table", None)
    if table is None:
        table = [(compile_path(p)[0], r.methods) for p, r in routes_of(app.routes) if getattr(r, "methods", None)]
        app.state.allowed_methods_table = table
    methods = {m for regex, ms in table if regex.match(path) for m in ms}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
