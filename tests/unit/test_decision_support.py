"""AI decision support for referrals, on the fakes: which lesions are queued, eligibility, retries with
Retry-After and back-off, failure after N attempts, and that it never touches a referral's status."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared_code.clock import iso
from shared_code.errors import ImageNotFound
from shared_code.images.contract import ImageStream
from shared_code.images.records import ImageQuality, StoredImage, View
from shared_code.ports.decision_support import Assessment, Malformed, Rejected, Throttled, Unavailable
from shared_code.referrals.decision_support import DecisionSupport
from shared_code.referrals.records import (
    BodySite, DecisionSupportMode, DecisionSupportStatus, History, Lesion, LesionImage, Recommendation, Referral,
    ReferralConsents, ReferralPatient, ReferralService, ReferralStatus, RiskTier,
)
from shared_code.referrals.repository import ReferralRepository
from shared_code.settings import DECISION_SUPPORT_POISON_QUEUE, DECISION_SUPPORT_QUEUE, Settings

ADVISORY = ReferralService(accepts_referrals=True, decision_support=DecisionSupportMode.ADVISORY)
BENIGN = Assessment("2.4.1", "seborrhoeic_keratosis", RiskTier.BENIGN, Recommendation.DISCHARGE)


@dataclass
class ScriptedProvider:
    """Answers (or raises) what the test scripted, in order; then BENIGN."""
    script: list[Any] = field(default_factory=list)
    calls: list[tuple[bytes, str, Any]] = field(default_factory=list)
    name: str = "DERM"

    def assess(self, image: bytes, content_type: str, context) -> Assessment:
        self.calls.append((image, content_type, context))
        answer = self.script.pop(0) if self.script else BENIGN
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class FakeImages:
    quality: dict[str, list[str]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)

    def open(self, referral: Referral, image_id: str, variant: str) -> ImageStream:
        if image_id in self.missing:
            raise ImageNotFound(image_id)
        data = f"jpeg of {image_id}".encode()
        return ImageStream("image/jpeg", len(data), iter([data]))

    def images(self, referral: Referral) -> list[StoredImage]:
        return [StoredImage(id=image.image_id, uploaded_at="2025-03-01T09:00:00Z", view=image.view,
                            quality=ImageQuality(issues=self.quality.get(image.image_id, [])))
                for lesion in referral.lesions for image in lesion.images]


def _lesion(lesion_id: str, views=(View.DISTANT, View.CLOSE_UP, View.DERMOSCOPIC), description: str = "pigmented macule",
            at: str = "2025-03-01T09:00:00Z") -> Lesion:
    return Lesion(id=lesion_id, body_site=BodySite(code="53120007", laterality="left"), description=description,
                  size_mm=6, created_at=at, images=[LesionImage(image_id=f"{lesion_id}-{v.value}", view=v) for v in views])


def _referral(lesions: list[Lesion], skin: str = "II", status=ReferralStatus.AWAITING_REVIEW) -> Referral:
    at = "2025-03-01T09:00:00Z"
    return Referral(
        id="ref1", referring_clinic_id="practice", referring_clinic_name="Heaton", service_clinic_id="service",
        service_clinic_name="Newcastle", created_at=at, created_by="m1", updated_at=at, status=status, received=True,
        priority_requested="routine", clinical_question="Melanoma?",
        patient=ReferralPatient(name="Brenda Example", nhs_number="9434765919", date_of_birth="1961-04-12"),
        history=History(fitzpatrick_skin_type=skin), lesions=lesions,
        consents=ReferralConsents(share_with_service=True, version="2026-01", recorded_at=at))


class World:
    def __init__(self, adapters, clock, provider: ScriptedProvider | None, **settings: Any):
        self.adapters, self.clock, self.provider = adapters, clock, provider
        self.images = FakeImages()
        self.repository = ReferralRepository(adapters.documents)
        self.settings = Settings(DECISION_SUPPORT_RETRY_SECONDS=30, **settings)
        self.ds = DecisionSupport(self.repository, self.images, adapters.queue, provider, clock, self.settings)

    def submitted(self, referral: Referral, service: ReferralService = ADVISORY) -> Referral:
        """As R1's submit does: plan before the write, enqueue after it."""
        planned = self.ds.plan(referral, service)
        stored = self.repository.create(planned) if self.repository.get("service", referral.id) is None \
            else self.repository.replace(planned)
        self.ds.enqueue(stored)
        return stored

    def stored(self) -> Referral:
        return self.repository.get("service", "ref1")

    def lesion_ds(self, lesion_id: str = "l1"):
        return self.stored().lesion(lesion_id).decision_support

    def messages(self, name: str = DECISION_SUPPORT_QUEUE) -> list[dict[str, Any]]:
        return [json.loads(m.body) for m in self.adapters.queue.peek(name)]

    def run(self, seconds: float = 0) -> None:
        self.clock.advance(seconds=seconds)
        self.ds.pump()


