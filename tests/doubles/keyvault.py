"""KeyVaultDouble: a TEST DOUBLE of the Azure Key Vault keys REST API, served over real HTTPS.

There is no Key Vault emulator, so this double imitates just enough of the data plane for the real
`azure-keyvault-keys` SDK (KeyClient, CryptographyClient) to run unmodified against it:

* the challenge authentication flow: a request without a valid bearer token gets
  `401` + `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
  resource="https://vault.azure.net"` (the SDK's ChallengeAuthPolicy turns `resource` into the scope
  `https://vault.azure.net/.default` because no `scope` parameter is sent, and the tenant into
  `tenant_id`); afterwards only `Authorization: Bearer <token>` with the token that
  `StaticTokenCredential` hands out is accepted;
* `GET /keys/{name}[/{version}]` returning a key bundle (public JWK only, like Key Vault);
* `POST /keys/{name}/{version}/wrapkey` and `/unwrapkey` doing real RSA-OAEP-256 / RSA-OAEP with
  private keys that never leave the double, or real AES key wrap (A256KW) for `oct-HSM` keys
  (Managed HSM), whose bundle, as in Managed HSM, carries no key material.

The SDK wraps RSA keys locally with the public key once it has fetched the bundle, and always
unwraps remotely; the double supports both paths (and remote wraps, e.g. with `forbid_get`).

Behaviour modelled on Key Vault (error bodies are `{"error": {"code", "message", "innererror"}}`):
* a disabled version still answers GET (with `attributes.enabled: false`) and still wraps, but
  unwrap/decrypt/sign fail with `403 Forbidden`, innererror `KeyDisabled` ("Operation unwrapKey is
  not allowed on a disabled key."), as reported against the live service in
  Azure/azure-sdk-for-python#45342;
* an unknown key or version is `404 KeyNotFound`;
* an unwrap of a corrupted ciphertext is `400 BadParameter` ("Error occurred while decoding OAEP
  padding.");
* `throttle()` injects `429 Throttled` with `Retry-After`; `fail_next()` injects any status.

Not modelled: RBAC (beyond `forbid_get`), key creation over REST, rotation policies, soft delete,
list/backup/restore, sign/verify/encrypt/decrypt. RSA keys are 2048-bit by default (generating
3072-bit keys is slow; the protocol is identical), pass `rsa_key_size=3072` to match production.
Keys are drawn from a process-wide pool (see `_pooled_rsa_key`): distinct within one double.
"""
from __future__ import annotations

import base64
import collections
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from azure.core.credentials import AccessToken, AccessTokenInfo
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from tests.doubles.tls import HttpRequest, HttpResponse, HttpsServer

