"""The referral core end to end (API.md "Referrals and triage"), on both adapter families: who may
refer to whom, drafts and their edits, completeness, submission and the review clock, the two
worklists, the detail each side sees, and a third clinic that sees nothing."""
from __future__ import annotations

from datetime import datetime, timezone

from shared_code.notifications.pump import pump_notifications
from tests.support.referrals import PRACTICE_CODE, ReferralScene, accept_referrals, referral_body
from tests.support.steps import VALID_NHS, admin, onboard, problem_type

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)  # GMT: London = UTC


def sent_ids(scene: ReferralScene) -> list[str]:
    return [item["id"] for item in scene.worklist("sent")["items"]]


def test_a_draft_belongs_to_the_referrer_until_it_is_submitted(scene):
    response = scene.draft_response()
    assert response.status_code == 201, response.text
    draft = response.json()
    assert response.headers["Location"] == scene.url(draft["id"])
    assert draft["status"] == "draft" and draft["submittedAt"] is None and draft["reviewDueBy"] is None
    assert draft["patient"] == {"name": "Brenda Example", "nhsNumber": VALID_NHS, "nhsNumberVerified": False,
                                "dateOfBirth": "1961-04-12", "sex": "female", "email": None}
    assert draft["serviceClinic"] == {"id": scene.service_id, "name": "Newcastle Dermatology"}
    assert draft["history"]["sevenPointChecklist"] == ["change_in_size", "irregular_colour"]
    assert draft["consents"]["shareWithService"] is True and draft["consents"]["recordedAt"]
    [created] = draft["log"]
    assert (created["action"], created["fromStatus"], created["toStatus"]) == ("create", None, "draft")
    assert sent_ids(scene) == [draft["id"]]
    # The service never sees a draft: not in its worklist, not by its id.
    assert scene.worklist("received")["items"] == []
    hidden = scene.api.client.get(scene.url(draft["id"], service=True), headers=scene.rita)
    assert hidden.status_code == 404 and problem_type(hidden) == "referral-not-found"


def test_only_a_subscribed_clinic_accepting_referrals_can_be_referred_to(scene):
    onboard(scene.api, "SUNDERLAND-GP", admin_email="una@nhs.net")  # a new clinic: accepts none
    for code in ("SUNDERLAND-GP", "NO-SUCH-CLINIC"):
        response = scene.draft_response(toClinicCode=code)
        assert response.status_code == 404 and problem_type(response) == "clinic-code-not-found", code
    accept_referrals(scene.api, scene.practice_id)  # the practice as a service too: still not to itself
    own = scene.draft_response(toClinicCode=PRACTICE_CODE.lower())
    assert own.status_code == 422 and problem_type(own) == "validation-failed"
    assert sent_ids(scene) == []


def test_a_referral_to_a_service_whose_subscription_ended_is_not_found(scene):
    scene.api.client.patch(f"/api/admin/clinics/{scene.service_id}", headers=admin(scene.api),
                           json={"subscriptionEndsAt": "2026-01-01T00:00:00Z"})
    response = scene.draft_response()
    assert response.status_code == 404 and problem_type(response) == "clinic-code-not-found"


def test_bad_answers_are_refused_and_create_nothing(scene):
    bad = [
        {"patient": {"name": "B", "nhsNumber": "9434765918", "dateOfBirth": "1961-04-12"}},  # modulus 11
        {"consents": {"shareWithService": False, "version": "2026-01"}},
        {"priorityRequested": "soon"},
        {"history": {"fitzpatrickSkinType": "VII"}},
        {"history": {"changed": ["size", "size"]}},
        {"clinicalQuestion": ""},
        {"surprise": True},
    ]
    for overrides in bad:
        response = scene.draft_response(**overrides)
        assert response.status_code == 422 and problem_type(response) == "validation-failed", overrides
        assert "9434765918" not in response.text  # an NHS number is never repeated back
    assert sent_ids(scene) == []


def test_a_retried_create_with_the_same_idempotency_key_creates_one_referral(scene):
    headers = {**scene.gp, "Idempotency-Key": "draft-1"}
    first = scene.api.client.post(scene.url(), headers=headers, json=referral_body())
    again = scene.api.client.post(scene.url(), headers=headers, json=referral_body())
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and sent_ids(scene) == [first.json()["id"]]