@pytest.fixture
def world(adapters, clock) -> World:
    return World(adapters, clock, ScriptedProvider())


# --- plan -------------------------------------------------------------------------------------------------
def test_plan_queues_only_lesions_with_a_dermoscopic_image(world):
    referral = _referral([_lesion("l1"), _lesion("l2", views=(View.DISTANT, View.CLOSE_UP))])
    planned = world.ds.plan(referral, ADVISORY)
    assert planned.lesion("l1").decision_support.status is DecisionSupportStatus.QUEUED
    assert planned.lesion("l2").decision_support is None
    assert referral.lesion("l1").decision_support is None  # pure: the input is unchanged


@pytest.mark.parametrize("configured, mode", [(False, DecisionSupportMode.ADVISORY), (True, DecisionSupportMode.OFF)])
def test_nothing_is_queued_unless_advisory_and_configured(adapters, clock, configured, mode):
    world = World(adapters, clock, ScriptedProvider() if configured else None)
    service = ReferralService(accepts_referrals=True, decision_support=mode)
    stored = world.submitted(_referral([_lesion("l1")]), service)
    assert stored.lesion("l1").decision_support is None
    assert world.messages() == []


def test_not_configured_view_says_so(adapters, clock):
    world = World(adapters, clock, None)
    assert world.ds.view(world.submitted(_referral([_lesion("l1")])), ADVISORY)["status"] == "not_configured"


# --- the worker -----------------------------------------------------------------------------------------
def test_a_result_lands_on_the_lesion_and_the_status_is_untouched(world):
    world.submitted(_referral([_lesion("l1")]))
    world.run()
    ds = world.lesion_ds()
    assert ds.status is DecisionSupportStatus.COMPLETED
    assert (ds.result.provider, ds.result.model_version, ds.result.predicted_class) == ("DERM", "2.4.1",
                                                                                      "seborrhoeic_keratosis")
    assert (ds.result.eligible, ds.result.recommendation, ds.result.image_id) == (True, Recommendation.DISCHARGE,
                                                                                 "l1-dermoscopic")
    assert world.stored().status is ReferralStatus.AWAITING_REVIEW and world.stored().log == []
    [(image, content_type, context)] = world.provider.calls
    assert image == b"jpeg of l1-dermoscopic" and content_type == "image/jpeg"
    assert "Brenda" not in repr(context) and "9434765919" not in repr(context) and "macule" not in repr(context)
    view = world.ds.view(world.stored(), ADVISORY)
    assert view["status"] == "advisory" and view["kind"] == "decision_support"
    assert view["lesions"][0]["result"]["riskTier"] == "benign"
    assert world.ds.has_result(world.stored())


@pytest.mark.parametrize("skin, description, quality, reason", [
    ("V", "pigmented macule", [], "fitzpatrick_v_vi"),
    ("VI", "pigmented macule", [], "fitzpatrick_v_vi"),
    ("II", "Ulcerated nodule, bleeds on contact", [], "ulcerated"),
    ("II", "pigmented streak in the nail bed", [], "subungual"),
    ("III", "Subungual pigmentation", [], "subungual"),
    ("II", "pigmented macule", ["blurred"], "poor_quality"),
])
def test_ineligible_lesions_never_get_a_discharge_recommendation(world, skin, description, quality, reason):
    world.images.quality["l1-dermoscopic"] = quality
    world.submitted(_referral([_lesion("l1", description=description)], skin=skin))
    world.run()
    result = world.lesion_ds().result
    assert (result.eligible, result.ineligible_reason.value) == (False, reason)
    assert result.recommendation is Recommendation.REFER
    assert result.predicted_class == "seborrhoeic_keratosis"  # what the model said is still shown


