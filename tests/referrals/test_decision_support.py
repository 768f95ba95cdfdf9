"""AI decision support end to end, on both adapter families, against an HTTPS double of the provider
(tests/doubles/decision_support.py): a submitted lesion's dermoscopic image goes through the
`decision-support` queue to the provider; 429 with Retry-After, 5xx, a slow answer and a malformed one
are retried and then fail the lesion's assessment, never the referral; the result is shown to the
service's reviewers only; with no provider configured nothing is sent and the referral says so."""
from __future__ import annotations

import io
import time
from functools import cache

import pytest

from shared_code.clock import Clock, FrozenClock
from shared_code.settings import DECISION_SUPPORT_QUEUE
from tests.doubles.decision_support import MELANOMA, Answer, DecisionSupportDouble, malformed, server_error, throttled
from tests.imaging.builders import photo
from tests.support.referrals import ReferralScene

WAIT_SECONDS = 30  # the most a Retry-After of 1 s may take to come round on a slow machine (never asserted)


@pytest.fixture
def double():
    with DecisionSupportDouble() as served:
        yield served


@pytest.fixture
def api(family, tmp_path, double):
    """The API with the provider configured: the production HTTPS adapter pointed at the double."""
    from tests.support.app import make_api

    return make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()),
                    decision_support=double.adapter(timeout=1.0), DECISION_SUPPORT_RETRY_SECONDS=0,
                    DECISION_SUPPORT_MAX_ATTEMPTS=3)


@pytest.fixture
def scene(api) -> ReferralScene:
    return ReferralScene(api, decisionSupport="advisory")


@cache
def sharp_jpeg() -> bytes:
    """A dermoscopic photograph with no quality issue (large, sharp, well exposed)."""
    out = io.BytesIO()
    photo((960, 720)).save(out, "JPEG", quality=90)
    return out.getvalue()


def _submitted(scene: ReferralScene, **overrides) -> dict:
    """A referral of one lesion whose dermoscopic image is good enough to be eligible, submitted."""
    referral_id = scene.draft(**overrides)["id"]
    lesion_id = scene.lesion(referral_id)["id"]
    scene.image(referral_id, lesion_id, "distant", seed=1)
    scene.image(referral_id, lesion_id, "close_up", seed=2)
    scene.image(referral_id, lesion_id, "dermoscopic", data=sharp_jpeg())
    return scene.submit(referral_id)


def _pump(api) -> None:
    api.container.decision_support.pump()


def _lesion_support(scene: ReferralScene, referral_id: str) -> dict:
    [lesion] = scene.get(referral_id, service=True)["decisionSupport"]["lesions"]
    return lesion


def _until_settled(api, scene: ReferralScene, referral_id: str) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        _pump(api)
        shown = _lesion_support(scene, referral_id)
        if shown["status"] != "queued" or time.monotonic() > deadline:
            return shown
        time.sleep(0.2)


def test_the_result_reaches_the_service_never_the_referrer_and_never_the_status(api, scene, double):
    double.script(Answer(body=MELANOMA))
    submitted = _submitted(scene)
    referral_id = submitted["id"]
    assert _lesion_support(scene, referral_id)["status"] == "queued"
    _pump(api)
    shown = scene.get(referral_id, service=True)
    support = shown["decisionSupport"]
    assert support["status"] == "advisory" and support["kind"] == "decision_support" and "advisory" in support["notice"]
    [lesion] = support["lesions"]
    assert lesion["status"] == "completed"
    result = lesion["result"]
    assert (result["provider"], result["modelVersion"], result["predictedClass"]) == ("DERM", "derm-double-2.4.1",
                                                                                      "melanoma")
    assert (result["riskTier"], result["recommendation"], result["eligible"]) == ("malignant", "refer", True)
    [image] = [i for i in shown["lesions"][0]["images"] if i["view"] == "dermoscopic"]
    assert result["imageId"] == image["id"]
    # It never decides: the referral is as submission left it.
    assert (shown["status"], shown["reviewDueBy"], len(shown["log"])) == ("awaiting_review", submitted["reviewDueBy"],
                                                                          len(submitted["log"]))
    assert scene.get(referral_id).get("decisionSupport") is None  # the referrer never sees it
    # What left: the image and a context without the patient (the double refuses identifying fields).
    [sent] = double.received
    assert sent["contentType"] == "image/jpeg" and sent["context"]["view"] == "dermoscopic"
    assert sent["context"]["bodySite"] == "53120007"
    # A reviewer may now record agreement for performance monitoring.
    closed = scene.outcome(referral_id, "urgent_suspected_cancer", decisionSupportAgreement="agree")
    assert closed["outcome"]["decisionSupportAgreement"] == "agree"


