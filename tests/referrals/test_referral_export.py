"""The referral's FHIR export: a Bundle of R4 resources that fhir.resources validates, with UK Core
profiles, the current priority (suspected cancer as `urgent` with the fast-track code), the NHS number's
verification status, a DocumentReference per image, and the outcome once given; either side, audited."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from shared_code.images.records import View
from shared_code.referrals.fhir_export import ExportedImage, referral_bundle
from shared_code.referrals.records import (
    BodySite, History, Lesion, LesionImage, Outcome, Referral, ReferralConsents, ReferralPatient,
)
from shared_code.sharing.fhir_export import NHS_NUMBER_VERIFICATION
from tests.support.referrals import ReferralScene
from tests.support.steps import problem_type

FAST_TRACK = "276281000000104"
AT = "2026-11-20T09:00:00Z"


def _referral(priority: str = "routine", verified: bool = False, **changes: Any) -> Referral:
    lesion = Lesion(id="l1", body_site=BodySite(code="53120007", laterality="left"), description="macule", size_mm=6,
                    created_at=AT, images=[LesionImage(image_id=f"i-{v.value}", view=v) for v in View])
    return Referral(
        id="r1", referring_clinic_id="p", referring_clinic_name="Heaton Medical Practice", service_clinic_id="s",
        service_clinic_name="Newcastle Dermatology", created_at=AT, created_by="m1", updated_at=AT,
        priority_requested=priority, clinical_question="Melanoma?",
        patient=ReferralPatient(name="Brenda Example", nhs_number="9434765919", nhs_number_verified=verified,
                                date_of_birth="1961-04-12", sex="female"),
        history=History(fitzpatrick_skin_type="II", seven_point_checklist=["change_in_size", "oozing"]),
        consents=ReferralConsents(share_with_service=True, anonymised_teaching=False, arrange_appointment=True,
                                  version="2026-01", recorded_at=AT),
        lesions=[lesion], **changes)


def _built(referral: Referral) -> dict[str, Any]:
    images = [ExportedImage(lesion, image, f"jpeg {image.image_id}".encode(), "image/jpeg")
              for lesion in referral.lesions for image in lesion.images]
    return json.loads(referral_bundle(referral, images, datetime(2026, 11, 21, tzinfo=timezone.utc)))


def resources(bundle: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    """The bundle's resources (of one type), each validated again by its fhir.resources R4B model."""
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    found = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        if kind is None or resource["resourceType"] == kind:
            found.append(resource)
    return found


