"""Bearer-token validation with PyJWT: one code path for every trusted issuer, production or local.

A token is accepted only if its `iss` names a configured issuer exactly, its header names an
asymmetric algorithm we allow and a `kid` that issuer publishes, and its signature, `aud`, `exp`,
`nbf` and `iat` all check out; a workforce token also needs its tenant (`tid`) in WORKFORCE_TENANTS. Every failure is the same `InvalidToken` (401): the caller learns
nothing about which check failed, the log records the reason without the token.

A token that passed is remembered (`VerifiedTokens`, by its SHA-256, never the token itself) until it
expires or for `VERIFIED_TOKEN_SECONDS`, whichever comes first, so a client's next requests skip the
signature check: on an image view it was the largest single cost. Nothing a request is allowed to do
is remembered with it: membership, grants, erasure and revocation are read from the stores on every
request. The cap bounds how long a token stays accepted once its issuer stops publishing its key
(the issuer's keys are themselves cached for an hour by PyJWKClient).
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal

import jwt

from shared_code.auth.principal import PATIENT, TOKEN_ROLES, Principal

log = logging.getLogger(__name__)

# Asymmetric only: an HS256 token "signed" with a public key, or alg=none, never matches.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
LEEWAY_SECONDS = 30
VERIFIED_TOKEN_SECONDS = 300
VERIFIED_TOKEN_ENTRIES = 4096


class InvalidToken(Exception):
    pass


KeyLookup = Callable[[str], Any]  # kid -> public key, raising KeyError when unknown


@dataclass(frozen=True)
class TrustedIssuer:
    """One identity provider we accept tokens from.

    `role_mode`: `patient` — every valid token is a patient (the patients' identity provider);
    `roles_claim` — roles come from the token's `roles` claim (Entra ID app roles for the workforce;
    the local issuer too), limited to the roles this service knows.
    `email_verified_by_issuer`: the workforce tenant manages its users' e-mail addresses, so its
    `email`/`preferred_username` is trusted; otherwise only an `email` with `email_verified: true`.
    """

    name: str
    issuer: str
    audience: str
    key_for_kid: KeyLookup
    role_mode: Literal["patient", "roles_claim"]
    email_verified_by_issuer: bool = False
    # The Entra tenants (`tid`) whose tokens are accepted; None: the issuer has no tenants (patients,
    # the local issuer). An empty set accepts nothing: an unconfigured list fails closed.
    tenants: frozenset[str] | None = None


def jwks_key_lookup(jwks_uri: str) -> KeyLookup:
    """Keys from a JWKS URI, fetched on first use (never at import) and cached by PyJWKClient."""
    client: jwt.PyJWKClient | None = None

    def lookup(kid: str) -> Any:
        nonlocal client
        if client is None:
            client = jwt.PyJWKClient(jwks_uri, cache_keys=True, lifespan=3600, timeout=5)
        try:
            return client.get_signing_key(kid).key
        except jwt.PyJWKClientError as exc:
            raise KeyError(kid) from exc

    return lookup


class VerifiedTokens:
    """Principals of tokens that passed every check, by the token's SHA-256, each until its `exp`
    (+ leeway) or `ttl` seconds after it was verified, whichever is first; at most `entries`, the
    oldest dropped first. Any change to a token (its signature included) is another key."""

    def __init__(self, now: Callable[[], float] = time.time, ttl: float = VERIFIED_TOKEN_SECONDS,
                 entries: int = VERIFIED_TOKEN_ENTRIES):
        self._now, self._ttl, self._entries = now, ttl, entries
        self._found: dict[bytes, tuple[Principal, float, float]] = {}
        self._lock = threading.Lock()  # the thread pool validates tokens too (Azure mode)

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, key: bytes) -> Principal | None:
        """The principal, or None when the token must be verified (again). Raises InvalidToken
        once a remembered token has expired."""
        found = self._found.get(key)
        if found is None:
            return None
        principal, expires, verify_again = found
        now = self._now()
        if now < expires and now < verify_again:
            return principal
        self._found.pop(key, None)
        if now >= expires:
            log.info("token refused: ExpiredSignatureError")
            raise InvalidToken()
        return None

    def put(self, key: bytes, principal: Principal, exp: float) -> None:
        entry = (principal, exp + LEEWAY_SECONDS, self._now() + self._ttl)
        with self._lock:
            while len(self._found) >= self._entries:
                self._found.pop(next(iter(self._found)), None)
            self._found[key] = entry


class TokenValidator:
    def __init__(self, issuers: list[TrustedIssuer], verified: VerifiedTokens | None = None):
        self._issuers = {i.issuer: i for i in issuers}
        self._verified = verified or VerifiedTokens()

    def validate(self, token: str) -> Principal:
        key = self._verified.key(token)
        found = self._verified.get(key)
        if found is not None:
            return found
        try:
            principal, exp = self._validate(token)
        except InvalidToken:
            raise
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            log.info("token refused: %s", type(exc).__name__)
            raise InvalidToken() from None
        self._verified.put(key, principal, exp)
        return principal

    def _validate(self, token: str) -> tuple[Principal, float]:
        header, unverified = _peek(token)
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS or not isinstance(kid, str):
            log.info("token refused: algorithm or kid not acceptable")
            raise InvalidToken()
        trusted = self._issuers.get(unverified.get("iss"))
        if trusted is None:
            log.info("token refused: issuer not trusted")
            raise InvalidToken()
        key = trusted.key_for_kid(kid)
        claims = jwt.decode(
            token,
            key,
            algorithms=list(ALLOWED_ALGORITHMS),
            audience=trusted.audience,
            issuer=trusted.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_nbf": True},
        )
        return _principal(trusted, claims), float(claims["exp"])


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the claims, NOT verified: only to choose the issuer and its key. PyJWT's
    verified decode then parses the token strictly and checks everything; parsing it with PyJWT here
    too would cost twice its validation of every segment again, on every request."""
    header, payload, _ = token.split(".")
    return _json_segment(header), _json_segment(payload)


def _json_segment(segment: str) -> dict[str, Any]:
    value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _principal(trusted: TrustedIssuer, claims: dict[str, Any]) -> Principal:
    if trusted.tenants is not None and str(claims.get("tid", "")).lower() not in trusted.tenants:
        # A multi-tenant app registration (or an issuer URL shared by tenants) must not let every
        # tenant's users in: only the trusts this service is configured for.
        log.info("token refused: tenant not configured")
        raise InvalidToken()
    if trusted.role_mode == "patient":
        roles = frozenset({PATIENT})
    else:
        raw = claims.get("roles") or []
        roles = frozenset(r for r in raw if isinstance(r, str)) & TOKEN_ROLES
    email = claims.get("email")
    if trusted.email_verified_by_issuer:
        email = email or claims.get("preferred_username")
    elif claims.get("email_verified") is not True:
        email = None
    return Principal(
        issuer=trusted.issuer,
        subject=str(claims["sub"]),
        roles=roles,
        name=claims.get("name"),
        email=email.strip().lower() if isinstance(email, str) and "@" in email else None,
        object_id=claims.get("oid"),
        issuer_name=trusted.name,
    )
