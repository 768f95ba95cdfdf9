"""HTTP: liveness (public) and, for platform_admin, each dependency's state."""
from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from shared_code.auth.principal import PLATFORM_ADMIN, Principal
from shared_code.errors import RoleRequired
from shared_code.http.auth import optional_principal
from shared_code.http.deps import get_container
from shared_code.http.problems import Problem

router = APIRouter(prefix="/api/health", tags=["operations"])


@router.get("", description="Public liveness. `?deep=1` (platform_admin) checks every dependency.")
def health(request: Request, deep: bool = Query(False), p: Principal | None = Depends(optional_principal)):
    if not deep:
        return {"status": "ok"}
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
