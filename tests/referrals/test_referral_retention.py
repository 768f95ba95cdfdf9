"""Retention of referrals end to end, both adapter families, on the FrozenClock of tests/referrals,
with the timer's own job (functions/schedules_bp.apply_referral_retention_job): a closed referral
is kept for the records period and then goes as a unit (404 to both sides, its photographs' blobs
gone); a draft cancelled before submission goes after the draft period."""
from __future__ import annotations

from datetime import timedelta

from functions.schedules_bp import apply_referral_retention_job
from shared_code.clock import iso
from shared_code.settings import IMAGES_CONTAINER
from tests.support.steps import admin


def _renew(api, *clinic_ids: str) -> None:
    """The clinics' subscriptions carried on for years (retention is not what ends them here)."""
    for clinic_id in clinic_ids:
        response = api.client.patch(f"/api/admin/clinics/{clinic_id}", headers=admin(api),
                                    json={"subscriptionEndsAt": iso(api.now() + timedelta(days=365))})
        assert response.status_code == 200, response.text


def _blobs(api, referral_id: str) -> list[str]:
    return [b.name for b in api.container.adapters.blobs.list(IMAGES_CONTAINER, f"{referral_id}/")]


def test_a_closed_referral_is_kept_for_the_records_period_then_shredded(api, scene):
    referral_id = scene.decided()
    assert scene.step_response(referral_id, "acknowledge").status_code == 200
    image_id = scene.get(referral_id, service=True)["lesions"][0]["images"][0]["id"]
    content = scene.url(referral_id, f"/images/{image_id}/content")
    assert _blobs(api, referral_id)

    api.container.clock.advance(days=api.container.settings.referral_records_retention_days - 1)
    _renew(api, scene.practice_id, scene.service_id)
    assert apply_referral_retention_job(api.container) == {}
    assert scene.get(referral_id)["status"] == "closed"
    assert api.client.get(content, headers=scene.gp).status_code == 200

    api.container.clock.advance(days=1)
    assert apply_referral_retention_job(api.container) == {"referrals_deleted": 1}
    for clinic_id, headers in ((scene.practice_id, scene.gp), (scene.service_id, scene.rita)):
        url = f"/api/clinics/{clinic_id}/referrals/{referral_id}"
        assert api.client.get(url, headers=headers).status_code == 404
        assert api.client.get(f"{url}/images/{image_id}/content", headers=headers).status_code == 404
    assert _blobs(api, referral_id) == []
    assert scene.worklist("sent")["items"] == [] and scene.worklist()["items"] == []
    assert apply_referral_retention_job(api.container) == {}


def test_a_cancelled_draft_goes_after_the_draft_period(api, scene):
    kept = scene.submitted()["id"]  # open: never deleted by time
    draft = scene.ready()
    assert scene.step_response(draft, "cancel", reason="sent elsewhere").status_code == 200
    assert _blobs(api, draft)

    api.container.clock.advance(days=api.container.settings.referral_draft_retention_days)
    _renew(api, scene.practice_id, scene.service_id)
    assert apply_referral_retention_job(api.container) == {"referral_drafts_deleted": 1}
    assert api.client.get(scene.url(draft), headers=scene.gp).status_code == 404
    assert _blobs(api, draft) == []
    assert [r["id"] for r in scene.worklist("sent")["items"]] == [kept]
    assert scene.get(kept)["status"] == "awaiting_review"
