"""HTTP: the patient's own account (PUT/GET/DELETE /api/me)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from shared_code.accounts.schemas import Account, AccountIn
from shared_code.http.common import require_json
from shared_code.http.deps import Accounts, Activity, Patient, PatientPrincipal
from shared_code.http.openapi import KEY_SERVICE, problem
from shared_code.http.routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/me", tags=["patient: account"])


@router.put("", response_model=Account, dependencies=[Depends(require_json)],
            responses={201: {"model": Account, "description": "Created"}, **KEY_SERVICE,
                       409: problem("`account-erasing`: the account is being erased.")})
def put_me(body: AccountIn, accounts: Accounts, activity: Activity, p: PatientPrincipal):
    account, created = accounts.put(p.patient_id, body, verified_email=p.email)
    activity.seen(account)  # a new account starts retention's inactivity clock
    return JSONResponse(Account.model_validate(account.public()).model_dump(mode="json"),
                        status_code=201 if created else 200)


@router.get("", response_model=Account)
def get_me(caller: Patient) -> Account:
    # Through `Patient`: reading one's account counts as using it (retention's inactivity clock).
    return Account.model_validate(caller.account.public())


@router.delete("", status_code=202, response_class=Response,
               responses={202: {"description": "Erasure accepted, with no body; images are unreadable from now on."},
                          404: problem("`account-not-found`: there is no account to erase.")})
def delete_me(accounts: Accounts, p: PatientPrincipal) -> Response:
    accounts.erase(p.patient_id)
    return Response(status_code=202)