def test_quality_of_another_view_does_not_make_it_ineligible(world):
    world.images.quality["l1-distant"] = ["too_dark"]
    world.submitted(_referral([_lesion("l1")]))
    world.run()
    assert world.lesion_ds().result.eligible is True


def test_throttled_waits_for_retry_after_then_succeeds(world):
    world.provider.script = [Throttled(120)]
    world.submitted(_referral([_lesion("l1")]))
    world.run()
    assert world.lesion_ds().status is DecisionSupportStatus.QUEUED
    world.run(seconds=119)
    assert len(world.provider.calls) == 1  # not before Retry-After
    world.run(seconds=1)
    assert len(world.provider.calls) == 2
    assert world.lesion_ds().status is DecisionSupportStatus.COMPLETED


def test_failures_back_off_and_fail_the_lesion_after_max_attempts(adapters, clock):
    world = World(adapters, clock, ScriptedProvider([Unavailable("503"), Malformed("KeyError"), Unavailable("503")]),
                  DECISION_SUPPORT_MAX_ATTEMPTS=3)
    world.submitted(_referral([_lesion("l1")]))
    world.run()
    world.run(seconds=29)
    assert len(world.provider.calls) == 1  # 30 s before the second attempt
    world.run(seconds=1)
    world.run(seconds=59)
    assert len(world.provider.calls) == 2  # then 60 s
    world.run(seconds=1)
    assert len(world.provider.calls) == 3
    ds = world.lesion_ds()
    assert (ds.status, ds.failure, ds.result) == (DecisionSupportStatus.FAILED, "unavailable", None)
    assert world.stored().status is ReferralStatus.AWAITING_REVIEW
    assert world.messages() == [] and world.messages(DECISION_SUPPORT_POISON_QUEUE) == []
    assert world.ds.view(world.stored(), ADVISORY)["lesions"][0]["failure"] == "unavailable"
    assert not world.ds.has_result(world.stored())


def test_a_rejected_image_fails_at_once(world):
    world.provider.script = [Rejected("422")]
    world.submitted(_referral([_lesion("l1")]))
    world.run()
    assert (world.lesion_ds().status, world.lesion_ds().failure) == (DecisionSupportStatus.FAILED, "rejected")
    assert len(world.provider.calls) == 1


def test_too_many_throttles_fail_the_lesion(adapters, clock):
    world = World(adapters, clock, ScriptedProvider([Throttled(None)] * 3), DECISION_SUPPORT_MAX_THROTTLED=3)
    world.submitted(_referral([_lesion("l1")]))
    for _ in range(3):
        world.run(seconds=30)
    assert (world.lesion_ds().status, world.lesion_ds().failure) == (DecisionSupportStatus.FAILED, "throttled")


def test_a_cancelled_referral_sends_nothing(world):
    world.submitted(_referral([_lesion("l1")]))
    world.repository.replace(world.stored().but(status=ReferralStatus.CANCELLED))
    world.run()
    assert world.provider.calls == []
    assert (world.lesion_ds().status, world.lesion_ds().failure) == (DecisionSupportStatus.FAILED, "not_sent")
    assert world.stored().status is ReferralStatus.CANCELLED