def _one(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    [resource] = resources(bundle, kind)
    return resource


# --- the bundle ------------------------------------------------------------------------------------------
def test_every_resource_validates_and_declares_its_uk_core_profile():
    bundle = _built(_referral(review_due_by="2026-11-24T23:59:59Z"))
    kinds = [r["resourceType"] for r in resources(bundle)]
    assert sorted(set(kinds)) == ["Consent", "DocumentReference", "Organization", "Patient", "QuestionnaireResponse",
                                  "ServiceRequest", "Task"]
    assert kinds.count("Consent") == 3 and kinds.count("DocumentReference") == 3
    for resource in resources(bundle):
        assert resource["meta"]["profile"] == [
            f"https://fhir.hl7.org.uk/StructureDefinition/UKCore-{resource['resourceType']}"]
    task = _one(bundle, "Task")
    assert task["restriction"]["period"]["end"] == "2026-11-24T23:59:59Z"
    assert (task["status"], task["businessStatus"]["text"]) == ("draft", "draft")
    assert task["owner"]["display"] == "Newcastle Dermatology"
    consents = {c["provision"]["purpose"][0]["code"] + ":" + c["provision"]["type"] for c in resources(bundle, "Consent")}
    assert consents == {"TREAT:permit", "TRAIN:deny"}
    history = {item["linkId"]: item["answer"] for item in _one(bundle, "QuestionnaireResponse")["item"]}
    assert history["fitzpatrickSkinType"][0]["valueCoding"]["code"] == "403222003"
    assert history["sevenPointScore"] == [{"valueInteger": 3}]


@pytest.mark.parametrize("requested, outcome, priority, fast_track", [
    ("routine", None, "routine", False),
    ("urgent", None, "urgent", False),
    ("urgent_suspected_cancer", None, "urgent", True),
    ("routine", "urgent_suspected_cancer", "urgent", True),  # an upgrade by the outcome
    ("urgent_suspected_cancer", "discharge_with_advice", "urgent", True),  # the requested one stays
])
def test_priority_is_the_current_one(requested, outcome, priority, fast_track):
    given = None if outcome is None else Outcome(outcome=outcome, advice_to_referrer="Advice.", decided_at=AT,
                                                 decided_by="m2")
    request = _one(_built(_referral(requested, outcome=given)), "ServiceRequest")
    assert request["priority"] == priority
    codes = [c["code"] for category in request.get("category", []) for c in category["coding"]]
    assert (FAST_TRACK in codes) is fast_track


@pytest.mark.parametrize("verified, code", [(False, "02"), (True, "01")])
def test_the_nhs_number_carries_its_verification_status(verified, code):
    [identifier] = _one(_built(_referral(verified=verified)), "Patient")["identifier"]
    assert identifier["value"] == "9434765919"
    [extension] = identifier["extension"]
    assert extension["url"] == NHS_NUMBER_VERIFICATION
    assert extension["valueCodeableConcept"]["coding"][0]["code"] == code


def test_the_outcome_is_a_diagnostic_report_once_given():
    assert resources(_built(_referral()), "DiagnosticReport") == []
    given = Outcome(outcome="biopsy_or_excision", advice_to_referrer="We will book an excision biopsy.", decided_at=AT,
                    decided_by="m2")
    report = _one(_built(_referral(outcome=given)), "DiagnosticReport")
    assert report["conclusion"] == "We will book an excision biopsy."
    assert report["conclusionCode"][0]["coding"][0]["code"] == "biopsy_or_excision"


# --- over the API ----------------------------------------------------------------------------------------
def _export(scene: ReferralScene, referral_id: str, *, service: bool = False, headers=None):
    who = headers or (scene.rita if service else scene.gp)
    return scene.api.client.get(scene.url(referral_id, "/export", service=service), headers=who,
                                params={"format": "fhir"})


def test_either_side_exports_the_referral_with_its_images_audited(api, scene):
    submitted = scene.submitted(priorityRequested="urgent_suspected_cancer")
    referral_id = submitted["id"]
    for service in (False, True):
        response = _export(scene, referral_id, service=service)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/fhir+json")
        assert response.headers["cache-control"] == "private, no-store"
        bundle = response.json()
        request = _one(bundle, "ServiceRequest")
        assert request["priority"] == "urgent" and request["status"] == "active"
        assert FAST_TRACK in [c["code"] for c in request["category"][0]["coding"]]
        assert _one(bundle, "Task")["restriction"]["period"]["end"] == submitted["reviewDueBy"]
        [identifier] = _one(bundle, "Patient")["identifier"]
        assert identifier["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "02"  # typed, not traced
        documents = resources(bundle, "DocumentReference")
        assert len(documents) == 3
        image_id = documents[0]["identifier"][0]["value"]
        content = api.client.get(scene.url(referral_id, f"/images/{image_id}/content", service=service),
                                 headers=scene.rita if service else scene.gp)
        assert base64.b64decode(documents[0]["content"][0]["attachment"]["data"]) == content.content
        assert "decision" not in json.dumps(bundle).lower()
    actions = [entry.action for entry in api.container.referral_audit.entries(referral_id)]
    assert actions.count("referral.exported") == 2


def test_an_outcome_upgrade_shows_in_the_export(scene):
    referral_id = scene.submitted()["id"]
    scene.outcome(referral_id, "urgent_suspected_cancer", adviceToReferrer="Suspected melanoma: 2WW clinic booked.")
    bundle = _export(scene, referral_id).json()
    request = _one(bundle, "ServiceRequest")
    assert (request["priority"], request["status"]) == ("urgent", "completed")
    assert _one(bundle, "DiagnosticReport")["conclusion"] == "Suspected melanoma: 2WW clinic booked."


def test_a_third_clinic_gets_404_and_nothing_is_audited(api, scene):
    referral_id = scene.submitted()["id"]
    third_id, third = scene.third_clinic()
    response = api.client.get(f"/api/clinics/{third_id}/referrals/{referral_id}/export", headers=third)
    assert response.status_code == 404 and problem_type(response) == "referral-not-found"
    assert api.container.referral_audit.entries(referral_id) == []


def test_only_fhir_is_offered(scene):
    referral_id = scene.submitted()["id"]
    response = scene.api.client.get(scene.url(referral_id, "/export"), headers=scene.gp, params={"format": "pdf"})
    assert response.status_code == 422


def test_a_member_of_neither_side_who_is_not_a_clinician_is_refused(api, scene):
    referral_id = scene.submitted()["id"]
    patient = api.token("patient", "alice")
    response = api.client.get(scene.url(referral_id, "/export"), headers=api.as_(patient))
    assert response.status_code == 403 and problem_type(response) == "role-required"
