"""Workforce tokens are accepted only from the configured tenants (`tid` in WORKFORCE_TENANTS, or the
tenant WORKFORCE_ISSUER names); the local issuer has no tenant and is unaffected. The validator is
the Container's own, built from Settings (only the JWKS fetch is replaced by the test's key)."""
from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared_code import container as container_module
from shared_code.auth.tokens import InvalidToken
from shared_code.container import Container
from shared_code.settings import Settings
from tests import fakes

TENANT = "0d9f1ab5-0000-4000-8000-00000000c0de"
OTHER_TENANT = "7e0ac1f3-0000-4000-8000-0000000000ff"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
AUDIENCE = "api://telederm"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def build(monkeypatch, tmp_path, clock):
    monkeypatch.setattr(container_module, "jwks_key_lookup", lambda uri: lambda kid: KEY.public_key())

    def make(**settings) -> Container:
        config = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(tmp_path), WORKFORCE_ISSUER=ISSUER,
                          WORKFORCE_JWKS_URI="https://login.example/keys", WORKFORCE_AUDIENCE=AUDIENCE, **settings)
        return Container(config, fakes.adapters(clock), clock)

    return make


def _token(**claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "cal", "iat": now, "nbf": now, "exp": now + 600,
            "roles": ["clinician"], "oid": "oid-cal", "email": "cal@nhs.net", "tid": TENANT, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, KEY, algorithm="RS256", headers={"kid": "k1"})


def test_a_token_of_the_issuers_own_tenant_is_accepted_by_default(build):
    assert build().tokens.validate(_token()).object_id == "oid-cal"


@pytest.mark.parametrize("tid", [OTHER_TENANT, None, ""])
def test_a_token_of_another_or_no_tenant_is_refused(build, tid):
    with pytest.raises(InvalidToken):
        build().tokens.validate(_token(tid=tid))


def test_workforce_tenants_lists_the_tenants_accepted(build):
    tokens = build(WORKFORCE_TENANTS=f" {OTHER_TENANT.upper()} ").tokens
    assert tokens.validate(_token(tid=OTHER_TENANT)).subject == "cal"
    with pytest.raises(InvalidToken):
        tokens.validate(_token())  # the issuer's own tenant is not listed


def test_the_local_issuer_has_no_tenant_and_is_unaffected(build):
    container = build(WORKFORCE_TENANTS=OTHER_TENANT)
    token = container.local_issuer.issue(role="clinician", subject="cal", email="cal@nhs.net", name=None)
    assert container.tokens.validate(token).email == "cal@nhs.net"