def test_a_resubmission_with_a_new_dermoscopic_image_assesses_it_once(world):
    world.submitted(_referral([_lesion("l1")]))
    world.run()
    first = world.lesion_ds().result
    referral = world.stored()
    lesion = referral.lesion("l1")
    newer = lesion.but(images=[*lesion.images, LesionImage(image_id="l1-dermoscopic-2", view=View.DERMOSCOPIC)])
    world.clock.advance(days=1)
    world.submitted(referral.but(lesions=[newer]))
    world.submitted(world.stored())  # a second plan before the worker ran: the first message is dropped
    world.run()
    assert world.lesion_ds().result.image_id == "l1-dermoscopic-2"
    assert [call[0] for call in world.provider.calls] == [b"jpeg of l1-dermoscopic", b"jpeg of l1-dermoscopic-2"]
    assert first.image_id == "l1-dermoscopic"
    world.submitted(world.stored())  # nothing changed: nothing new to assess
    assert world.messages() == []


def test_a_result_is_written_over_a_concurrent_change(world):
    """The worker's ETag-guarded write re-reads and re-applies: a reviewer's write in between is kept."""
    world.submitted(_referral([_lesion("l1")]))
    real_get = world.repository.get
    raced = []

    def get_then_race(clinic_id, referral_id):
        found = real_get(clinic_id, referral_id)
        if not raced and found is not None and found.lesion("l1").decision_support.status is DecisionSupportStatus.QUEUED \
                and len(world.provider.calls) == 1:
            raced.append(world.repository.replace(found.but(clinical_question="changed elsewhere")))
        return found

    world.repository.get = get_then_race
    world.run()
    assert raced
    assert world.lesion_ds().status is DecisionSupportStatus.COMPLETED
    assert world.stored().clinical_question == "changed elsewhere"


def test_an_image_gone_before_assessment_fails_without_sending(world):
    world.images.missing.add("l1-dermoscopic")
    world.submitted(_referral([_lesion("l1")]))
    world.run()
    assert world.provider.calls == []
    assert world.lesion_ds().failure == "image_unavailable"


def test_the_assessed_at_time_is_the_workers(world):
    world.submitted(_referral([_lesion("l1")]))
    world.run(seconds=5)
    assert world.lesion_ds().result.assessed_at == iso(world.clock.now())


# --- the adapter's configuration ---------------------------------------------------------------------------
class _Credential:
    def __init__(self):
        self.scopes = []

    def get_token(self, *scopes):
        self.scopes.extend(scopes)
        return type("Token", (), {"token": "entra-token"})()


def test_no_url_no_provider():
    from shared_code.adapters.decision_support_https import build_decision_support

    assert build_decision_support(Settings(DECISION_SUPPORT_URL=""), _Credential()) is None


def test_a_provider_needs_https_and_a_credential():
    from shared_code.adapters.decision_support_https import build_decision_support

    with pytest.raises(ValueError, match="https"):
        build_decision_support(Settings(DECISION_SUPPORT_URL="http://derm.example"), _Credential())
    with pytest.raises(ValueError, match="DECISION_SUPPORT_SCOPE"):
        build_decision_support(Settings(DECISION_SUPPORT_URL="https://derm.example"), _Credential())


def test_a_managed_identity_token_where_the_provider_takes_one():
    from shared_code.adapters.decision_support_https import build_decision_support

    credential = _Credential()
    provider = build_decision_support(Settings(DECISION_SUPPORT_URL="https://derm.example",
                                               DECISION_SUPPORT_SCOPE="api://derm/.default"), credential)
    assert provider._auth_headers() == {"Authorization": "Bearer entra-token"}
    assert credential.scopes == ["api://derm/.default"]


def test_a_queue_failure_at_submission_fails_the_assessment_not_the_submission(world):
    world.adapters.queue.faults.fail("send", ConnectionError("queue down"))
    world.submitted(_referral([_lesion("l1")]))  # does not raise
    assert (world.lesion_ds().status, world.lesion_ds().failure) == (DecisionSupportStatus.FAILED, "not_queued")
    assert world.stored().status is ReferralStatus.AWAITING_REVIEW


def test_messages_left_when_the_provider_is_unset_are_settled_without_sending(world):
    world.submitted(_referral([_lesion("l1")]))
    unset = DecisionSupport(world.repository, world.images, world.adapters.queue, None, world.clock, world.settings)
    unset.pump()
    assert (world.lesion_ds().status, world.lesion_ds().failure) == (DecisionSupportStatus.FAILED, "not_sent")
    assert world.messages() == []
