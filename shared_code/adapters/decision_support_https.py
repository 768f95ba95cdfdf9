"""A decision-support provider over HTTPS (the port: shared_code/ports/decision_support.py).

No public API of such a provider was found (DOMAIN.md), so this adapter fixes a small one, which a
provider integration maps onto its own:

    POST {DECISION_SUPPORT_URL}/assessments      multipart/form-data
        image    the image bytes, with their content type
        context  application/json {"view", "bodySite", "laterality", "sizeMm"}: no patient identity
        X-Request-ID: a fresh uuid (the provider's logs and ours meet on it, and on nothing else)
    200 {"modelVersion", "predictedClass", "riskTier": benign|premalignant|malignant,
         "recommendation": discharge|refer}

Credential, in this order: a Microsoft Entra token for DECISION_SUPPORT_SCOPE from the managed
identity, where the provider accepts one (no secret exists at all); else an API key, the Key Vault
secret DECISION_SUPPORT_API_KEY_SECRET_NAME read with the managed identity (cached an hour, read
again after a 401), sent as `x-api-key`.

Answers: 429 -> Throttled(Retry-After); 5xx, 401/403, a timeout or a network failure -> Unavailable;
other 4xx -> Rejected; a 200 this adapter cannot read -> Malformed. Nothing the provider says is
logged or stored beyond the four fields."""
from __future__ import annotations

import json
import uuid
from typing import Any, Callable

from shared_code.adapters.retry_after import parse_retry_after
from shared_code.ports.decision_support import (
    Assessment, AssessmentContext, Malformed, Rejected, Throttled, Unavailable,
)
from shared_code.referrals.records import Recommendation, RiskTier

_MAX_CLASS_LENGTH = 80


class HttpsDecisionSupport:
    def __init__(self, name: str, base_url: str, auth_headers: Callable[[], dict[str, str]], *,
                 on_unauthorised: Callable[[], None] = lambda: None, verify: bool | str = True,
                 timeout: float = 20.0):
        self.name = name
        self._url = base_url.rstrip("/") + "/assessments"
        self._auth_headers = auth_headers
        self._on_unauthorised = on_unauthorised
        self._verify = verify
        self._timeout = timeout
        self._session: Any = None

    def assess(self, image: bytes, content_type: str, context: AssessmentContext) -> Assessment:
        import requests

        body = {"view": context.view, "bodySite": context.body_site, "laterality": context.laterality,
                "sizeMm": context.size_mm}
        try:
            headers = {**self._auth_headers(), "X-Request-ID": str(uuid.uuid4()), "Accept": "application/json"}
            response = self._http().post(
                self._url, headers=headers, verify=self._verify, timeout=self._timeout,
                files={"image": ("image", image, content_type),
                       "context": ("context.json", json.dumps(body), "application/json")})
        except requests.RequestException as exc:
            raise Unavailable(type(exc).__name__) from None
        except Exception as exc:  # noqa: BLE001 - the credential (token or Key Vault) could not be had
            raise Unavailable(f"credential: {type(exc).__name__}") from None
        status = response.status_code
        if status == 429:
            raise Throttled(parse_retry_after(response.headers.get("Retry-After")))
        if status in (401, 403):
            self._on_unauthorised()  # a rotated key or a revoked token: fetch it again next time
            raise Unavailable(f"provider answered {status}")
        if status >= 500:
            raise Unavailable(f"provider answered {status}")
        if status != 200:
            raise Rejected(f"provider answered {status}")
        return _assessment(response)

    def _http(self):
        # One session, connections reused; `verify` and `timeout` on each call (a session-level
        # `verify` loses to REQUESTS_CA_BUNDLE, psf/requests#3829).
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session


def _assessment(response) -> Assessment:
    try:
        answer = response.json()
        model_version, predicted = answer["modelVersion"], answer["predictedClass"]
        if not (isinstance(model_version, str) and model_version and isinstance(predicted, str)
                and 0 < len(predicted) <= _MAX_CLASS_LENGTH):
            raise ValueError("modelVersion/predictedClass")
        return Assessment(model_version=model_version[:_MAX_CLASS_LENGTH], predicted_class=predicted,
                          risk_tier=RiskTier(answer["riskTier"]),
                          recommendation=Recommendation(answer["recommendation"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise Malformed(type(exc).__name__) from None


def build_decision_support(settings, credential: Any) -> HttpsDecisionSupport | None:
    """The provider when DECISION_SUPPORT_URL is set, else None (locally: nothing is ever sent)."""
    if not settings.decision_support_url:
        return None
    if not settings.decision_support_url.startswith("https://"):
        raise ValueError("DECISION_SUPPORT_URL must be https://")
    options = {"timeout": settings.decision_support_timeout_seconds}
    if settings.decision_support_scope:
        scope = settings.decision_support_scope

        def bearer() -> dict[str, str]:
            # azure-identity caches the token until shortly before it expires.
            return {"Authorization": f"Bearer {credential.get_token(scope).token}"}

        return HttpsDecisionSupport(settings.decision_support_provider, settings.decision_support_url, bearer,
                                    **options)
    if not (settings.key_vault_uri and settings.decision_support_api_key_secret_name):
        raise ValueError("DECISION_SUPPORT_URL needs DECISION_SUPPORT_SCOPE, or KEY_VAULT_URI and "
                         "DECISION_SUPPORT_API_KEY_SECRET_NAME")
    from shared_code.adapters.azure.graph_mail import keyvault_secret_provider

    key = keyvault_secret_provider(settings.key_vault_uri, settings.decision_support_api_key_secret_name, credential)
    return HttpsDecisionSupport(settings.decision_support_provider, settings.decision_support_url,
                                lambda: {"x-api-key": key()}, on_unauthorised=key.invalidate, **options)
