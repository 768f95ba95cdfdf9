"""The national demographics service over HTTPS: PDS FHIR R4 (NHS England's Personal Demographics
Service), `GET {base}/Patient/{nhsNumber}`, as an application-restricted API.

Authentication is NHS England's signed-JWT client credentials: a JWT (RS512, header `kid` = the
registered public key's id; `iss` = `sub` = the application's API key, `aud` = the token URL, a
fresh `jti`, `exp` five minutes ahead) is exchanged at the token URL for a bearer token, kept until
a minute before it expires. The private key (PEM) is a Key Vault secret read with the managed
identity (PDS itself accepts no Azure identity). Every request carries a fresh `X-Request-ID`.

Answers: 200 the Patient (its `id` is the NHS number it is filed under; a superseded number answers
with the current record); 404 (`RESOURCE_NOT_FOUND`), 400 `INVALID_RESOURCE_ID` and 410 (number
invalidated) are "no such patient"; anything else, a timeout or a network failure is
DemographicsUnavailable. The caller never learns why beyond that, and no log line names the number."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from typing import Any, Callable

import jwt

from shared_code.ports.demographics import DemographicRecord, DemographicsUnavailable

_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_TOKEN_MARGIN_SECONDS = 60
_NO_SUCH_PATIENT = {404, 410}


class PdsDemographics:
    def __init__(self, base_url: str, token_url: str, api_key: str, key_id: str, private_key: Callable[[], str], *,
                 verify: bool | str = True, timeout: float = 3.0, clock: Callable[[], float] = time.time):
        self._base = base_url.rstrip("/")
        self._token_url = token_url
        self._api_key = api_key
        self._key_id = key_id
        self._private_key = private_key
        self._verify = verify
        self._timeout = timeout
        self._clock = clock
        self._token: tuple[str, float] | None = None  # (bearer token, expires at)
        self._lock = threading.Lock()
        self._session: Any = None

    def lookup(self, nhs_number: str) -> DemographicRecord | None:
        import requests

        try:
            response = self._http().get(
                f"{self._base}/Patient/{nhs_number}",
                headers={"Authorization": f"Bearer {self._bearer()}", "X-Request-ID": str(uuid.uuid4()),
                         "Accept": "application/fhir+json"},
                verify=self._verify, timeout=self._timeout)
        except requests.RequestException as exc:
            raise DemographicsUnavailable(type(exc).__name__) from None
        if response.status_code == 401:
            with self._lock:
                self._token = None  # revoked or expired early: the next trace signs in again
        if response.status_code in _NO_SUCH_PATIENT or (
                response.status_code == 400 and _issue_code(response) == "INVALID_RESOURCE_ID"):
            return None
        if response.status_code != 200:
            raise DemographicsUnavailable(f"PDS answered {response.status_code}")
        try:
            return _record(response.json())
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DemographicsUnavailable("PDS answered a Patient this adapter cannot read") from exc

    def _bearer(self) -> str:
        import requests

        with self._lock:
            if self._token is not None and self._clock() < self._token[1] - _TOKEN_MARGIN_SECONDS:
                return self._token[0]
            now = int(self._clock())
            assertion = jwt.encode(
                {"iss": self._api_key, "sub": self._api_key, "aud": self._token_url, "jti": str(uuid.uuid4()),
                 "iat": now, "exp": now + 300},
                self._private_key(), algorithm="RS512", headers={"kid": self._key_id})
            try:
                response = self._http().post(self._token_url, data={
                    "grant_type": "client_credentials", "client_assertion_type": _ASSERTION_TYPE,
                    "client_assertion": assertion}, verify=self._verify, timeout=self._timeout)
            except requests.RequestException as exc:
                raise DemographicsUnavailable(type(exc).__name__) from None
            if response.status_code != 200:
                raise DemographicsUnavailable(f"the PDS token endpoint answered {response.status_code}")
            body = response.json()
            self._token = (body["access_token"], now + int(body.get("expires_in", 300)))
            return self._token[0]

    def _http(self):
        # One session: connections are reused across traces. `verify` and `timeout` go on each call
        # (a session-level `verify` loses to REQUESTS_CA_BUNDLE, psf/requests#3829).
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session


def _record(patient: dict[str, Any]) -> DemographicRecord:
    if patient.get("resourceType") != "Patient":
        raise ValueError("not a Patient")
    born = patient.get("birthDate")
    families = tuple(name["family"] for name in patient.get("name", [])
                     if isinstance(name.get("family"), str) and name.get("use") != "old")
    return DemographicRecord(nhs_number=str(patient["id"]), family_names=families,
                             birth_date=date.fromisoformat(born) if born and len(born) == 10 else None)


def _issue_code(response) -> str | None:
    try:
        issue = response.json()["issue"][0]
        return issue["details"]["coding"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def build_pds(settings, credential: Any) -> PdsDemographics | None:
    """The PDS adapter when PDS_BASE_URL is set (azure mode), else None: no trace."""
    if not settings.pds_base_url:
        return None
    needed = {"PDS_TOKEN_URL": settings.pds_token_url, "PDS_API_KEY": settings.pds_api_key,
              "PDS_KEY_ID": settings.pds_key_id, "KEY_VAULT_URI": settings.key_vault_uri}
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise ValueError("PDS_BASE_URL needs " + ", ".join(missing))
    from shared_code.adapters.azure.graph_mail import keyvault_secret_provider

    private_key = keyvault_secret_provider(settings.key_vault_uri, settings.pds_private_key_secret_name, credential)
    return PdsDemographics(settings.pds_base_url, settings.pds_token_url, settings.pds_api_key, settings.pds_key_id,
                           private_key, timeout=settings.pds_timeout_seconds)
