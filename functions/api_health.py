"""HTTP: liveness (public) and, for platform_admin, each dependency's state."""
from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from shared_code.api_schemas import Response as ResponseModel
from shared_code.auth.principal import PLATFORM_ADMIN
from shared_code.errors import RoleRequired
from shared_code.http.auth import authenticate
from shared_code.http.deps import get_container
from shared_code.http.openapi import problem
from shared_code.http.problems import Problem
from shared_code.http.routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/health", tags=["operations"])


class Check(ResponseModel):
    status: str = Field(description="`ok`, or `failing (<exception type>)`.")
    ms: float


class Health(ResponseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, Check] | None = Field(None, description="`?deep=1` only: each dependency's state.")


# Liveness is public: no security requirement, and a token is not even looked at without `deep`.
@router.get("", response_model=Health, response_model_exclude_none=True,
            responses={401: problem("`?deep=1` only: no token, or an invalid one."),
                       403: problem("`?deep=1` only: `role-required` (platform_admin)."),
                       503: {"model": Health, "description": "`?deep=1`: a dependency is failing."}},
            description="Public liveness. `?deep=1` needs a platform_admin token and checks every dependency.")
def health(request: Request, deep: bool = Query(False)):
    if not deep:
        return {"status": "ok"}
    p = authenticate(request)
    if p is None:
        raise Problem(401, detail="The deep check needs a platform_admin token.", headers={"WWW-Authenticate": "Bearer"})
    if not p.has(PLATFORM_ADMIN):
        raise RoleRequired(PLATFORM_ADMIN, "The deep check needs the 'platform_admin' role.")
    checks = {}
    # Only the deep check builds the container: liveness answers even before it exists.
    for name, dependency in get_container(request).adapters.health_checks().items():
        started = time.perf_counter()
        try:
            dependency.check()
            state = "ok"
        except Exception as exc:  # noqa: BLE001 - report, never raise, never leak the message
            state = f"failing ({type(exc).__name__})"
        checks[name] = {"status": state, "ms": round((time.perf_counter() - started) * 1000, 1)}
    healthy = all(c["status"] == "ok" for c in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks},
                        status_code=200 if healthy else 503)
