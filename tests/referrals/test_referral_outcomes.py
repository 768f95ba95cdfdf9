"""Outcomes, acknowledgement and cancellation end to end (API.md "Referrals and triage"), on both
adapter families: the vocabulary's rules, the referrer told at once with nothing personal, the loop
closed, information requested and the referral resubmitted, and every change in the history."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared_code.notifications.pump import pump_notifications
from tests.support.steps import VALID_NHS, problem_type

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)


def mails(scene) -> list[dict]:
    pump_notifications(scene.api.container)
    return scene.api.container.adapters.mail.list(limit=100)


def test_an_outcome_reaches_the_referrer_at_once_and_acknowledging_closes_the_loop(scene):
    referral_id = scene.submitted()["id"]
    lesion_id = scene.get(referral_id)["lesions"][0]["id"]
    mails(scene)  # the service's notice of the submission
    decided = scene.outcome(referral_id, "biopsy_or_excision",
                            lesionOutcomes=[{"lesionId": lesion_id, "outcome": "biopsy_or_excision",
                                             "note": "Excision biopsy, 2 mm margins."}])
    assert decided["status"] == "outcome_sent" and decided["outcomeSentAt"]
    assert decided["outcome"]["outcome"] == "biopsy_or_excision"
    assert decided["outcome"]["lesionOutcomes"][0]["lesionId"] == lesion_id
    assert decided["sla"] is None  # nothing is due from the service any more
    [told] = [m for m in mails(scene) if m["to"] == "heaton-practice@nhs.net"]
    assert f"/clinics/{scene.practice_id}/referrals/{referral_id}" in told["text"]
    for part in (told["subject"], told["text"], told["html"]):
        for secret in ("Brenda", VALID_NHS, "Excision", "margins", "appointment", "Melanoma"):
            assert secret not in part
    [item] = scene.worklist("sent")["items"]
    assert (item["status"], item["outcome"]["outcome"]) == ("outcome_sent", "biopsy_or_excision")
    closed = scene.step_response(referral_id, "acknowledge")
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["acknowledgedAt"]
    again = scene.step_response(referral_id, "acknowledge")
    assert again.status_code == 409 and again.json()["currentStatus"] == "closed"


@pytest.mark.parametrize("body, field", [
    ({"adviceToReferrer": None}, "adviceToReferrer"),
    ({"outcome": "redirect"}, "department"),
    ({"department": "ent"}, "department"),
    ({"outcome": "request_information"}, "requested"),
    ({"requested": "More photos"}, "requested"),
    ({"outcome": "see_you_never"}, "outcome"),
])
def test_an_outcome_breaking_the_vocabulary_is_refused_and_changes_nothing(scene, body, field):
    referral_id = scene.submitted()["id"]
    payload = {"outcome": "routine_appointment", "adviceToReferrer": "Seen.", **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    response = scene.api.client.post(scene.url(referral_id, "/outcome", service=True), headers=scene.rita,
                                     json=payload)
    assert response.status_code == 422 and problem_type(response) == "validation-failed", response.text
    assert field in response.text
    after = scene.get(referral_id)
    assert after["status"] == "awaiting_review" and after["outcome"] is None and len(after["log"]) == 2


def test_lesion_outcomes_name_this_referrals_lesions_and_agreement_needs_a_result(scene):
    referral_id = scene.submitted()["id"]
    other = scene.submitted()
    foreign = other["lesions"][0]["id"]
    stranger = scene.outcome_response(referral_id, lesionOutcomes=[{"lesionId": foreign,
                                                                     "outcome": "discharge_with_advice"}])
    assert stranger.status_code == 422 and problem_type(stranger) == "validation-failed"
    assert stranger.json()["errors"][0]["field"] == "lesionOutcomes"
    agreement = scene.outcome_response(referral_id, decisionSupportAgreement="agree")
    assert agreement.status_code == 422 and agreement.json()["errors"][0]["field"] == "decisionSupportAgreement"
    assert scene.get(referral_id)["status"] == "awaiting_review"


def test_a_redirect_names_the_department_and_any_outcome_may_upgrade_to_the_cancer_pathway(scene):
    redirected = scene.outcome(scene.submitted()["id"], "redirect", department="plastic_surgery")
    assert redirected["outcome"]["department"] == "plastic_surgery" and redirected["priority"] == "routine"
    upgraded = scene.outcome(scene.submitted()["id"], "urgent_suspected_cancer")
    assert (upgraded["priorityRequested"], upgraded["priority"]) == ("routine", "urgent_suspected_cancer")
    [item] = [i for i in scene.worklist("sent")["items"] if i["id"] == upgraded["id"]]
    assert item["priority"] == "urgent_suspected_cancer"


def test_information_requested_goes_back_to_the_referrer_and_the_waiting_days_do_not_count(scene):
    clock = scene.api.container.clock
    clock.at = MONDAY
    referral_id = scene.submitted()["id"]                    # due Wednesday 2 December
    asked = scene.outcome(referral_id, "request_information", requested="A sharper dermoscopic image.")
    assert asked["status"] == "information_requested" and asked["outcome"]["requested"]
    assert scene.worklist("received", status="awaiting_review")["items"] == []
    clock.at = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)  # two working days later
    edited = scene.api.client.patch(scene.url(referral_id), headers=scene.gp, json={"clinicalQuestion": "Resent."})
    assert edited.status_code == 200
    lesion = scene.complete_lesion(referral_id)
    again = scene.submit(referral_id)
    assert again["status"] == "awaiting_review" and again["reviewDueBy"] == "2026-12-04T23:59:59Z"
    assert again["outcome"] is None and len(again["lesions"]) == 2 and lesion["id"] in str(again["lesions"])
    assert [(e["action"], e["toStatus"]) for e in again["log"]] == [
        ("create", "draft"), ("submit", "awaiting_review"), ("request_information", "information_requested"),
        ("submit", "awaiting_review")]
    assert again["log"][2]["reason"] == "A sharper dermoscopic image."
    subjects = [m["subject"] for m in mails(scene) if m["to"] == "newcastle-derm@nhs.net"]
    assert len(subjects) == 2  # told of each submission


def test_cancel_is_possible_until_an_outcome_and_is_the_referrers(scene):
    draft = scene.draft()["id"]
    waiting = scene.submitted()["id"]
    decided = scene.decided()
    cancelled = scene.step_response(draft, "cancel", reason="Patient seen privately.")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["log"][-1]["reason"] == "Patient seen privately."
    assert scene.step_response(waiting, "cancel").json()["status"] == "cancelled"
    too_late = scene.step_response(decided, "cancel")
    assert too_late.status_code == 409 and too_late.json()["currentStatus"] == "outcome_sent"
    after = scene.outcome_response(waiting)
    assert after.status_code == 409 and after.json()["currentStatus"] == "cancelled"


def test_every_state_change_says_who_when_from_to_and_why(scene):
    referral_id = scene.decided("discharge_with_advice")
    scene.step_response(referral_id, "acknowledge")
    log = scene.get(referral_id)["log"]
    assert [(e["action"], e["fromStatus"], e["toStatus"]) for e in log] == [
        ("create", None, "draft"), ("submit", "draft", "awaiting_review"),
        ("outcome", "awaiting_review", "outcome_sent"), ("acknowledge", "outcome_sent", "closed")]
    assert [e["clinicId"] for e in log] == [scene.practice_id, scene.practice_id, scene.service_id, scene.practice_id]
    assert log[2]["reason"] == "discharge_with_advice"
    assert all(e["by"].startswith("m_") and e["at"] for e in log)
    assert not any("@" in e["by"] for e in log)  # a member id, never an address
