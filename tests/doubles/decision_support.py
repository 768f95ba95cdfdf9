"""DecisionSupportDouble: a TEST DOUBLE of an AI decision-support provider (DERM-like), over real HTTPS
(tests/doubles/tls.py), speaking the API shared_code/adapters/decision_support_https.py fixes.

* `POST /v1/assessments` (multipart/form-data: `image` with its content type, `context` JSON): needs
  `x-api-key` = the double's key, or a bearer token it was given (401 otherwise) and an `X-Request-ID`
  (400 otherwise); a non-image part or a context naming a patient is 400. Answers
  `{modelVersion, predictedClass, riskTier, recommendation}`: BENIGN unless scripted.
* `script(*answers)`: what the next assessments answer, in order. Each is an `Answer`: a status with
  a JSON body and headers (429 with Retry-After, 503, a 200 with a malformed body, ...), and an
  optional latency (the double sleeps before answering: a slow provider, or, past the adapter's
  timeout, a timed-out one).

Every assessment received is kept (`received`: the context and the image's content type and size),
so a test can prove what left the service and what did not."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.doubles.tls import HttpRequest, HttpResponse, HttpsServer, ServedDouble

API_KEY = "decision-support-double-key"
BASE_PATH = "/v1"
BENIGN = {"modelVersion": "derm-double-2.4.1", "predictedClass": "seborrhoeic_keratosis", "riskTier": "benign",
          "recommendation": "discharge"}
MELANOMA = {"modelVersion": "derm-double-2.4.1", "predictedClass": "melanoma", "riskTier": "malignant",
            "recommendation": "refer"}
_IDENTIFYING = ("name", "nhsNumber", "dateOfBirth", "patient", "description", "email")


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None  # JSON, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0

    def response(self) -> HttpResponse:
        if isinstance(self.body, bytes):
            return HttpResponse(self.status, self.body, {"Content-Type": "application/json", **self.headers})
        return HttpResponse.json(self.status, BENIGN if self.body is None and self.status == 200 else self.body,
                                 self.headers)


def throttled(retry_after: str = "1") -> Answer:
    return Answer(429, {"error": "rate_limited"}, {"Retry-After": retry_after})


def server_error(status: int = 503) -> Answer:
    return Answer(status, {"error": "unavailable"})


def malformed() -> Answer:
    return Answer(200, {"modelVersion": "derm-double-2.4.1", "riskTier": "catastrophic"})


@dataclass
class DecisionSupportDouble(ServedDouble):
    api_key: str = API_KEY
    received: list[dict[str, Any]] = field(default_factory=list)
    _script: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: HttpsServer | None = None

    @property
    def base_url(self) -> str:
        return self.server.url + BASE_PATH

    def adapter(self, **kw: Any):
        """The production adapter pointed at this double (its CA trusted; the key as Key Vault gives it)."""
        from shared_code.adapters.decision_support_https import HttpsDecisionSupport

        return HttpsDecisionSupport("DERM", self.base_url, lambda: {"x-api-key": self.api_key},
                                    verify=self.server.ca_bundle_path, **kw)

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path != BASE_PATH + "/assessments":
            return HttpResponse.json(404, {"error": "not_found"})
        if request.headers.get("x-api-key") != self.api_key:
            return HttpResponse.json(401, {"error": "unauthorised"})
        if not request.headers.get("x-request-id"):
            return HttpResponse.json(400, {"error": "missing X-Request-ID"})
        parts = _multipart(request)
        image, context = parts.get("image"), parts.get("context")
        if image is None or context is None or not image[0].startswith("image/"):
            return HttpResponse.json(400, {"error": "image and context required"})
        fields = json.loads(context[1])
        if any(key in fields for key in _IDENTIFYING):
            return HttpResponse.json(400, {"error": "no patient identity in the context"})
        with self._lock:
            self.received.append({"context": fields, "contentType": image[0], "size": len(image[1])})
            answer = self._script.pop(0) if self._script else Answer()
        if answer.latency:
            time.sleep(answer.latency)
        return answer.response()


def _multipart(request: HttpRequest) -> dict[str, tuple[str, bytes]]:
    """The form's parts by name: (content type, bytes)."""
    head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        return {}
    return {part.get_param("name", header="content-disposition"): (part.get_content_type(),
                                                                    part.get_payload(decode=True) or b"")
            for part in message.iter_parts()}
