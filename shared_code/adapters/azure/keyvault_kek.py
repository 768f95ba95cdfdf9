"""KeyWrapper adapter: the KEK is an Azure Key Vault key (RSA-HSM, RSA-OAEP-256) or a Managed HSM
AES key (oct-HSM, A256KW). Its private/secret material never leaves the vault.

Only the Azure composition root imports this module (it imports the Azure SDK); the domain sees
the `KeyWrapper` port.

How each operation reaches the vault:
* `current_kid()` / `wrap()` need the newest version's id: one `GET /keys/{name}` per
  `current_key_ttl` (5 minutes by default), not one per wrap. Rotating the key in the vault
  therefore takes up to that long to reach new wraps; old versions keep unwrapping, so that is safe.
* RSA-OAEP-256: `CryptographyClient.wrap_key` wraps locally with the cached public key (no request);
  `unwrap_key` always goes to Key Vault (`POST .../{version}/unwrapkey`).
* A256KW (Managed HSM): both wrap and unwrap are sent as `POST .../{version}/wrapkey|unwrapkey`
  through `KeyClient.send_request`, NOT through `CryptographyClient`: azure-keyvault-keys 4.11.3
  builds a local provider from the `oct-HSM` bundle, which carries no key material, and its
  `SymmetricKey` then silently generates a random key and "wraps" locally with it, producing
  ciphertext that nothing can ever unwrap (shown by
  tests/contract/test_key_wrapper.py::test_sdk_local_wrap_of_oct_hsm_key_is_unrecoverable).

Errors:
* `KeyUnavailable` (here the subclass `KeyVaultUnavailable`, with `status_code`, `error_code` and
  `retry_after` seconds when Key Vault sent `Retry-After`): throttling (429), 5xx, network errors and
  timeouts, authentication failures, 403 (no permission, or the version is disabled: Key Vault
  answers unwrap of a disabled key with 403 `KeyDisabled`), 404 (version deleted), the newest
  version being disabled/expired/not yet valid. Transient or operational: retry later, page ops.
* `ValueError`: the wrapped key itself is bad: Key Vault's 400 `BadParameter` on unwrap (tampered
  or truncated ciphertext), a `kid` that does not name a version of this vault's key, an algorithm
  other than the configured ones. The crypto layer maps it to a decryption failure.
"""
from __future__ import annotations

from shared_code.adapters.retry_after import parse_retry_after

import base64
import re
import threading
import time
from typing import Any, Callable
from urllib.parse import urlsplit

from shared_code.ports.keys import KeyUnavailable, WrappedKey
from shared_code.telemetry import metrics

RSA_OAEP_256 = "RSA-OAEP-256"
A256KW = "A256KW"
SUPPORTED_ALGORITHMS = frozenset({RSA_OAEP_256, A256KW})
_SEGMENT = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_MAX_CLIENTS = 32  # CryptographyClients kept (one per KEK version seen); each holds a connection pool


