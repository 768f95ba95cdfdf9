"""FastAPI dependencies: who is calling, and the coarse role gates. Fine-grained who-may-see-what
for clinicians lives in `shared_code.access`; a patient only ever reaches their own partition."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared_code.accounts.records import AccountRecord
from shared_code.auth.principal import CLINICIAN, PATIENT, PLATFORM_ADMIN, Principal
from shared_code.auth.tokens import InvalidToken
from shared_code.errors import RoleRequired
from shared_code.http.problems import Problem

if TYPE_CHECKING:
    from shared_code.container import Container

_bearer = HTTPBearer(auto_error=False, description="A JWT from a trusted issuer (or, locally, POST /api/dev/tokens).")

_UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def _container(request: Request) -> "Container":
    # deps.py builds on these gates, so they cannot use its providers.
    return request.app.state.container.get()


def optional_principal(request: Request,
                       credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal | None:
    if credentials is None:
        if request.headers.get("authorization"):
            raise Problem(401, "invalid-token", "Invalid token", "The Authorization header must be 'Bearer <token>'.",
                          headers=_UNAUTHENTICATED)
        return None
    try:
        return _container(request).tokens.validate(credentials.credentials)
    except InvalidToken:
        raise Problem(401, "invalid-token", "Invalid token",
                      "The bearer token is not valid (signature, issuer, audience or lifetime).",
                      headers=_UNAUTHENTICATED) from None


def principal(p: Principal | None = Depends(optional_principal)) -> Principal:
    if p is None:
        raise Problem(401, detail="Send 'Authorization: Bearer <token>'.", headers={"WWW-Authenticate": "Bearer"})
    return p


def _role(role: str):
    def gate(p: Principal = Depends(principal)) -> Principal:
        if not p.has(role):
            raise RoleRequired(role)
        return p

    return gate


require_patient = _role(PATIENT)
require_clinician = _role(CLINICIAN)
require_platform_admin = _role(PLATFORM_ADMIN)


@dataclass(frozen=True)
class PatientCaller:
    principal: Principal
    patient_id: str
    account: AccountRecord


def patient_with_account(request: Request, p: Principal = Depends(require_patient)) -> PatientCaller:
    """A patient whose account exists and is not being erased (else AccountNotFound)."""
    pid = p.patient_id
    return PatientCaller(p, pid, _container(request).accounts.require(pid))