def test_a_poor_dermoscopic_photograph_is_not_eligible_for_discharge(api, scene, double):
    referral_id = scene.submitted()["id"]  # the steps' small photographs are `too_small`
    _pump(api)
    result = _lesion_support(scene, referral_id)["result"]
    assert (result["eligible"], result["ineligibleReason"], result["recommendation"]) == (False, "poor_quality",
                                                                                         "refer")


def test_fitzpatrick_v_is_not_eligible_for_discharge(api, scene, double):
    referral_id = _submitted(scene, history={"fitzpatrickSkinType": "V"})["id"]
    _pump(api)
    result = _lesion_support(scene, referral_id)["result"]
    assert (result["eligible"], result["ineligibleReason"], result["recommendation"]) == (False, "fitzpatrick_v_vi",
                                                                                         "refer")
    assert result["riskTier"] == "benign"  # the double's benign answer is still shown


def test_throttled_is_retried_after_retry_after(api, scene, double):
    double.script(throttled("1"))
    referral_id = _submitted(scene)["id"]
    _pump(api)
    assert _lesion_support(scene, referral_id)["status"] == "queued"
    assert _until_settled(api, scene, referral_id)["status"] == "completed"
    assert len(double.received) == 2


def test_a_server_error_then_a_slow_answer_are_retried(api, scene, double):
    double.script(server_error(503), Answer(latency=2.0))  # past the adapter's 1 s timeout
    referral_id = _submitted(scene)["id"]
    for _ in range(3):
        _pump(api)
    assert _lesion_support(scene, referral_id)["status"] == "completed"
    assert len(double.received) == 3


def test_malformed_answers_fail_the_assessment_not_the_referral(api, scene, double):
    double.script(malformed(), server_error(500), malformed())
    referral_id = _submitted(scene)["id"]
    for _ in range(4):
        _pump(api)
    shown = _lesion_support(scene, referral_id)
    assert (shown["status"], shown["failure"], shown.get("result")) == ("failed", "malformed", None)
    assert len(double.received) == 3  # DECISION_SUPPORT_MAX_ATTEMPTS, then no more
    assert scene.get(referral_id, service=True)["status"] == "awaiting_review"
    assert api.container.adapters.queue.peek(DECISION_SUPPORT_QUEUE) == []
    response = scene.outcome_response(referral_id, decisionSupportAgreement="agree")
    assert response.status_code == 422  # nothing to agree with