class KeyVaultUnavailable(KeyUnavailable):
    """Key Vault refused or could not be reached. `retry_after` (seconds) is set when the vault
    said when to come back (429/503 `Retry-After`)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.retry_after = retry_after


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is None or (parts.scheme.lower() == "https" and port == 443):
        return f"{parts.scheme.lower()}://{host}"
    return f"{parts.scheme.lower()}://{host}:{port}"


def _retry_after(headers) -> float | None:
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value:
        return parse_retry_after(value)
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / 1000.0)
            except ValueError:
                return None
    return None


def _error_details(response) -> tuple[str | None, str | None, str]:
    """(code, innererror code, message) from a Key Vault error body, tolerating anything."""
    try:
        error = response.json().get("error") or {}
        inner = error.get("innererror") or error.get("innerError") or {}
        return error.get("code"), inner.get("code"), str(error.get("message") or "")
    except Exception:  # noqa: BLE001 - an unreadable body is still an error response
        return None, None, ""


class KeyVaultKeyWrapper:
    """`KeyWrapper` over an Azure Key Vault / Managed HSM key.

    `client_kwargs` go to every SDK client (KeyClient, CryptographyClient): e.g.
    `connection_verify=<CA bundle>`, `verify_challenge_resource=False` (tests against a double),
    `retry_total=...`, `transport=...`. Defaults here: `retry_total=2` (a throttled vault surfaces as
    `KeyUnavailable` instead of holding a request through ten retries), `connection_timeout=10`,
    `read_timeout=30`.
    """

    def __init__(
        self,
        vault_url: str,
        key_name: str,
        credential: Any,
        algorithm: str = RSA_OAEP_256,
        *,
        current_key_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        **client_kwargs: Any,
    ):
        from azure.keyvault.keys import KeyClient

        if algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"unsupported KEK algorithm {algorithm!r}; use one of {sorted(SUPPORTED_ALGORITHMS)}")
        if not _SEGMENT.match(key_name):
            raise ValueError(f"bad Key Vault key name {key_name!r}")
        self._vault_url = vault_url.rstrip("/")
        self._origin = _origin(self._vault_url)
        self._key_name = key_name
        self._credential = credential
        self._algorithm = algorithm
        self._ttl = current_key_ttl
        self._clock = clock
        client_kwargs.setdefault("retry_total", 2)
        client_kwargs.setdefault("connection_timeout", 10)
        client_kwargs.setdefault("read_timeout", 30)
        self._client_kwargs = client_kwargs
        self._key_client = KeyClient(self._vault_url, credential, **client_kwargs)
        self._lock = threading.Lock()
        self._current: Any = None  # KeyVaultKey of the newest version
        self._current_until = 0.0
        self._crypto_clients: dict[str, Any] = {}  # kid -> CryptographyClient (RSA only)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    # -- port ----------------------------------------------------------------------------------------

    def current_kid(self) -> str:
        return self._current_key().id

    def wrap(self, key: bytes) -> WrappedKey:
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise ValueError("wrap() takes the data key as non-empty bytes")
        current = self._current_key()
        kid = current.id
        if self._algorithm == A256KW:
            ciphertext = self._remote(kid, "wrapkey", bytes(key))
        else:
            from azure.keyvault.keys.crypto import KeyWrapAlgorithm

            client = self._crypto_client(kid, current)
            try:
                ciphertext = client.wrap_key(KeyWrapAlgorithm(self._algorithm), bytes(key)).encrypted_key
            except Exception as exc:  # noqa: BLE001 - mapped or re-raised below
                raise self._translate(exc, "wrap", kid) from exc
        return WrappedKey(kid=kid, alg=self._algorithm, ciphertext=ciphertext)

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        kid = self._validate_kid(wrapped.kid)
        if wrapped.alg not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"wrapped key uses unsupported algorithm {wrapped.alg!r}")
        if not wrapped.ciphertext:
            raise ValueError("wrapped key has an empty ciphertext")
        if wrapped.alg == A256KW:
            return self._remote(kid, "unwrapkey", wrapped.ciphertext)
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        client = self._crypto_client(kid, None)
        try:
            return client.unwrap_key(KeyWrapAlgorithm(wrapped.alg), wrapped.ciphertext).key
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, "unwrap", kid) from exc

    def check(self) -> None:
        """Fetch the newest version now (bypassing the cache): raises KeyUnavailable if the key is
        missing, disabled, expired, not permitted, throttled or unreachable."""
        self._current_key(force=True)

    # -- extras --------------------------------------------------------------------------------------

    def refresh(self) -> str:
        """Forget the cached newest version (e.g. right after a rotation) and return the new kid."""
        return self._current_key(force=True).id

    def close(self) -> None:
        with self._lock:
            clients, self._crypto_clients = list(self._crypto_clients.values()), {}
        for client in clients:
            client.close()
        self._key_client.close()

    def __enter__(self) -> "KeyVaultKeyWrapper":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------------

    def _current_key(self, force: bool = False):
        now = self._clock()
        with self._lock:
            if not force and self._current is not None and now < self._current_until:
                return self._current
        try:
            key = self._key_client.get_key(self._key_name)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, "get", f"{self._vault_url}/keys/{self._key_name}") from exc
        props = key.properties
        if props.enabled is False:
            raise KeyVaultUnavailable(f"the newest version of the KEK is disabled: {key.id}", error_code="KeyDisabled")
        wall = time.time()
        if props.not_before is not None and props.not_before.timestamp() > wall:
            raise KeyVaultUnavailable(f"the newest version of the KEK is not valid before {props.not_before}: {key.id}")
        if props.expires_on is not None and props.expires_on.timestamp() <= wall:
            raise KeyVaultUnavailable(f"the newest version of the KEK expired at {props.expires_on}: {key.id}")
        if self._origin_of(key.id) != self._origin:
            raise KeyVaultUnavailable(f"Key Vault returned a key id outside {self._vault_url}: {key.id}")
        with self._lock:
            self._current = key
            self._current_until = self._clock() + self._ttl
        return key

    @staticmethod
    def _origin_of(kid: str) -> str:
        return _origin(kid)

    def _validate_kid(self, kid: str) -> str:
        """The kid must name a version of *this* key in *this* vault: a stored kid is data, and a
        forged one must not send our bearer token (or our ciphertext) anywhere else."""
        parts = urlsplit(kid or "")
        segments = parts.path.strip("/").split("/")
        if (
            _origin(kid or "") != self._origin
            or parts.query
            or parts.fragment
            or len(segments) != 3
            or segments[0] != "keys"
            or segments[1] != self._key_name
            or not _SEGMENT.match(segments[2])
        ):
            raise ValueError(f"{kid!r} is not a version of KEK {self._vault_url}/keys/{self._key_name}")
        return f"{self._vault_url}/keys/{self._key_name}/{segments[2]}"

    def _crypto_client(self, kid: str, key: Any):
        from azure.keyvault.keys.crypto import CryptographyClient

        with self._lock:
            client = self._crypto_clients.get(kid)
            if client is not None:
                return client
            # From the KeyVaultKey when we have it (no extra GET); from the id otherwise (the SDK
            # GETs that version once; a 403 there makes it fall back to remote-only operations).
            client = CryptographyClient(key if key is not None else kid, self._credential, **self._client_kwargs)
            self._crypto_clients[kid] = client
            evicted = []
            while len(self._crypto_clients) > _MAX_CLIENTS:
                oldest = next(iter(self._crypto_clients))
                evicted.append(self._crypto_clients.pop(oldest))
        for old in evicted:
            old.close()
        return client

    def _remote(self, kid: str, operation: str, value: bytes) -> bytes:
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest

        version = kid.rsplit("/", 1)[1]
        request = HttpRequest(
            "POST",
            f"/keys/{self._key_name}/{version}/{operation}",
            json={"alg": A256KW, "value": _b64url(value)},
        )
        what = "wrap" if operation == "wrapkey" else "unwrap"
        try:
            response = self._key_client.send_request(request)
            if response.status_code != 200:
                raise HttpResponseError(response=response)
            return _unb64url(response.json()["value"])
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, what, kid) from exc

    def _translate(self, exc: Exception, operation: str, kid: str) -> Exception:
        """Map an SDK/transport exception to KeyUnavailable or ValueError (see module docstring)."""
        from azure.core.exceptions import AzureError, HttpResponseError

        if isinstance(exc, KeyUnavailable):
            return exc
        if isinstance(exc, ValueError) and not isinstance(exc, AzureError):
            if operation == "unwrap":
                return exc
            # get/wrap: e.g. the SDK refusing a key outside its nbf/exp window, or a challenge whose
            # resource does not match the vault URL. The key cannot be used: say so, don't blame the data.
            return KeyVaultUnavailable(f"Key Vault {operation} with {kid} is not possible: {exc}")
        if isinstance(exc, HttpResponseError) and exc.response is not None and exc.status_code is not None:
            status = exc.status_code
            if status == 429:  # still throttled after the SDK's own retries
                metrics.key_vault_throttled(operation)
            code, inner, message = _error_details(exc.response)
            disabled = inner == "KeyDisabled" or "disabled" in message.lower() or "not permitted" in message.lower()
            if status == 400 and not disabled:
                return ValueError(
                    f"Key Vault rejected the {operation} with {kid}: {code or 'BadRequest'}: {message or exc.reason}"
                )
            return KeyVaultUnavailable(
                f"Key Vault {operation} with {kid} failed: HTTP {status} {inner or code or ''} {message}".rstrip(),
                status_code=status,
                error_code=inner or code,
                retry_after=_retry_after(exc.response.headers),
            )
        if isinstance(exc, AzureError):
            # ServiceRequestError (connect), ServiceResponseError (read/timeout),
            # ClientAuthenticationError from the credential, and other transport failures.
            return KeyVaultUnavailable(f"Key Vault {operation} with {kid} failed: {type(exc).__name__}: {exc}")
        return exc
