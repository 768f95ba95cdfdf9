"""Azure adapter of the mail port: Microsoft Graph `sendMail` with the client-credentials flow.

A token for `https://graph.microsoft.com/.default` comes from msal's ConfidentialClientApplication
(kept for the process, so msal's in-memory token cache serves every send until the token nears
expiry); the client secret comes from `secret_provider`, in Azure a cached Key Vault read
(`keyvault_secret_provider`). Then `POST {graph}/users/{sender}/sendMail`:

    202                          sent
    429                          TransientMailError(retry_after = Retry-After)
    5xx, 408, network, timeout   TransientMailError
    401                          TransientMailError; the token is dropped, the next send gets a new one
    other 4xx                    PermanentMailError (the message will never be accepted)

The body is the HTML part. Graph's JSON sendMail takes exactly one body (text or HTML); every
client that reads this mail renders HTML, our HTML carries the same words as the text part with
every value escaped, and the MIME form (which could carry both as multipart/alternative) cannot say
`saveToSentItems: false`, which keeps copies of patient mail out of the sending mailbox.

Token failures are transient, including `invalid_client` (a wrong, expired or rotated secret): the
fault is ours, not the message's. A permanent error would mark every notification failed and drop
it; a transient one leaves it to retries and then the poison queue, from which `python -m
shared_code.cli poison requeue --all` resends once the secret is fixed. On `invalid_client` the
cached secret is dropped too, so the next attempt reads Key Vault again (a rotation takes effect).

Nothing here logs or raises with a recipient, a subject, a body or the secret.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable
from urllib.parse import quote

from shared_code.adapters.retry_after import parse_retry_after
from shared_code.ports.mail import ClientSecret, Email, PermanentMailError, TransientMailError

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_BASE = "https://graph.microsoft.com/v1.0"
# Token errors that a new secret (after rotation in Key Vault) can fix.
_SECRET_ERRORS = frozenset({"invalid_client", "unauthorized_client"})


class GraphMailError(PermanentMailError):
    def __init__(self, status: int, code: str):
        super().__init__(f"Graph sendMail answered {status} {code}")
        self.status = status
        self.code = code


class GraphMailSender:
    """`secret_provider`: a ClientSecret (keyvault_secret_provider's CachedSecret), or any function
    returning the secret, which is then read afresh whenever a token is needed."""

    def __init__(self, tenant_id: str, client_id: str, sender_address: str,
                 secret_provider: ClientSecret | Callable[[], str], *,
                 authority_host: str = DEFAULT_AUTHORITY_HOST, graph_base: str = DEFAULT_GRAPH_BASE,
                 verify: bool | str = True, timeout: float = 30.0):
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._sender = sender_address
        self._secret: ClientSecret = (secret_provider if isinstance(secret_provider, CachedSecret)
                                      else CachedSecret(secret_provider, ttl_seconds=0))
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._send_url = f"{graph_base.rstrip('/')}/users/{quote(sender_address, safe='@')}/sendMail"
        self._verify = verify
        self._timeout = timeout
        self._lock = threading.Lock()
        self._app: Any = None  # built on first send: msal fetches the authority's metadata then
        self._session: Any = None

    # --- the port ---
    def send(self, email: Email) -> None:
        token = self._token()
        payload = {
            "message": {
                "subject": email.subject,
                "body": {"contentType": "HTML", "content": email.html},
                "toRecipients": [{"emailAddress": {"address": email.to}}],
            },
            "saveToSentItems": False,
        }
        import requests

        try:
            response = self._http().post(self._send_url, json=payload, headers={"Authorization": f"Bearer {token}"})
        except (requests.RequestException, OSError) as exc:
            raise TransientMailError(f"Graph sendMail unreachable ({type(exc).__name__})") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        code = _error_code(response)
        if status == 429 or status >= 500 or status == 408:
            raise TransientMailError(f"Graph sendMail answered {status} {code}",
                                     retry_after=_retry_after(response.headers.get("Retry-After")))
        if status == 401:
            self._reset_app()  # a token Graph no longer accepts: ask for a new one next time
            raise TransientMailError(f"Graph sendMail answered 401 {code}")
        raise GraphMailError(status, code)

    # --- the token ---
    def _token(self) -> str:
        try:
            app = self._msal_app()
            result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        except TransientMailError:
            raise
        except Exception as exc:  # noqa: BLE001 - network, TLS, the authority's metadata: all transient
            self._reset_app()
            raise TransientMailError(f"Graph token unavailable ({type(exc).__name__})") from None
        if result and "access_token" in result:
            return result["access_token"]
        error = (result or {}).get("error") or "unknown"
        if error in _SECRET_ERRORS:
            log.error("Graph token refused: error=%s (check the client secret in Key Vault)", error)
            self._reset_app(secret=True)
        raise TransientMailError(f"Graph token refused ({error})")

    def _msal_app(self):
        with self._lock:
            if self._app is None:
                import msal

                try:
                    secret = self._secret()
                except Exception as exc:  # noqa: BLE001 - Key Vault throttled or unreachable
                    raise TransientMailError(f"Graph client secret unavailable ({type(exc).__name__})") from None
                self._app = msal.ConfidentialClientApplication(
                    self._client_id, client_credential=secret, authority=self._authority,
                    http_client=self._http(),
                    # The authority is configuration, not user input: no instance discovery call.
                    instance_discovery=False,
                )
            return self._app

    def _reset_app(self, *, secret: bool = False) -> None:
        with self._lock:
            self._app = None
        if secret:
            self._secret.invalidate()

    def _http(self):
        """One requests session for msal and Graph. `verify` and `timeout` go on every request:
        a session-level `verify` loses to REQUESTS_CA_BUNDLE from the environment (psf/requests#3829)."""
        if self._session is None:
            import functools

            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            adapter = HTTPAdapter(max_retries=1)  # one reconnect for a dropped keep-alive, as msal does
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.request = functools.partial(session.request, verify=self._verify, timeout=self._timeout)
            self._session = session
        return self._session


class CachedSecret:
    """A ClientSecret read through `fetch` at most once per `ttl_seconds` (and again after
    `invalidate`); with `ttl_seconds=0`, at every read."""

    def __init__(self, fetch: Callable[[], str], ttl_seconds: float = 3600,
                 clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._clock = clock
        self._value: str | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._value is None or self._clock() - self._fetched_at >= self._ttl:
                self._value = self._fetch()
                self._fetched_at = self._clock()
            return self._value

    def invalidate(self) -> None:
        with self._lock:
            self._value = None


def keyvault_secret_provider(vault_url: str, name: str, credential: Any, *, ttl_seconds: float = 3600,
                             client: Any = None, **client_kwargs: Any) -> CachedSecret:
    """The Graph client secret from Key Vault (`GRAPH_SECRET_NAME`), read with the managed identity
    and kept for an hour, so a send does not cost a vault read and a rotation is picked up."""
    state: dict[str, Any] = {"client": client}

    def fetch() -> str:
        if state["client"] is None:
            from azure.keyvault.secrets import SecretClient

            state["client"] = SecretClient(vault_url, credential, **client_kwargs)
        value = state["client"].get_secret(name).value
        if not value:
            raise ValueError(f"Key Vault secret {name} is empty")
        return value

    return CachedSecret(fetch, ttl_seconds)


def _error_code(response) -> str:
    try:
        code = response.json().get("error", {}).get("code")
    except Exception:  # noqa: BLE001 - not JSON
        code = None
    return code if isinstance(code, str) and code.isascii() and len(code) <= 80 else "unknown"


_retry_after = parse_retry_after
