"""Assembles the HTTP API (FastAPI) from the routers in this package.

Cheap at import and at `create_api()`: settings are read from the environment (no network) and the
container of adapters is built on the first request. If the settings are invalid (for example the
local issuer asked for in azure mode), the app still imports and answers every request with a 503
problem, and the reason is logged: in Azure an import error would mean zero functions and no
visible error."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import ValidationError

from shared_code.lazy import Lazy
from shared_code.http import problems
from shared_code.http.idempotency import IdempotencyMiddleware
from shared_code.http.middleware import RequestContextMiddleware
from shared_code.http.unhandled import UnhandledErrors
from shared_code.observability import configure_logging
from shared_code.settings import Settings

if TYPE_CHECKING:
    from shared_code.container import Container

log = logging.getLogger(__name__)

DESCRIPTION = """Backend of a patient-led teledermatology service. Patients keep dated photographs of a
skin problem in folders and share a folder with a clinic for a time and purposes they choose.
Every error is RFC 9457 `application/problem+json`. Lists are paged with `limit` and `continuation`."""
# FastAPI's own spans record the raw path and query (ids, notes, codes) and its logs exception texts:
# the request's span is RequestContextMiddleware's, by route template. Its metrics would repeat what
# that span says (Application Insights counts and times requests from it), at a cost on every request.
TELEMETRY = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_api(container_factory: Callable[[], "Container"] | None = None, settings: Settings | None = None) -> FastAPI:
    try:
        settings = settings or Settings()
    except ValidationError as exc:
        return _misconfigured(exc)
    configure_logging(settings.log_level, stream=None if settings.is_local else False)

    app = FastAPI(title="Teledermatology API", version="1.0.0", description=DESCRIPTION,
                  openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None, telemetry=TELEMETRY)
    app.state.settings = settings
    if container_factory is None:
        from functions import runtime

        container_factory = runtime.get_container
    app.state.container = Lazy(container_factory)
    problems.install(app)
    from shared_code.http import openapi  # here, like the routers: it imports the services

    openapi.install(app)

    from functions import api_dev, api_folders, api_health, api_images, api_local_uploads, api_me

    for router in (api_health.router, api_me.router, api_folders.router, api_images.router):
        _add_routes(app, router)
    if settings.is_local:
        _add_routes(app, api_local_uploads.router)
    if settings.local_issuer:
        _add_routes(app, api_dev.router)

    from functions import api_admin, api_clinics, api_comments, api_shares  # sharing with clinics

    for sharing_router in (api_admin.router, api_clinics.router, api_shares.router, api_comments.router):
        _add_routes(app, sharing_router)

    from functions import api_referrals  # the GP-referred pathway

    _add_routes(app, api_referrals.router)
    from functions import api_referral_export  # the referral for the EPR (FHIR)

    _add_routes(app, api_referral_export.router)
    from functions import api_referral_images  # a referral's images

    _add_routes(app, api_referral_images.router)

    app.add_middleware(UnhandledErrors)  # innermost: its 500 still gets CORS headers and a request id
    # The clinician portal is a browser app on its own origin; only that origin may call from a page.
    app.add_middleware(CORSMiddleware, allow_origins=[settings.portal_base_url.rstrip("/")], allow_credentials=False,
                       allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                       allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Request-ID"],
                       expose_headers=["ETag", "Idempotent-Replayed", "Location", "Retry-After", "X-Request-ID"],
                       max_age=600)
    # Inside the size limits (a body over its limit never reaches it), outside the routes it replays.
    app.add_middleware(IdempotencyMiddleware, identify=lambda token: app.state.container.get().tokens.validate(token),
                       records=lambda: app.state.container.get().idempotency)
    app.add_middleware(RequestContextMiddleware, limit_for=_body_limit(settings))
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """`router`'s routes, each an entry of the app's own route list. `include_router` keeps a router
    as one entry that is matched, then matched again to dispatch, with bookkeeping of the include on
    every candidate route: in `make bench`'s profile, a fifth of a clinician's image view. Our routers
    carry their prefix, tags and route class themselves, so the include adds nothing to them (the
    OpenAPI document is the same); what is lost is `app.dependency_overrides`, which nothing uses:
    tests build the app on a container of their own."""
    from shared_code.http.routing import ApiRoute  # here, not at import: it imports the image records (Pillow)

    for route in router.routes:
        if isinstance(route, ApiRoute):
            route.added_flat()
    app.router.routes.extend(router.routes)


def _body_limit(settings: Settings):
    def limit_for(path: str, method: str) -> int:
        # Image bytes only on the direct-upload route and the local upload URL; JSON elsewhere.
        if method in ("POST", "PUT") and (path.endswith("/images") or path.startswith("/api/local-uploads/")):
            return settings.max_upload_bytes
        return settings.max_json_bytes

    return limit_for


def _misconfigured(error: ValidationError) -> FastAPI:
    configure_logging("INFO", stream=False)
    reasons = "; ".join(str(e.get("msg")) for e in error.errors())
    log.critical("invalid settings, serving 503 only: %s", reasons)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, telemetry=TELEMETRY)
    problems.install(app)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unavailable(path: str):
        raise problems.Problem(503, "service-misconfigured", "Service misconfigured",
                               "The service's settings are invalid; operations have been told in the log.")

    return app
