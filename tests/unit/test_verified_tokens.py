"""A token that passed is not verified again on the client's next request, but only until it expires
or for VERIFIED_TOKEN_SECONDS, and any change to it (its signature included) is verified in full."""
from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared_code.auth.tokens import (
    LEEWAY_SECONDS, VERIFIED_TOKEN_SECONDS, InvalidToken, TokenValidator, TrustedIssuer, VerifiedTokens,
)

ISSUER = "https://patients.example/"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Issuer:
    """The trusted issuer's key lookup, counting lookups: one per full verification."""

    def __init__(self):
        self.lookups = 0
        self.published = True

    def key_for_kid(self, kid):
        self.lookups += 1
        if not self.published:
            raise KeyError(kid)
        return KEY.public_key()


@pytest.fixture
def issuer():
    return Issuer()


@pytest.fixture
def now():
    return [time.time()]


@pytest.fixture
def tokens(issuer, now):
    trusted = TrustedIssuer("patients", ISSUER, "api://telederm", issuer.key_for_kid, "patient")
    return TokenValidator([trusted], VerifiedTokens(now=lambda: now[0], entries=3))


def _token(key=KEY, lifetime=600, **claims) -> str:
    issued = int(time.time())
    body = {"iss": ISSUER, "aud": "api://telederm", "sub": "alice", "iat": issued, "exp": issued + lifetime, **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_token_seen_again_is_not_verified_again(tokens, issuer):
    token = _token()
    assert tokens.validate(token).subject == "alice"
    assert tokens.validate(token).subject == "alice"
    assert issuer.lookups == 1


def test_a_remembered_token_is_refused_once_it_expires(tokens, issuer, now):
    token = _token(lifetime=60)
    tokens.validate(token)
    now[0] += 60 + LEEWAY_SECONDS + 1
    with pytest.raises(InvalidToken):
        tokens.validate(token)


def test_a_token_is_verified_again_after_the_cap_and_refused_if_its_key_is_gone(tokens, issuer, now):
    token = _token(lifetime=3600)
    tokens.validate(token)
    now[0] += VERIFIED_TOKEN_SECONDS - 1
    tokens.validate(token)
    assert issuer.lookups == 1
    issuer.published = False  # the issuer stopped publishing the key
    now[0] += 2
    with pytest.raises(InvalidToken):
        tokens.validate(token)
    assert issuer.lookups == 2


def test_a_changed_signature_is_verified_in_full_and_refused(tokens, issuer):
    token = _token()
    tokens.validate(token)
    forged = _token(key=OTHER_KEY)
    header, payload, _ = token.split(".")
    with pytest.raises(InvalidToken):
        tokens.validate(f"{header}.{payload}.{forged.split('.')[2]}")
    assert issuer.lookups == 2


def test_a_refused_token_is_never_remembered(tokens, issuer):
    wrong_audience = _token(aud="api://other")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            tokens.validate(wrong_audience)
    assert issuer.lookups == 2


def test_the_oldest_entry_makes_room(tokens, issuer):
    first, *others = [_token(sub=f"user{i}") for i in range(4)]
    for token in (first, *others):
        tokens.validate(token)
    tokens.validate(others[-1])
    assert issuer.lookups == 4
    tokens.validate(first)  # three entries: the first was dropped
    assert issuer.lookups == 5
