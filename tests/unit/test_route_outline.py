"""A route turns away a path by its template's outline (shared_code/http/routing.py `added_flat`)
only where its regular expression would: the route every request reaches is the same with and
without the outlines, for every route's own paths and near misses of them."""
from __future__ import annotations

import re

import pytest
from starlette.routing import Match

from functions.http_app import create_api
from shared_code.http.routing import ApiRoute, template_outline
from shared_code.settings import Settings

_PARAM = re.compile(r"{[^}]+}")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(tmp_path_factory.mktemp("outline")),
                        PUBLIC_BASE_URL="http://testserver")
    return create_api(lambda: None, settings=settings)


def _scope(path: str, method: str, root_path: str = "") -> dict:
    # Behind a root path (a host that mounts the app under one), `path` includes it.
    return {"type": "http", "method": method, "path": root_path + path, "root_path": root_path, "headers": []}


def _reached(routes, path: str, method: str, root_path: str = ""):
    """The route the router dispatches to: the first full match, else the first partial (405)."""
    partial = None
    for route in routes:
        match, _ = route.matches(_scope(path, method, root_path))
        if match == Match.FULL:
            return route, match
        if match == Match.PARTIAL and partial is None:
            partial = (route, match)
    return partial


def _probes(templates: list[str]) -> set[str]:
    """Each template filled in, and its near misses: a trailing slash, one segment more or fewer,
    a parameter holding a slash, a literal of another template in a parameter's place."""
    literals = {segment for t in templates for segment in t.split("/") if segment and "{" not in segment}
    paths: set[str] = {"/", "/api", "/api/", "/api/nothing-here"}
    for template in templates:
        filled = _PARAM.sub("p1", template)
        paths |= {filled, filled + "/", filled + "/extra", filled.rsplit("/", 1)[0], _PARAM.sub("a/b", template)}
        for literal in list(literals)[:20]:
            paths.add(_PARAM.sub(literal, template, count=1))
    return paths


def test_every_request_reaches_the_route_it_reached_without_outlines(app):
    routes = app.router.routes
    api = [r for r in routes if isinstance(r, ApiRoute)]
    assert api and all(r._outline is not None for r in api), "create_api adds every API route flat"
    probes = _probes([r.path for r in api])
    cases = [(p, m, root) for p in probes for m in ("GET", "POST", "DELETE") for root in ("", "/base")]
    with_outlines = {case: _reached(routes, *case) for case in cases}
    outlines = {id(r): r._outline for r in api}
    for r in api:
        r._outline = None
    try:
        without = {case: _reached(routes, *case) for case in cases}
    finally:
        for r in api:
            r._outline = outlines[id(r)]
    assert with_outlines == without
    assert sum(found is not None and found[1] == Match.FULL for found in without.values()) > len(api)


def test_an_outline_turns_away_paths_of_other_routes_without_the_expression(app):
    """Three string checks, not the expression: with an expression that matches nothing, the paths
    of other routes are still answered NONE (and the route's own path would need the expression)."""
    route = next(r for r in app.router.routes
                 if isinstance(r, ApiRoute) and r.path.endswith("/shares/{grantId}/images/{imageId}/content"))
    original = route.path_regex
    route.path_regex = re.compile(r"(?!)")  # would refuse everything: only the outline may answer
    try:
        for path in ("/api/images/i1/content", "/api/clinics/c1/shares/g1", "/api/folders"):
            assert route.matches(_scope(path, "GET")) == (Match.NONE, {})
    finally:
        route.path_regex = original


@pytest.mark.parametrize("template, outline", [
    ("/api/folders", ("/api/folders", "/api/folders", 2)),
    ("/api/images/{imageId}/content", ("/api/images/", "/content", 4)),
    ("/api/clinics/{clinicId}", ("/api/clinics/", "", 3)),
    ("/api/local-uploads/{rest:path}", ("/api/local-uploads/", "", None)),
])
def test_the_outline_of_a_template(template, outline):
    assert template_outline(template) == outline
