"""The local development issuer (local mode only).

Its RSA signing key lives under LOCAL_DATA_DIR (created once, mode 0600), so tokens survive
restarts. It signs ordinary RS256 JWTs, and the service validates them through the very same
`TokenValidator` as production tokens: it is only one more `TrustedIssuer`."""
from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared_code.auth.principal import PATIENT
from shared_code.auth.tokens import TrustedIssuer

LOCAL_AUDIENCE = "api://telederm-local"
TOKEN_LIFETIME_SECONDS = 3600


class LocalIssuer:
    def __init__(self, data_dir: Path, issuer_url: str):
        self.issuer_url = issuer_url
        self._private_key = _load_or_create_key(data_dir / "issuer" / "signing-key.pem")
        public = self._private_key.public_key()
        self._public_key = public
        numbers = public.public_numbers()
        self.kid = jwt.utils.base64url_encode(
            numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")[-16:]
        ).decode()

    def trusted_issuer(self) -> TrustedIssuer:
        def lookup(kid: str) -> Any:
            if kid != self.kid:
                raise KeyError(kid)
            return self._public_key

        return TrustedIssuer(
            name="local", issuer=self.issuer_url, audience=LOCAL_AUDIENCE, key_for_kid=lookup,
            role_mode="roles_claim", email_verified_by_issuer=True,
        )

    def issue(self, *, role: str, subject: str, email: str | None, name: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer_url, "aud": LOCAL_AUDIENCE, "sub": subject, "iat": now, "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS, "jti": uuid.uuid4().hex, "roles": [role],
        }
        if email:
            claims["email"] = email
        if name:
            claims["name"] = name
        if role != PATIENT:
            claims["oid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer_url}/{subject}"))
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.kid})


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    try:
        os.link(tmp, path)  # first writer wins if two processes start at once
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)
