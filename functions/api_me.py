"""HTTP: the patient's own account (PUT/GET/DELETE /api/me)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from shared_code.accounts.schemas import Account, AccountIn
from shared_code.http.common import require_json
from shared_code.http.deps import Accounts, PatientPrincipal

router = APIRouter(prefix="/api/me", tags=["patient: account"])


@router.put("", response_model=Account, dependencies=[Depends(require_json)],
            responses={201: {"model": Account, "description": "Created"}})
def put_me(body: AccountIn, accounts: Accounts, p: PatientPrincipal):
    account, created = accounts.put(p.patient_id, body)
    return JSONResponse(Account.model_validate(account.public()).model_dump(mode="json"),
                        status_code=201 if created else 200)


@router.get("", response_model=Account)
def get_me(accounts: Accounts, p: PatientPrincipal) -> Account:
    return Account.model_validate(accounts.require(p.patient_id).public())


@router.delete("", status_code=202, responses={202: {"description": "Erasure accepted; images are unreadable from now on."}})
def delete_me(accounts: Accounts, p: PatientPrincipal) -> Response:
    accounts.erase(p.patient_id)
    return Response(status_code=202)