def test_a_draft_is_edited_until_submission_and_then_refuses_changes(scene):
    referral_id = scene.ready()
    url = scene.url(referral_id)
    edited = scene.api.client.patch(url, headers=scene.gp, json={
        "clinicalQuestion": "Now bleeding on contact.", "priorityRequested": "urgent",
        "history": {"bleeding": True, "fitzpatrickSkinType": "V"}})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["clinicalQuestion"], body["priorityRequested"]) == ("Now bleeding on contact.", "urgent")
    assert body["history"] == {"bleeding": True, "fitzpatrickSkinType": "V", "changed": [], "sevenPointChecklist": []}
    assert body["patient"]["name"] == "Brenda Example"  # not sent: kept
    null = scene.api.client.patch(url, headers=scene.gp, json={"clinicalQuestion": None})
    assert null.status_code == 422
    scene.submit(referral_id)
    late = scene.api.client.patch(url, headers=scene.gp, json={"clinicalQuestion": "Too late"})
    assert late.status_code == 409 and problem_type(late) == "referral-state-conflict"
    assert late.json()["currentStatus"] == "awaiting_review"
    lesion = scene.lesion_response(referral_id)
    assert lesion.status_code == 409 and lesion.json()["currentStatus"] == "awaiting_review"
    assert scene.get(referral_id)["clinicalQuestion"] == "Now bleeding on contact."


def test_submission_lists_what_each_lesion_lacks_and_changes_nothing(scene):
    referral_id = scene.draft()["id"]
    empty = scene.submit_response(referral_id)
    assert empty.status_code == 422 and problem_type(empty) == "referral-incomplete"
    assert empty.json()["missing"] == [{"lesionId": None, "missing": ["lesion"]}]
    partial = scene.complete_lesion(referral_id, views=("close_up",))
    whole = scene.complete_lesion(referral_id)
    response = scene.submit_response(referral_id)
    assert response.status_code == 422
    assert response.json()["missing"] == [{"lesionId": partial["id"], "missing": ["distant", "dermoscopic"]}]
    assert whole["id"] not in response.text
    after = scene.get(referral_id)
    assert after["status"] == "draft" and after["submittedAt"] is None and len(after["log"]) == 1
    assert scene.worklist("received")["items"] == []


def test_the_services_required_views_decide_completeness(api):
    scene = ReferralScene(api, requiredViews=["close_up"])
    assert scene.service["referralService"]["requiredViews"] == ["close_up"]
    assert scene.submitted(views=("close_up",))["status"] == "awaiting_review"


def test_submission_starts_the_review_clock_and_tells_the_service_nothing_personal(scene):
    scene.api.container.clock.at = MONDAY
    referral_id = scene.ready()
    submitted = scene.submit(referral_id)
    assert submitted["status"] == "awaiting_review"
    assert submitted["submittedAt"] == "2026-11-30T10:00:00Z"
    assert submitted["reviewDueBy"] == "2026-12-02T23:59:59Z"  # the 2nd working day, end of the London day
    assert submitted["sla"] == "on_track"
    assert [(e["action"], e["fromStatus"], e["toStatus"]) for e in submitted["log"]][-1] == (
        "submit", "draft", "awaiting_review")
    again = scene.submit_response(referral_id)
    assert again.status_code == 409 and again.json()["currentStatus"] == "awaiting_review"
    pump_notifications(scene.api.container)
    [mail] = [m for m in scene.api.container.adapters.mail.list() if "eferral" in m["subject"]]
    assert mail["to"] == "newcastle-derm@nhs.net"
    assert "2 December 2026" in mail["subject"] and f"/clinics/{scene.service_id}/referrals/{referral_id}" in mail["text"]
    for part in (mail["subject"], mail["text"], mail["html"]):
        for secret in ("Brenda", "Example", VALID_NHS, "1961", "Melanoma", "Pigmented", "pigmented"):
            assert secret not in part


def test_the_worklist_is_soonest_due_first_with_its_sla(scene):
    clock = scene.api.container.clock
    clock.at = MONDAY
    first = scene.submitted()["id"]                           # due Wednesday 2 December
    clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    second = scene.submitted(priorityRequested="urgent")["id"]  # due Thursday 3 December
    clock.at = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    asked = scene.asked_for_more()                            # sent back: not awaiting review
    clock.at = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    items = scene.worklist("received", status="awaiting_review")["items"]
    assert [(i["id"], i["sla"]) for i in items] == [(first, "due_today"), (second, "on_track")]
    clock.at = datetime(2026, 12, 3, 0, 0, 1, tzinfo=timezone.utc)
    items = scene.worklist("received")["items"]
    assert {i["id"]: i["sla"] for i in items} == {first: "overdue", second: "due_today", asked: None}
    # The referrer's list: newest first, with status.
    sent = scene.worklist("sent")["items"]
    assert [(i["id"], i["status"]) for i in sent] == [
        (asked, "information_requested"), (second, "awaiting_review"), (first, "awaiting_review")]