DEFAULT_TENANT = "72f988bf-0000-4000-8000-00000000d0b1"
DEFAULT_TOKEN = "kv-double-access-token"
VAULT_RESOURCE = "https://vault.azure.net"
MANAGED_HSM_RESOURCE = "https://managedhsm.azure.net"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class StaticTokenCredential:
    """A fake azure-core TokenCredential (and SupportsTokenInfo) that always returns one token.

    Records every request (`requests`: scopes, tenant_id, claims, enable_cae) so tests can check
    what the SDK derived from the vault's challenge."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, lifetime_seconds: int = 3600):
        self.token = token
        self.lifetime_seconds = lifetime_seconds
        self.requests: list[dict] = []

    def get_token(self, *scopes: str, claims=None, tenant_id=None, enable_cae: bool = False, **kwargs) -> AccessToken:
        self.requests.append({"scopes": scopes, "tenant_id": tenant_id, "claims": claims, "enable_cae": enable_cae})
        return AccessToken(self.token, int(time.time()) + self.lifetime_seconds)

    def get_token_info(self, *scopes: str, options=None) -> AccessTokenInfo:
        options = dict(options or {})
        self.requests.append(
            {
                "scopes": scopes,
                "tenant_id": options.get("tenant_id"),
                "claims": options.get("claims"),
                "enable_cae": options.get("enable_cae", False),
            }
        )
        return AccessTokenInfo(self.token, int(time.time()) + self.lifetime_seconds)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


@dataclass
class _Version:
    version: str
    kty: str  # "RSA-HSM" or "oct-HSM"
    private_key: rsa.RSAPrivateKey | None = None
    secret: bytes | None = None  # oct-HSM key material
    enabled: bool = True
    created: int = field(default_factory=lambda: int(time.time()))
    updated: int = field(default_factory=lambda: int(time.time()))


@dataclass
class _Injection:
    status: int
    remaining: int
    headers: dict[str, str]
    code: str
    message: str
    only: frozenset[str] | None  # operations ("get", "wrapkey", "unwrapkey") or None for all


# RSA key generation dominates a double's cost (~0.1 s per 2048-bit key), so keys come from a
# process-wide pool: the n-th key any double creates is pool[n]. Versions within one double are
# therefore always distinct keys (which rotation tests rely on), while doubles in different tests
# reuse the same few keys. `KeyVaultDouble(reuse_rsa_keys=False)` generates fresh ones instead.
_rsa_pool: dict[int, list[rsa.RSAPrivateKey]] = {}
_rsa_pool_lock = threading.Lock()


def _pooled_rsa_key(size: int, index: int) -> rsa.RSAPrivateKey:
    with _rsa_pool_lock:
        pool = _rsa_pool.setdefault(size, [])
        while len(pool) <= index:
            pool.append(rsa.generate_private_key(public_exponent=65537, key_size=size))
        return pool[index]


_KEY_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
_RSA_ALGS = {
    "RSA-OAEP-256": lambda: padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    "RSA-OAEP": lambda: padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
}


class KeyVaultDouble:
    """Test double of Key Vault's keys API (see module docstring). Use as a context manager or call
    `start()`/`stop()`. `url` is the vault URL, `ca_bundle_path` the CA to trust, `credential` a
    `StaticTokenCredential` the double accepts."""

    def __init__(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT,
        token: str = DEFAULT_TOKEN,
        resource: str = VAULT_RESOURCE,
        rsa_key_size: int = 2048,
        reuse_rsa_keys: bool = True,
        tmp_dir: Path | None = None,
    ):
        self.tenant_id = tenant_id
        self.token = token
        self.resource = resource
        self.rsa_key_size = rsa_key_size
        self.reuse_rsa_keys = reuse_rsa_keys
        self._rsa_keys_made = 0
        self.forbid_get = False  # simulate a principal without keys/get: GET answers 403
        self.counts: collections.Counter[str] = collections.Counter()
        self.requests: list[tuple[str, str, bool]] = []  # (method, path, authorized)
        self._keys: dict[str, list[_Version]] = {}
        self._injections: list[_Injection] = []
        self._lock = threading.RLock()
        self._server = HttpsServer(self._handle, tmp_dir=tmp_dir)
        self.url = self._server.url
        self.ca_bundle_path = self._server.ca_bundle_path

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "KeyVaultDouble":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "KeyVaultDouble":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def credential(self) -> StaticTokenCredential:
        """A new fake credential returning the token this double accepts."""
        return StaticTokenCredential(self.token)

    # -- key management (what an operator or a rotation policy would do) ---------------------------

    def create_key(self, name: str, *, kty: str = "RSA-HSM") -> str:
        """Create `name` or, if it exists, a new version of it (as Key Vault does). Returns the version."""
        if kty not in ("RSA-HSM", "RSA", "oct-HSM"):
            raise ValueError(f"unsupported kty {kty!r}")
        entry = _Version(version=uuid.uuid4().hex, kty=kty)
        if kty.startswith("RSA"):
            with self._lock:
                index, self._rsa_keys_made = self._rsa_keys_made, self._rsa_keys_made + 1
            if self.reuse_rsa_keys:
                entry.private_key = _pooled_rsa_key(self.rsa_key_size, index)
            else:
                entry.private_key = rsa.generate_private_key(public_exponent=65537, key_size=self.rsa_key_size)
        else:
            entry.secret = os.urandom(32)  # 256-bit AES key
        with self._lock:
            self._keys.setdefault(name, []).append(entry)
        return entry.version

    def rotate(self, name: str) -> str:
        """Add a new version of `name` with the same key type; it becomes the latest. Returns it."""
        with self._lock:
            kty = self._versions(name)[-1].kty
        return self.create_key(name, kty=kty)

    def disable(self, name: str, version: str | None = None) -> None:
        self._set_enabled(name, version, False)

    def enable(self, name: str, version: str | None = None) -> None:
        self._set_enabled(name, version, True)

    def delete_key(self, name: str) -> None:
        """Remove the key and all its versions (as a purge would): later requests get 404."""
        with self._lock:
            self._keys.pop(name, None)

    def versions(self, name: str) -> list[str]:
        with self._lock:
            return [v.version for v in self._versions(name)]

    def latest_version(self, name: str) -> str:
        return self.versions(name)[-1]

    def key_id(self, name: str, version: str | None = None) -> str:
        return f"{self.url}/keys/{name}/{version or self.latest_version(name)}"

    # -- fault injection and counters -------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        headers: dict[str, str] | None = None,
        code: str = "InjectedFailure",
        message: str = "Injected by KeyVaultDouble.",
        only: set[str] | None = None,
    ) -> None:
        """Answer the next `count` authenticated requests (optionally only operations in `only`:
        "get", "wrapkey", "unwrapkey") with `status`."""
        with self._lock:
            self._injections.append(
                _Injection(status, count, dict(headers or {}), code, message, frozenset(only) if only else None)
            )

    def throttle(self, *, count: int = 1, retry_after: str | int | float = 7, only: set[str] | None = None) -> None:
        """Answer the next `count` authenticated requests with 429 and `Retry-After`, as Key Vault
        does when a vault's request limits are exceeded."""
        self.fail_next(
            429,
            count=count,
            headers={"Retry-After": str(retry_after)},
            code="Throttled",
            message="Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            only=only,
        )

    def clear_faults(self) -> None:
        with self._lock:
            self._injections.clear()

    @property
    def get_calls(self) -> int:
        return self.counts["get"]

    @property
    def wrap_calls(self) -> int:
        """Remote wraps served (the SDK usually wraps RSA keys locally: this stays 0 then)."""
        return self.counts["wrapkey"]

    @property
    def unwrap_calls(self) -> int:
        """Remote unwraps served successfully."""
        return self.counts["unwrapkey"]

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.requests.clear()

    # -- HTTP ----------------------------------------------------------------------------------------

    def _versions(self, name: str) -> list[_Version]:
        versions = self._keys.get(name)
        if not versions:
            raise KeyError(name)
        return versions

    def _set_enabled(self, name: str, version: str | None, enabled: bool) -> None:
        with self._lock:
            versions = self._versions(name)
            targets = [v for v in versions if v.version == version] if version else [versions[-1]]
            if not targets:
                raise KeyError(f"{name}/{version}")
            for target in targets:
                target.enabled = enabled
                target.updated = int(time.time())

    @staticmethod
    def _error(status: int, code: str, message: str, inner: str | None = None, headers=None) -> HttpResponse:
        error: dict = {"code": code, "message": message}
        if inner:
            error["innererror"] = {"code": inner}
        return HttpResponse.json(status, {"error": error}, headers)

    def _challenge(self, error: str | None = None) -> HttpResponse:
        value = f'Bearer authorization="https://login.microsoftonline.com/{self.tenant_id}", resource="{self.resource}"'
        if error:
            value += f', error="{error}"'
        return self._error(
            401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", headers={"WWW-Authenticate": value}
        )

    def _handle(self, request: HttpRequest) -> HttpResponse:
        authorization = request.headers.get("Authorization")
        authorized = authorization == f"Bearer {self.token}"
        with self._lock:
            self.requests.append((request.method, request.path, authorized))
        if not authorized:
            with self._lock:
                self.counts["challenge" if authorization is None else "rejected_token"] += 1
            return self._challenge(None if authorization is None else "invalid_token")
        if not request.query_value("api-version"):
            return self._error(400, "BadParameter", "The api-version query parameter is required.")

        # /keys/{name}, /keys/{name}/, /keys/{name}/{version}, /keys/{name}/{version}/{op}
        parts = request.path.strip("/").split("/") if request.path.strip("/") else []
        if len(parts) < 2 or parts[0] != "keys" or len(parts) > 4:
            return self._error(404, "NotFound", f"No route for {request.method} {request.path}.")
        name = parts[1]
        version = parts[2] if len(parts) >= 3 else ""
        op = parts[3].lower() if len(parts) == 4 else ("get" if request.method == "GET" else "")
        if (request.method, op) not in {("GET", "get"), ("POST", "wrapkey"), ("POST", "unwrapkey")}:
            return self._error(405, "MethodNotAllowed", f"{request.method} {request.path} is not supported by the double.")

        with self._lock:
            injected = self._take_injection(op)
            if injected is not None:
                self.counts["injected"] += 1
                return injected
            try:
                versions = self._versions(name)
                entry = versions[-1] if not version else next(v for v in versions if v.version == version)
            except (KeyError, StopIteration):
                return self._error(
                    404,
                    "KeyNotFound",
                    f"A key with (name/id) {name}{'/' + version if version else ''} was not found in this key vault.",
                )
            kid = f"{self.url}/keys/{name}/{entry.version}"
            if op == "get":
                if self.forbid_get:
                    return self._error(
                        403, "Forbidden", "Caller is not authorized to perform action on resource.", "ForbiddenByRbac"
                    )
                self.counts["get"] += 1
                return HttpResponse.json(200, self._bundle(entry, kid))
            return self._crypto(op, entry, kid, request)

    def _take_injection(self, op: str) -> HttpResponse | None:
        for injection in self._injections:
            if injection.only is None or op in injection.only:
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
                return self._error(injection.status, injection.code, injection.message, headers=injection.headers)
        return None

    def _bundle(self, entry: _Version, kid: str) -> dict:
        jwk: dict = {"kid": kid, "kty": entry.kty, "key_ops": list(_KEY_OPS)}
        if entry.private_key is not None:
            numbers = entry.private_key.public_key().public_numbers()
            jwk.update(n=_b64url(_int_bytes(numbers.n)), e=_b64url(_int_bytes(numbers.e)))
        return {
            "key": jwk,
            "attributes": {
                "enabled": entry.enabled,
                "created": entry.created,
                "updated": entry.updated,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
                "exportable": False,
            },
            "tags": {},
        }

    def _crypto(self, op: str, entry: _Version, kid: str, request: HttpRequest) -> HttpResponse:
        try:
            body = request.json() or {}
            alg = body["alg"]
            value = _unb64url(body["value"])
        except (ValueError, KeyError, TypeError):
            return self._error(400, "BadParameter", "Property 'alg' and base64url property 'value' are required.")
        if op == "unwrapkey" and not entry.enabled:
            return self._error(
                403, "Forbidden", "Operation unwrapKey is not allowed on a disabled key.", "KeyDisabled"
            )
        try:
            if entry.private_key is not None:
                if alg not in _RSA_ALGS:
                    return self._error(400, "BadParameter", f"Algorithm {alg} is not supported for key type {entry.kty}.")
                if op == "wrapkey":
                    result = entry.private_key.public_key().encrypt(value, _RSA_ALGS[alg]())
                else:
                    result = entry.private_key.decrypt(value, _RSA_ALGS[alg]())
            else:
                if alg != "A256KW":
                    return self._error(400, "BadParameter", f"Algorithm {alg} is not supported for key type {entry.kty}.")
                assert entry.secret is not None
                result = aes_key_wrap(entry.secret, value) if op == "wrapkey" else aes_key_unwrap(entry.secret, value)
        except (ValueError, InvalidUnwrap):
            message = "Error occurred while decoding OAEP padding." if entry.private_key is not None else "Unwrap failed."
            return self._error(400, "BadParameter", message)
        self.counts[op] += 1
        return HttpResponse.json(200, {"kid": kid, "value": _b64url(result)})
