"""PdsDouble: a TEST DOUBLE of NHS England's Personal Demographics Service FHIR API and its OAuth
token endpoint, over real HTTPS (tests/doubles/tls.py), so the adapter's requests calls and PyJWT
signing run unmodified.

* `POST /oauth2/token`: signed-JWT client credentials. The client assertion must be an RS512 JWT
  with the registered `kid`, signed by the registered key, `iss` = `sub` = the API key, `aud` = this
  token URL, a `jti` not seen before and `exp` at most five minutes ahead; else `401
  invalid_client` / `400 invalid_request`. Answers `{access_token, expires_in: "599", token_type}`.
* `GET /personal-demographics/FHIR/R4/Patient/{nhsNumber}`: needs a bearer token it issued and an
  `X-Request-ID` (400 otherwise); answers the filed Patient (its `id` the number it is filed under:
  a superseded number answers with the current record), or 404 with an OperationOutcome
  (`RESOURCE_NOT_FOUND`), or 400 `INVALID_RESOURCE_ID` for a malformed number.

`fail_next(status, count)` injects Patient answers (503, 429). Not modelled: the NHSD-* headers of
user-restricted access, sensitive (S-flagged) records, search."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.doubles.tls import HttpRequest, HttpResponse, HttpsServer, ServedDouble

API_KEY = "pds-double-api-key"
KEY_ID = "test-1"
BASE_PATH = "/personal-demographics/FHIR/R4"


def _outcome(status: int, code: str) -> HttpResponse:
    return HttpResponse.json(status, {"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": "value" if status == 400 else "not-found",
        "details": {"coding": [{"system": "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode",
                                "code": code}]}}]}, {"content-type": "application/fhir+json"})


@dataclass
class PdsDouble(ServedDouble):
    api_key: str = API_KEY
    key_id: str = KEY_ID
    private_key: Any = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    patients: dict[str, dict] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    _tokens: set[str] = field(default_factory=set)
    _jtis: set[str] = field(default_factory=set)
    _faults: list[list[int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: HttpsServer | None = None

    @property
    def base_url(self) -> str:
        return self.server.url + BASE_PATH

    @property
    def token_url(self) -> str:
        return self.server.url + "/oauth2/token"

    @property
    def ca_bundle_path(self) -> str:
        return self.server.ca_bundle_path

    def adapter(self, **kw: Any):
        """The production adapter pointed at this double (its CA trusted; the key as Key Vault gives it)."""
        from shared_code.adapters.pds import PdsDemographics

        return PdsDemographics(self.base_url, self.token_url, self.api_key, self.key_id, self.private_key_pem,
                               verify=self.ca_bundle_path, **kw)

    def private_key_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()).decode()

    def file(self, nhs_number: str, family: str, born: date, given: str = "Alice", *,
             filed_under: str | None = None) -> None:
        """A patient PDS holds; `filed_under`: the current number a superseded `nhs_number` answers with."""
        self.patients[nhs_number] = {
            "resourceType": "Patient", "id": filed_under or nhs_number,
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": filed_under or nhs_number}],
            "name": [{"use": "usual", "family": family, "given": [given]}], "birthDate": born.isoformat()}

    def fail_next(self, status: int, count: int = 1) -> None:
        with self._lock:
            self._faults.append([status, count])

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == "/oauth2/token":
            return self._token(request)
        if request.method == "GET" and request.path.startswith(BASE_PATH + "/Patient/"):
            return self._patient(request, request.path[len(BASE_PATH + "/Patient/"):])
        return _outcome(404, "RESOURCE_NOT_FOUND")

    def _token(self, request: HttpRequest) -> HttpResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return HttpResponse.json(400, {"error": "invalid_request"})
        assertion = form.get("client_assertion", "")
        try:
            if jwt.get_unverified_header(assertion).get("kid") != self.key_id:
                raise jwt.InvalidTokenError("kid")
            claims = jwt.decode(assertion, self.private_key.public_key(), algorithms=["RS512"],
                                audience=self.token_url, options={"require": ["exp", "jti", "iss", "sub"]})
        except jwt.PyJWTError:
            return HttpResponse.json(401, {"error": "invalid_client"})
        with self._lock:
            if claims["iss"] != self.api_key or claims["sub"] != self.api_key or claims["jti"] in self._jtis \
                    or claims["exp"] > time.time() + 300 + 5:
                return HttpResponse.json(401, {"error": "invalid_client"})
            self._jtis.add(claims["jti"])
            token = "pds-double-" + uuid.uuid4().hex
            self._tokens.add(token)
        return HttpResponse.json(200, {"access_token": token, "expires_in": "599", "token_type": "Bearer"})

    def _patient(self, request: HttpRequest, nhs_number: str) -> HttpResponse:
        bearer = request.headers.get("authorization", "")
        with self._lock:
            if not bearer.startswith("Bearer ") or bearer[7:] not in self._tokens:
                return _outcome(401, "ACCESS_DENIED")
            request_id = request.headers.get("x-request-id")
            if not request_id:
                return _outcome(400, "MISSING_VALUE")
            self.request_ids.append(request_id)
            self.lookups.append(nhs_number)
            if self._faults:
                fault = self._faults[0]
                fault[1] -= 1
                if fault[1] <= 0:
                    self._faults.pop(0)
                return _outcome(fault[0], "SERVICE_UNAVAILABLE")
        if not (len(nhs_number) == 10 and nhs_number.isdigit()):
            return _outcome(400, "INVALID_RESOURCE_ID")
        found = self.patients.get(nhs_number)
        if found is None:
            return _outcome(404, "RESOURCE_NOT_FOUND")
        return HttpResponse.json(200, found, {"content-type": "application/fhir+json"})
