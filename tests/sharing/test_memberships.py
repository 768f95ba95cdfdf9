"""Memberships through HTTP on both adapter families (Cosmos DB on `azure`): the last-admin rule
holds when two admins on two instances remove themselves at once; a membership is bound to the
token's object id on first use; workforce tokens come only from configured tenants. The rules
alone: tests/unit/test_clinic_admins.py, tests/unit/test_workforce_tenants.py."""
import dataclasses
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from shared_code import container as container_module
from shared_code.clock import Clock, FrozenClock
from shared_code.settings import CLINICS
from shared_code.sharing.members import member_id
from tests.doubles.interleaving import BeforeDelete
from tests.support.app import make_api
from tests.support.steps import Scene, add_member, clinician, onboard, problem_type


def test_two_admins_on_two_instances_removing_themselves_at_once_leave_one(family, tmp_path):
    clock = FrozenClock(Clock().now())
    second = make_api(family, tmp_path / "data", clock=clock)  # instance B
    clinic = onboard(second, "LEEDS-DERM")
    cid = clinic["id"]
    ada, bob = clinician(second, "ada", "ada@nhs.net"), clinician(second, "bob", "bob@nhs.net")
    add_member(second, cid, ada, "bob@nhs.net", role="clinic_admin")
    ada_id, bob_id = member_id(cid, "ada@nhs.net"), member_id(cid, "bob@nhs.net")
    answers = {}

    def bob_leaves():  # on instance B, while instance A has decided ada may go and not yet removed her
        answers["bob"] = second.client.delete(f"/api/clinics/{cid}/members/{bob_id}", headers=bob)

    racing = dataclasses.replace(family, documents=BeforeDelete(family.documents, CLINICS, ada_id, bob_leaves))
    first = make_api(racing, tmp_path / "data", clock=clock)  # instance A, the same store and issuer
    assert first.client.delete(f"/api/clinics/{cid}/members/{ada_id}", headers=ada).status_code == 204
    assert answers["bob"].status_code == 409 and problem_type(answers["bob"]) == "last-clinic-admin"
    members = second.client.get(f"/api/clinics/{cid}/members", headers=bob).json()["items"]
    assert [(m["email"], m["role"]) for m in members] == [("bob@nhs.net", "clinic_admin")]


def test_a_membership_is_bound_to_the_object_id_on_first_use(api):
    s = Scene(api)
    assert api.client.get(s.url(), headers=s.cal).status_code == 200  # cal's first use: by e-mail, binds
    cal_oid = api.container.tokens.validate(s.cal["Authorization"].split()[1]).object_id
    members = {m["email"]: m for m in api.client.get(f"/api/clinics/{s.clinic_id}/members", headers=s.ada).json()["items"]}
    assert members["cal@nhs.net"]["objectId"] == cal_oid
    # Another account whose e-mail claim now reads cal@nhs.net (a reassigned or edited address).
    impostor = clinician(api, "mallory", "cal@nhs.net")
    response = api.client.get(s.url(), headers=impostor)
    assert response.status_code == 404 and problem_type(response) == "clinic-not-found"
    # Cal's address changes at the identity provider: the object id still names cal.
    renamed = clinician(api, "cal", "cal.jones@nhs.net")
    assert api.client.get(s.url(), headers=renamed).status_code == 200


def _workforce_token(key, issuer: str, audience: str, tid: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": issuer, "aud": audience, "sub": "cal", "iat": now, "nbf": now, "exp": now + 600,
                       "roles": ["clinician"], "oid": "oid-cal", "email": "cal@nhs.net", "tid": tid},
                      key, algorithm="RS256", headers={"kid": "k1"})


def test_workforce_tokens_only_from_configured_tenants(family, tmp_path, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setattr(container_module, "jwks_key_lookup", lambda uri: lambda kid: key.public_key())
    trust, other = "0d9f1ab5-0000-4000-8000-00000000c0de", "7e0ac1f3-0000-4000-8000-0000000000ff"
    issuer, audience = "https://login.microsoftonline.com/organizations/v2.0", "api://telederm"
    api = make_api(family, tmp_path / "data", WORKFORCE_ISSUER=issuer, WORKFORCE_AUDIENCE=audience,
                   WORKFORCE_JWKS_URI="https://login.example/keys", WORKFORCE_TENANTS=trust)
    s = Scene(api)
    ours = api.as_(_workforce_token(key, issuer, audience, trust))
    assert api.client.get(s.url(), headers=ours).status_code == 200
    theirs = api.client.get(s.url(), headers=api.as_(_workforce_token(key, issuer, audience, other)))
    assert theirs.status_code == 401
    # The local issuer has no tenant: its tokens are unaffected.
    assert api.client.get(f"/api/clinics/{s.clinic_id}/members", headers=s.ada).status_code == 200