def test_a_job_parked_in_the_poison_queue_is_assessed_once_operations_move_it_back(api, scene, double):
    """What the worker raised on every attempt (here: the key service down) the host parks in
    `decision-support-poison`; the lesion shows `queued` until `poison requeue --queue decision-support`."""
    from shared_code import cli
    from shared_code.notifications.pump import pump_queue
    from shared_code.settings import DECISION_SUPPORT_POISON_QUEUE

    def key_service_down(body, attempt):
        raise RuntimeError("key service unavailable")

    referral_id = _submitted(scene)["id"]
    queue = api.container.adapters.queue
    parked = pump_queue(queue, DECISION_SUPPORT_QUEUE, DECISION_SUPPORT_POISON_QUEUE, key_service_down, max_attempts=1)
    assert parked.poisoned == 1 and queue.peek(DECISION_SUPPORT_QUEUE) == []
    _pump(api)
    assert _lesion_support(scene, referral_id)["status"] == "queued" and double.received == []

    out = io.StringIO()
    assert cli.main(["poison", "requeue", "--all", "--queue", "decision-support"],
                    container=api.container, out=out) == 0
    assert out.getvalue().strip() == "requeued 1 decision-support job(s)"
    _pump(api)
    assert _lesion_support(scene, referral_id)["status"] == "completed"
    assert len(double.received) == 1 and queue.peek(DECISION_SUPPORT_POISON_QUEUE) == []


def test_not_configured_nothing_is_sent_and_the_referral_says_so(family, tmp_path, double):
    from tests.support.app import make_api

    api = make_api(family, tmp_path / "plain", clock=FrozenClock(Clock().now()))
    scene = ReferralScene(api, decisionSupport="advisory")
    referral_id = _submitted(scene)["id"]
    api.container.decision_support.pump()
    support = scene.get(referral_id, service=True)["decisionSupport"]
    assert support["status"] == "not_configured" and "no image was sent" in support["detail"]
    assert api.container.adapters.queue.peek(DECISION_SUPPORT_QUEUE) == []
    assert double.received == []


def test_a_service_with_decision_support_off_sends_nothing(api, double):
    scene = ReferralScene(api)  # decisionSupport defaults to "off"
    referral_id = _submitted(scene)["id"]
    _pump(api)
    assert scene.get(referral_id, service=True)["decisionSupport"]["status"] == "off"
    assert double.received == []


# --- the HTTPS adapter and the wiring -----------------------------------------------------------------------
def test_a_rotated_api_key_is_read_again_after_a_401(double):
    from shared_code.adapters.azure.graph_mail import CachedSecret
    from shared_code.adapters.decision_support_https import HttpsDecisionSupport
    from shared_code.ports.decision_support import AssessmentContext, Unavailable

    vault = ["old-key", double.api_key]  # what Key Vault holds: rotated after the first read
    key = CachedSecret(lambda: vault.pop(0))
    provider = HttpsDecisionSupport("DERM", double.base_url, lambda: {"x-api-key": key()},
                                    on_unauthorised=key.invalidate, verify=double.server.ca_bundle_path)
    context = AssessmentContext(view="dermoscopic", body_site="53120007")
    with pytest.raises(Unavailable):
        provider.assess(sharp_jpeg(), "image/jpeg", context)
    assert provider.assess(sharp_jpeg(), "image/jpeg", context).risk_tier.value == "benign"


def test_the_function_app_registers_the_queue_trigger_and_make_run_polls_it():
    from functions.local_triggers import local_jobs
    from tests.support.indexed import indexed_functions

    bindings = {name: found[-1] for name, found in indexed_functions().items()}
    queue = bindings["decision_support_queue"]
    assert (queue["type"], queue["queueName"], queue["connection"]) == ("queueTrigger", DECISION_SUPPORT_QUEUE,
                                                                        "AzureWebJobsStorage")
    assert "decision_support" in {job.name for job in local_jobs()}


def test_the_queue_trigger_runs_the_worker(api, scene, double, monkeypatch):
    from azure.functions.queue import QueueMessage

    from functions import decision_support_bp, runtime

    referral_id = _submitted(scene)["id"]
    [message] = api.container.adapters.queue.receive(DECISION_SUPPORT_QUEUE, max_messages=1)
    monkeypatch.setattr(runtime, "_lazy", type("Fixed", (), {"get": lambda self: api.container})())
    decision_support_bp.decision_support_queue(QueueMessage(id="m1", body=message.body.encode(), dequeue_count=1))
    assert _lesion_support(scene, referral_id)["status"] == "completed"
