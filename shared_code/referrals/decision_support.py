"""AI decision support for referrals (DERM-style), advisory only: it never changes a referral's status.

    plan(referral, service)   at submission, BEFORE the write (pure): each lesion with a dermoscopic
                              image whose assessment is missing, failed, or of an older image is marked
                              `queued`, when the service is `advisory` AND a provider is configured
    enqueue(referral)         AFTER the write: one message per queued lesion on `decision-support`
    handle(body, attempt)     the queue's worker: read the image (ReferralImages.open), send it with a
                              context free of patient identity, write the result on the lesion
    view(referral, service)   what the service's reviewers see (`decisionSupport` in the detail);
                              the referrer never gets it
    has_result(referral)      whether any lesion has a result (the outcome's `decisionSupportAgreement`
                              needs one)

Retries are the worker's own, so each waits as long as it should: a 429 comes back after Retry-After
(capped at DECISION_SUPPORT_MAX_WAIT_SECONDS; at most DECISION_SUPPORT_MAX_THROTTLED times); a 5xx,
timeout or unreadable answer after DECISION_SUPPORT_RETRY_SECONDS, doubling, and after
DECISION_SUPPORT_MAX_ATTEMPTS the lesion's assessment is `failed` (a short code, never provider text).
The retry is a new message sent with a visibility delay before this one is acknowledged; anything
else that goes wrong (the document store, the key service) raises, and the Functions host redelivers
and finally parks the message in `decision-support-poison`.

A message names the lesion, the image and the `queuedAt` of the plan that sent it: a message of an
older plan (the referral came back with new images) is dropped, so one image is assessed once per plan.
The result is written with the referral's ETag (re-read and re-applied on a conflict) and touches only
`lesion.decisionSupport`. Eligibility: shared_code/referrals/eligibility.py."""
from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from shared_code.clock import Clock, iso
from shared_code.errors import Busy, NotFoundError
from shared_code.images.contract import ImageStream
from shared_code.images.records import StoredImage
from shared_code.ports.decision_support import (
    AssessmentContext, DecisionSupportError, DecisionSupportProvider, Rejected, Throttled,
)
from shared_code.notifications.pump import PumpResult, pump_queue
from shared_code.ports.errors import PreconditionFailed
from shared_code.ports.queues import MessageQueue
from shared_code.referrals.eligibility import dermoscopic_image, ineligible_reason, shown_recommendation
from shared_code.referrals.records import (
    DecisionSupportMode, DecisionSupportResult, DecisionSupportStatus, Lesion, LesionDecisionSupport, Referral,
    ReferralService, ReferralStatus,
)
from shared_code.referrals.repository import ReferralRepository
from shared_code.settings import DECISION_SUPPORT_POISON_QUEUE, DECISION_SUPPORT_QUEUE, Settings

log = logging.getLogger(__name__)

_WRITE_ATTEMPTS = 5
_NOT_SENT_WHEN = (ReferralStatus.DRAFT, ReferralStatus.CANCELLED)  # nothing leaves for a withdrawn referral
NOTICE = ("Decision support: an automated assessment of the dermoscopic image, advisory only. It does not "
          "triage this referral; the reviewer's outcome does.")
NOT_CONFIGURED = "No decision-support provider is configured for this deployment: no image was sent for assessment."
OFF = "This service has decision support turned off: no image was sent for assessment."


class LesionImages(Protocol):
    """What decision support needs of the referral's images (shared_code/referrals/images.py)."""

    def open(self, referral: Referral, image_id: str, variant: str) -> ImageStream: ...

    def images(self, referral: Referral) -> list[StoredImage]: ...


