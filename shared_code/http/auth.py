"""FastAPI dependencies: who is calling, and the coarse role gates. Fine-grained who-may-see-what
for clinicians lives in `shared_code.access`; a patient only ever reaches their own partition."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.security import HTTPBearer

from shared_code.accounts.records import AccountRecord
from shared_code.auth.principal import CLINICIAN, PATIENT, PLATFORM_ADMIN, Principal
from shared_code.auth.tokens import InvalidToken
from shared_code.errors import RoleRequired
from shared_code.http.offload import stores_only
from shared_code.http.problems import Problem

if TYPE_CHECKING:
    from shared_code.container import Container

_UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def _container(request: Request) -> "Container":
    # deps.py builds on these gates, so they cannot use its providers.
    return request.app.state.container.get()


_UNSET = object()


def authenticate(request: Request, *, required: bool = False) -> Principal | None:
    """The caller of `request` from its `Authorization: Bearer` header, validated once per request.
    A header that is present but not a valid bearer token is 401; no header is None (401 when
    `required`)."""
    found = getattr(request.state, "principal", _UNSET)
    if found is _UNSET:
        found = request.state.principal = _validated(request)
    if found is None and required:
        raise Problem(401, detail="Send 'Authorization: Bearer <token>'.", headers={"WWW-Authenticate": "Bearer"})
    return found


def _validated(request: Request) -> Principal | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "invalid-token", "Invalid token", "The Authorization header must be 'Bearer <token>'.",
                      headers=_UNAUTHENTICATED)
    try:
        return _container(request).tokens.validate(token)
    except InvalidToken:
        raise Problem(401, "invalid-token", "Invalid token",
                      "The bearer token is not valid (signature, issuer, audience or lifetime).",
                      headers=_UNAUTHENTICATED) from None


class Caller(HTTPBearer):
    """Who may call a route, as one dependency: a valid bearer token (401), with `role` (403
    role-required), and for `with_account` a patient account that exists and is not being erased
    (404 account-not-found; the value is then a `PatientCaller`). It is also the bearer scheme of the
    OpenAPI document (a `SecurityBase`), and openapi.py derives each route's 401/403/404 from it.

    One dependency, not a chain (the scheme, the caller, the role, the account): FastAPI spends a
    resolution step on every dependency of every request, more than each of these checks costs.
    `async`: checking a token is CPU work (a signature at most once per token: tokens.py), less than
    a hop to the thread pool and back, which FastAPI makes for every plain `def` dependency; the
    account is read where `@stores_only` says (offload.py). Routes with a body already authenticate
    on the event loop (routing.py)."""

    def __init__(self, role: str | None = None, *, with_account: bool = False):
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description="A JWT from a trusted issuer (or, locally, POST /api/dev/tokens).")
        self.role = role
        self.with_account = with_account

    async def __call__(self, request: Request) -> Any:  # type: ignore[override]
        p = authenticate(request, required=True)
        if self.role is not None and not p.has(self.role):
            raise RoleRequired(self.role)
        if self.with_account:
            return await _with_account(request, p)
        return p


@dataclass(frozen=True)
class PatientCaller:
    principal: Principal
    patient_id: str
    account: AccountRecord


@stores_only
def _with_account(request: Request, p: Principal) -> PatientCaller:
    """A patient whose account exists and is not being erased (else AccountNotFound)."""
    pid = p.patient_id
    container = _container(request)
    # Used today: retention's inactivity clock restarts (one write a day at most).
    return PatientCaller(p, pid, container.account_activity.seen(container.accounts.require(pid)))


principal = Caller()
require_patient = Caller(PATIENT)
require_clinician = Caller(CLINICIAN)
require_platform_admin = Caller(PLATFORM_ADMIN)
patient_with_account = Caller(PATIENT, with_account=True)
