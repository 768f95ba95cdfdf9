"""HTTP: local mode only. The development token issuer and the mail outbox.

These routes exist only when the app is created in local mode: in azure mode they are not mounted
at all (404, and absent from the OpenAPI document)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from shared_code.api_schemas import Request as RequestModel, Response as ResponseModel
from shared_code.auth.local_issuer import TOKEN_LIFETIME_SECONDS
from shared_code.http.common import require_json
from shared_code.http.deps import AppAdapters, AppContainer
from shared_code.http.problems import Problem
from shared_code.http.routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/dev", tags=["local development"])


class TokenRequest(RequestModel):
    role: Literal["patient", "clinician", "platform_admin"]
    subject: str = Field(min_length=1, max_length=128, examples=["alice"])
    email: str | None = Field(None, max_length=254)
    name: str | None = Field(None, max_length=100)


class TokenResponse(ResponseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = TOKEN_LIFETIME_SECONDS


@router.post("/tokens", response_model=TokenResponse, dependencies=[Depends(require_json)],
             description="Public, local mode only: a JWT from the local issuer, validated like any production token.")
def issue_token(body: TokenRequest, c: AppContainer) -> TokenResponse:
    issuer = c.local_issuer
    if issuer is None:
        raise Problem(404, detail="The local token issuer is off.")
    email = body.email.strip().lower() if body.email else None
    return TokenResponse(access_token=issuer.issue(role=body.role, subject=body.subject, email=email, name=body.name))


class OutboxMail(ResponseModel):
    to: str
    subject: str
    text: str
    html: str
    sentAt: str


class OutboxList(ResponseModel):
    items: list[OutboxMail]


@router.get("/outbox", response_model=OutboxList,
            description="Public, local mode only: the notifications that would have been e-mailed, newest first.")
def list_outbox(c: AppContainer, adapters: AppAdapters, limit: int = Query(50, ge=1, le=200)) -> OutboxList:
    outbox = adapters.mail_outbox
    if not c.settings.is_local or outbox is None:
        raise Problem(404, detail="There is no local outbox: mail goes out through Microsoft Graph.")
    return OutboxList(items=[OutboxMail(**{k: mail[k] for k in ("to", "subject", "text", "html", "sentAt")})
                             for mail in outbox.list(limit)])