class DecisionSupport:
    def __init__(self, referrals: ReferralRepository, images: LesionImages, queue: MessageQueue,
                 provider: DecisionSupportProvider | None, clock: Clock, settings: Settings):
        self._referrals = referrals
        self._images = images
        self._queue = queue
        self._provider = provider
        self._clock = clock
        self._settings = settings

    @property
    def configured(self) -> bool:
        return self._provider is not None

    # --- at submission ---
    def plan(self, referral: Referral, service: ReferralService) -> Referral:
        if not self.configured or service.decision_support is not DecisionSupportMode.ADVISORY:
            return referral
        now = iso(self._clock.now())
        queued = LesionDecisionSupport(status=DecisionSupportStatus.QUEUED, queued_at=now)
        return referral.but(lesions=[lesion.but(decision_support=queued) if _needs_assessment(lesion) else lesion
                                     for lesion in referral.lesions])

    def enqueue(self, referral: Referral) -> None:
        """On the submission's path, after its write: a queue that fails must not fail the submission
        (the referral is submitted; decision support is advisory), so the lesion says `failed`
        (`not_queued`) instead of waiting for a message that was never sent."""
        for lesion in referral.lesions:
            image = dermoscopic_image(lesion)
            if image is None or lesion.decision_support is None \
                    or lesion.decision_support.status is not DecisionSupportStatus.QUEUED:
                continue
            message = _message(referral, lesion, image.image_id)
            try:
                self._queue.single_attempt().send(DECISION_SUPPORT_QUEUE, json.dumps(message))
            except Exception as exc:  # noqa: BLE001 - any queue failure: the lesion is told, the caller is not
                log.warning("decision support: referral=%s lesion=%s not queued (%s)", referral.id, lesion.id,
                            type(exc).__name__)
                self._settle_quietly(message, "not_queued")

    def _settle_quietly(self, message: dict[str, Any], failure: str) -> None:
        try:
            self._settle(message, failure=failure)
        except Exception as exc:  # noqa: BLE001 - the store failed too: the lesion shows `queued`
            log.warning("decision support: referral=%s lesion=%s left queued (%s)", message["referralId"],
                        message["lesionId"], type(exc).__name__)

    # --- what reviewers see ---
    def view(self, referral: Referral, service: ReferralService) -> dict[str, Any]:
        if not self.configured:
            return {"status": "not_configured", "detail": NOT_CONFIGURED}
        if service.decision_support is not DecisionSupportMode.ADVISORY and not self.has_any(referral):
            return {"status": "off", "detail": OFF}
        lesions = [_lesion_view(lesion) for lesion in referral.lesions if lesion.decision_support is not None]
        return {"status": "advisory", "kind": "decision_support", "notice": NOTICE, "lesions": lesions}

    @staticmethod
    def has_result(referral: Referral) -> bool:
        return any(lesion.decision_support is not None and lesion.decision_support.result is not None
                   for lesion in referral.lesions)

    @staticmethod
    def has_any(referral: Referral) -> bool:
        return any(lesion.decision_support is not None for lesion in referral.lesions)

    # --- the worker ---
    def pump(self, **kwargs: Any) -> PumpResult:
        """Local mode's queue trigger (and the tests'): the host's rules over the embedded queue. The
        poison count is host.json's maxDequeueCount, which NOTIFICATION_MAX_ATTEMPTS mirrors."""
        return pump_queue(self._queue, DECISION_SUPPORT_QUEUE, DECISION_SUPPORT_POISON_QUEUE, self.handle,
                          max_attempts=self._settings.notification_max_attempts, **kwargs)

    def handle(self, body: str, dequeue_count: int = 1) -> None:
        message = json.loads(body)
        referral = self._referrals.get(message["clinicId"], message["referralId"])
        lesion = referral.lesion(message["lesionId"]) if referral is not None else None
        if lesion is None or not _current(lesion, message):
            return  # gone, done, or a message of an older plan: nothing to do
        if referral.status in _NOT_SENT_WHEN or self._provider is None:  # withdrawn, or the provider unset since
            self._settle(message, failure="not_sent")
            return
        try:
            stream = self._images.open(referral, message["imageId"], "original")
            quality = _quality_issues(self._images.images(referral), message["imageId"])
        except NotFoundError:
            self._settle(message, failure="image_unavailable")
            return
        context = AssessmentContext(view="dermoscopic", body_site=lesion.body_site.code,
                                    laterality=lesion.body_site.laterality, size_mm=lesion.size_mm)
        try:
            assessment = self._provider.assess(b"".join(stream.chunks), stream.content_type, context)
        except DecisionSupportError as exc:
            self._retry_or_fail(message, exc)
            return
        reason = ineligible_reason(referral, lesion, quality)
        result = DecisionSupportResult(
            provider=self._provider.name, model_version=assessment.model_version,
            predicted_class=assessment.predicted_class, risk_tier=assessment.risk_tier,
            recommendation=shown_recommendation(assessment.recommendation, reason), eligible=reason is None,
            ineligible_reason=reason, image_id=message["imageId"], assessed_at=iso(self._clock.now()))
        self._settle(message, result=result)
        log.info("decision support: referral=%s lesion=%s completed eligible=%s", message["referralId"],
                 message["lesionId"], reason is None)

    def _retry_or_fail(self, message: dict[str, Any], exc: DecisionSupportError) -> None:
        s = self._settings
        if isinstance(exc, Throttled):
            throttled = message.get("throttled", 0) + 1
            if throttled < s.decision_support_max_throttled:
                wait = exc.retry_after if exc.retry_after is not None else s.decision_support_retry_seconds
                self._send({**message, "throttled": throttled}, delay=wait)
                return
        elif not isinstance(exc, Rejected):
            attempt = message.get("attempt", 1)
            if attempt < s.decision_support_max_attempts:
                backoff = s.decision_support_retry_seconds * 2 ** (attempt - 1)
                self._send({**message, "attempt": attempt + 1}, delay=backoff)
                return
        log.warning("decision support: referral=%s lesion=%s failed (%s)", message["referralId"], message["lesionId"],
                    exc.code)
        self._settle(message, failure=exc.code)

    def _send(self, message: dict[str, Any], delay: float = 0) -> None:
        wait = min(int(-(-delay // 1)), self._settings.decision_support_max_wait_seconds)  # whole seconds, up
        self._queue.send(DECISION_SUPPORT_QUEUE, json.dumps(message), visibility_timeout=max(0, wait))

    def _settle(self, message: dict[str, Any], *, result: DecisionSupportResult | None = None,
                failure: str | None = None) -> None:
        """Write the result (or the failure) on the lesion, if it is still this message's to settle."""
        status = DecisionSupportStatus.COMPLETED if result is not None else DecisionSupportStatus.FAILED
        for _ in range(_WRITE_ATTEMPTS):
            referral = self._referrals.get(message["clinicId"], message["referralId"])
            lesion = referral.lesion(message["lesionId"]) if referral is not None else None
            if lesion is None or not _current(lesion, message):
                return
            settled = lesion.decision_support.but(status=status, result=result, failure=failure)
            lesions = [other.but(decision_support=settled) if other.id == lesion.id else other
                       for other in referral.lesions]
            try:
                self._referrals.replace(referral.but(lesions=lesions))
                return
            except PreconditionFailed:
                continue
        raise Busy("The referral kept changing; the assessment is written on the next delivery.", retry_after=5)


def _needs_assessment(lesion: Lesion) -> bool:
    image = dermoscopic_image(lesion)
    if image is None:
        return False
    current = lesion.decision_support
    if current is None or current.status is not DecisionSupportStatus.COMPLETED:
        return True  # never assessed, failed, or queued by an earlier plan (its message is dropped)
    return current.result is not None and current.result.image_id != image.image_id


def _message(referral: Referral, lesion: Lesion, image_id: str) -> dict[str, Any]:
    return {"clinicId": referral.service_clinic_id, "referralId": referral.id, "lesionId": lesion.id,
            "imageId": image_id, "queuedAt": lesion.decision_support.queued_at, "attempt": 1, "throttled": 0}


def _current(lesion: Lesion, message: dict[str, Any]) -> bool:
    ds, image = lesion.decision_support, dermoscopic_image(lesion)
    return (ds is not None and ds.status is DecisionSupportStatus.QUEUED and ds.queued_at == message["queuedAt"]
            and image is not None and image.image_id == message["imageId"])


def _quality_issues(images: list[StoredImage], image_id: str) -> list[str]:
    found = next((image for image in images if image.id == image_id), None)
    if found is None:
        raise NotFoundError(f"No image {image_id}.")
    return [issue.value for issue in found.quality.issues]


def _lesion_view(lesion: Lesion) -> dict[str, Any]:
    ds = lesion.decision_support
    shown: dict[str, Any] = {"lesionId": lesion.id, "status": ds.status.value, "queuedAt": ds.queued_at}
    if ds.result is not None:
        shown["result"] = ds.result.to_doc()
    if ds.failure is not None:
        shown["failure"] = ds.failure
    return shown
