"""GraphDouble: a TEST DOUBLE of the Microsoft identity platform's token endpoint and Graph
`sendMail`, served over real HTTPS (tests/doubles/tls.py), so msal and requests run unmodified.

* `GET /{tenant}/v2.0/.well-known/openid-configuration`: the tenant discovery document msal reads
  when it builds a ConfidentialClientApplication (instance discovery is off for this authority);
* `POST /{tenant}/oauth2/v2.0/token`: client credentials. A wrong client id or secret is
  `401 invalid_client` (as Entra answers, AADSTS7000215); otherwise a bearer token for the scope
  `https://graph.microsoft.com/.default`, valid `token_lifetime` seconds;
* `POST /v1.0/users/{sender}/sendMail`: checks the bearer token and the message's shape, records it
  and answers `202 Accepted` with an empty body, like Graph. Unknown senders are `404
  ErrorInvalidUser`; a message without recipients is `400 ErrorInvalidRecipients`.

`fail_next(status, count, code=..., headers=...)` injects sendMail answers (429 with Retry-After,
503, 400); `fail_token_next(...)` does the same for the token endpoint.

Not modelled: certificates or assertions, token expiry enforcement, attachments, MIME sendMail.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from tests.doubles.tls import HttpRequest, HttpResponse, HttpsServer, ServedDouble

DEFAULT_TENANT = "0d9f1ab5-0000-4000-8000-00000000c0de"
DEFAULT_CLIENT_ID = "11111111-2222-4333-8444-555555555555"
DEFAULT_SECRET = "graph-double-secret"
DEFAULT_SENDER = "notifications@telederm.example"


@dataclass
class _Injection:
    status: int
    remaining: int
    code: str
    headers: dict[str, str]


@dataclass
class GraphDouble(ServedDouble):
    tenant: str = DEFAULT_TENANT
    client_id: str = DEFAULT_CLIENT_ID
    secret: str = DEFAULT_SECRET
    sender: str = DEFAULT_SENDER
    token_lifetime: int = 3600
    sent: list[dict] = field(default_factory=list)
    token_requests: list[dict] = field(default_factory=list)
    send_attempts: int = 0
    _tokens: set[str] = field(default_factory=set)
    _send_faults: list[_Injection] = field(default_factory=list)
    _token_faults: list[_Injection] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: HttpsServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def ca_bundle_path(self) -> str:
        assert self.server is not None
        return self.server.ca_bundle_path

    @property
    def graph_base(self) -> str:
        return self.url + "/v1.0"

    # --- faults ---
    def fail_next(self, status: int, count: int = 1, *, code: str = "ServiceUnavailable",
                  headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._send_faults.append(_Injection(status, count, code, dict(headers or {})))

    def fail_token_next(self, status: int, count: int = 1, *, code: str = "temporarily_unavailable",
                        headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._token_faults.append(_Injection(status, count, code, dict(headers or {})))

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    @staticmethod
    def _take(faults: list[_Injection]) -> _Injection | None:
        if not faults:
            return None
        fault = faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.pop(0)
        return fault

    # --- routing ---
    def handle(self, request: HttpRequest) -> HttpResponse:
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if request.method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._discovery(parts[0])
        if request.method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self._token(parts[0], request)
        if request.method == "POST" and len(parts) == 4 and parts[0] == "v1.0" and parts[1] == "users" \
                and parts[3] == "sendMail":
            return self._send_mail(parts[2], request)
        return HttpResponse.json(404, {"error": {"code": "NotFound", "message": request.path}})

    def _discovery(self, tenant: str) -> HttpResponse:
        if tenant != self.tenant:
            return HttpResponse.json(400, {"error": "invalid_tenant", "error_description": "AADSTS90002"})
        base = f"{self.url}/{tenant}"
        return HttpResponse.json(200, {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": "EU",
        })

    def _token(self, tenant: str, request: HttpRequest) -> HttpResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        with self._lock:
            self.token_requests.append({k: v for k, v in form.items() if k != "client_secret"})
            fault = self._take(self._token_faults)
        if fault is not None:
            return HttpResponse.json(fault.status, {"error": fault.code, "error_description": "injected"},
                                     fault.headers)
        if tenant != self.tenant:
            return HttpResponse.json(400, {"error": "invalid_request", "error_description": "AADSTS90002: tenant"})
        if form.get("grant_type") != "client_credentials":
            return HttpResponse.json(400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.secret:
            return HttpResponse.json(401, {"error": "invalid_client",
                                           "error_description": "AADSTS7000215: Invalid client secret provided."})
        if form.get("scope") != "https://graph.microsoft.com/.default":
            return HttpResponse.json(400, {"error": "invalid_scope", "error_description": "AADSTS1002012"})
        token = "graph-double-" + uuid.uuid4().hex
        with self._lock:
            self._tokens.add(token)
        return HttpResponse.json(200, {"token_type": "Bearer", "expires_in": self.token_lifetime,
                                       "ext_expires_in": self.token_lifetime, "access_token": token})

    def _send_mail(self, sender: str, request: HttpRequest) -> HttpResponse:
        auth = request.headers.get("Authorization") or ""
        with self._lock:
            self.send_attempts += 1
            valid = auth.startswith("Bearer ") and auth[7:] in self._tokens
            fault = self._take(self._send_faults) if valid else None
        if not valid:
            return HttpResponse.json(401, {"error": {"code": "InvalidAuthenticationToken",
                                                     "message": "Access token validation failure."}})
        if fault is not None:
            return HttpResponse.json(fault.status, {"error": {"code": fault.code, "message": "injected"}},
                                     fault.headers)
        if sender.lower() != self.sender.lower():
            return HttpResponse.json(404, {"error": {"code": "ErrorInvalidUser",
                                                     "message": "The requested user is invalid."}})
        try:
            body = request.json()
            message = body["message"]
            recipients = [r["emailAddress"]["address"] for r in message.get("toRecipients", [])]
            content_type = message["body"]["contentType"]
        except (ValueError, KeyError, TypeError):
            return HttpResponse.json(400, {"error": {"code": "ErrorInvalidRequest", "message": "Bad message"}})
        if not recipients:
            return HttpResponse.json(400, {"error": {"code": "ErrorInvalidRecipients",
                                                     "message": "At least one recipient is not valid."}})
        if content_type not in ("HTML", "Text", "html", "text"):
            return HttpResponse.json(400, {"error": {"code": "ErrorInvalidRequest", "message": "contentType"}})
        with self._lock:
            self.sent.append({"sender": sender, "to": recipients, "subject": message.get("subject"),
                              "contentType": content_type, "content": message["body"]["content"],
                              "saveToSentItems": body.get("saveToSentItems", True)})
        return HttpResponse(202, b"", {})
