"""HTTP: the patient's own account (PUT/GET/DELETE /api/me)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from shared_code.auth.principal import Principal
from shared_code.http.auth import container, require_patient
from shared_code.http.common import require_json
from shared_code.schemas import Account, AccountIn

router = APIRouter(prefix="/api/me", tags=["patient: account"])


@router.put("", response_model=Account, dependencies=[Depends(require_json)],
            responses={201: {"model": Account, "description": "Created"}})
def put_me(body: AccountIn, request: Request, p: Principal = Depends(require_patient)):
    account, created = container(request).accounts.put(p.patient_id, body)
    return JSONResponse(account.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("", response_model=Account)
def get_me(request: Request, p: Principal = Depends(require_patient)) -> Account:
    return container(request).accounts.get(p.patient_id)


@router.delete("", status_code=202, responses={202: {"description": "Erasure accepted; images are unreadable from now on."}})
def delete_me(request: Request, p: Principal = Depends(require_patient)) -> Response:
    container(request).accounts.erase(p.patient_id)
    return Response(status_code=202)