def test_the_referrers_list_filtered_by_status_gives_full_pages_and_follows_each_change(scene):
    """The status filter is the query's (the referring clinic's pointers carry the status), so a page
    holds `limit` referrals in that status, however many newer ones are in another."""
    submitted = scene.submitted()["id"]
    drafts = [scene.draft()["id"] for _ in range(2)]  # newer than the submitted one
    page = scene.worklist("sent", status="awaiting_review", limit=1)
    assert [i["id"] for i in page["items"]] == [submitted] and page["continuation"] is None
    assert sorted(i["id"] for i in scene.worklist("sent", status="draft", limit=2)["items"]) == sorted(drafts)
    scene.outcome(submitted)
    assert scene.worklist("sent", status="awaiting_review")["items"] == []
    assert [(i["id"], i["status"]) for i in scene.worklist("sent", status="outcome_sent")["items"]] == [
        (submitted, "outcome_sent")]


def test_each_side_reads_the_referral_and_only_the_service_sees_decision_support(scene):
    referral_id = scene.submitted()["id"]
    mine = scene.get(referral_id)
    theirs = scene.get(referral_id, service=True)
    assert mine["decisionSupport"] is None
    assert theirs["decisionSupport"]["status"] == "not_configured"  # locally no provider: said so
    for view in (mine, theirs):
        [lesion] = view["lesions"]
        assert sorted(image["view"] for image in lesion["images"]) == ["close_up", "dermoscopic", "distant"]
        assert all("quality" in image for image in lesion["images"])
        assert view["patient"]["nhsNumber"] == VALID_NHS and view["status"] == "awaiting_review"
    entries = scene.api.container.referral_audit.entries(referral_id)
    assert [e.action for e in entries] == ["referral.viewed", "referral.viewed"]
    assert {e.clinic.id for e in entries} == {scene.practice_id, scene.service_id}


def test_a_third_clinic_finds_nothing_and_each_side_keeps_to_its_steps(scene):
    referral_id = scene.submitted()["id"]
    third_id, tom = scene.third_clinic()
    api = scene.api
    for suffix in ("", "/submit", "/outcome", "/cancel", "/acknowledge"):
        method = api.client.get if suffix == "" else api.client.post
        kwargs = {"json": {"outcome": "routine_appointment", "adviceToReferrer": "x"}} if suffix == "/outcome" else {}
        response = method(f"/api/clinics/{third_id}/referrals/{referral_id}{suffix}", headers=tom, **kwargs)
        assert response.status_code == 404 and problem_type(response) == "referral-not-found", suffix
    # A member of the practice is not a member of the service (and the other way round).
    wrong_clinic = api.client.get(scene.url(referral_id, service=True), headers=scene.gp)
    assert wrong_clinic.status_code == 404 and problem_type(wrong_clinic) == "clinic-not-found"
    reviewer_cancels = api.client.post(scene.url(referral_id, "/cancel", service=True), headers=scene.rita)
    assert reviewer_cancels.status_code == 403 and problem_type(reviewer_cancels) == "referral-side-required"
    referrer_decides = api.client.post(scene.url(referral_id, "/outcome"), headers=scene.gp,
                                       json={"outcome": "routine_appointment", "adviceToReferrer": "x"})
    assert referrer_decides.status_code == 403 and problem_type(referrer_decides) == "referral-side-required"
    assert scene.get(referral_id)["status"] == "awaiting_review"


def test_the_services_lapsed_subscription_closes_its_worklist(scene):
    scene.submitted()
    scene.api.client.patch(f"/api/admin/clinics/{scene.service_id}", headers=admin(scene.api),
                           json={"subscriptionEndsAt": "2026-01-01T00:00:00Z"})
    response = scene.api.client.get(scene.url(service=True), headers=scene.rita, params={"direction": "received"})
    assert response.status_code == 403 and problem_type(response) == "subscription-inactive"


def test_a_reviewer_removed_from_the_service_loses_the_referral_at_once(scene):
    referral_id = scene.submitted()["id"]
    assert scene.api.client.get(scene.url(referral_id, service=True), headers=scene.sam).status_code == 200
    member = next(m for m in scene.api.client.get(f"/api/clinics/{scene.service_id}/members",
                                                  headers=scene.rita).json()["items"] if m["email"] == "sam@nhs.net")
    removed = scene.api.client.delete(f"/api/clinics/{scene.service_id}/members/{member['id']}", headers=scene.rita)
    assert removed.status_code == 204
    for url, kwargs in ((scene.url(referral_id, service=True), {}),
                        (scene.url(referral_id, "/outcome", service=True),
                         {"json": {"outcome": "routine_appointment", "adviceToReferrer": "x"}})):
        method = scene.api.client.post if kwargs else scene.api.client.get
        response = method(url, headers=scene.sam, **kwargs)
        assert response.status_code == 404 and problem_type(response) == "clinic-not-found"
    assert scene.get(referral_id)["status"] == "awaiting_review"
