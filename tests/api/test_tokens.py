"""Forged, stale and foreign tokens: each one a 401 problem+json, through the production code path."""
import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared_code.auth.local_issuer import LOCAL_AUDIENCE


def _claims(api, **overrides):
    now = int(time.time())
    claims = {"iss": api.container.local_issuer.issuer_url, "aud": LOCAL_AUDIENCE, "sub": "mallory", "iat": now,
              "nbf": now, "exp": now + 600, "roles": ["patient"]}
    claims.update(overrides)
    return claims


def _sign(api, claims, key=None, kid=None, alg="RS256"):
    issuer = api.container.local_issuer
    return jwt.encode(claims, key or issuer._private_key, algorithm=alg, headers={"kid": kid or issuer.kid})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _forgeries(api):
    issuer = api.container.local_issuer
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = issuer._public_key.public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    good = _sign(api, _claims(api))
    header, payload, signature = good.split(".")
    altered = _b64({**_claims(api), "sub": "alice", "roles": ["platform_admin"]})
    import hashlib
    import hmac
    hs_header = _b64({"alg": "HS256", "typ": "JWT", "kid": issuer.kid})
    hs_body = _b64(_claims(api))
    hs_sig = base64.urlsafe_b64encode(hmac.new(public_pem, f"{hs_header}.{hs_body}".encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': issuer.kid})}.{_b64(_claims(api))}.",
        "HS256 signed with the public key": f"{hs_header}.{hs_body}.{hs_sig}",
        "expired": _sign(api, _claims(api, iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200,
                                      exp=int(time.time()) - 3600)),
        "not yet valid": _sign(api, _claims(api, nbf=int(time.time()) + 3600, exp=int(time.time()) + 7200)),
        "wrong audience": _sign(api, _claims(api, aud="api://someone-else")),
        "wrong issuer": _sign(api, _claims(api, iss="https://evil.example/")),
        "unknown kid": _sign(api, _claims(api), kid="not-a-key-we-know"),
        "signed by another key": _sign(api, _claims(api), key=other_key),
        "altered payload": f"{header}.{altered}.{signature}",
        "no expiry": _sign(api, {k: v for k, v in _claims(api).items() if k != "exp"}),
        "garbage": "not.a.jwt",
        "empty": "",
    }


FORGERIES = ["alg none", "HS256 signed with the public key", "expired", "not yet valid", "wrong audience",
             "wrong issuer", "unknown kid", "signed by another key", "altered payload", "no expiry", "garbage", "empty"]


@pytest.mark.parametrize("name", FORGERIES)
def test_forged_tokens_are_401_problems(api, name):
    api.patient("alice")  # a real account the forgeries try to reach
    token = _forgeries(api)[name]
    response = api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401 and body["type"].startswith("https://")
    assert "Traceback" not in response.text and token[:20] not in response.text if token else True


def test_a_genuine_token_passes_the_same_path(api):
    token = _sign(api, _claims(api, sub="alice"))
    response = api.client.put("/api/me", headers={"Authorization": f"Bearer {token}"}, json={"displayName": "A"})
    assert response.status_code == 201


def test_missing_or_malformed_authorization_is_401(api):
    assert api.client.get("/api/folders").status_code == 401
    assert api.client.get("/api/folders", headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.client.get("/api/folders", headers={"Authorization": "Bearer"}).status_code == 401


def test_dev_tokens_validate_their_body(api):
    for body in ({}, {"role": "root", "subject": "x"}, {"role": "patient"}, {"role": "patient", "subject": ""}):
        response = api.client.post("/api/dev/tokens", json=body)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    token = api.token("clinician", "dr-who", email="Dr.Who@NHS.net", name="Dr Who")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["roles"] == ["clinician"] and claims["email"] == "dr.who@nhs.net" and claims["name"] == "Dr Who"


def test_the_local_signing_key_survives_a_restart(family, tmp_path):
    from tests.support.app import make_api

    first = make_api(family, tmp_path / "data")
    token = first.token("patient", "alice")
    second = make_api(family, tmp_path / "data")
    response = second.client.put("/api/me", headers={"Authorization": f"Bearer {token}"}, json={"displayName": "A"})
    assert response.status_code == 201
