"""A referral's photographs through the API, on both adapter families: uploaded per lesion and view
by the referring clinic (quality advice in the answer and in the referral, before submitting), read
by both sides (audited), refused to a third clinic, tamper-evident, and shredded with the referral's
key."""
from __future__ import annotations

import hashlib

import pytest
from PIL import ImageFilter

from shared_code.images.records import View
from shared_code.settings import CLINICS, IMAGES_CONTAINER
from tests.imaging.builders import encoded, scene as photo_scene
from tests.support import steps

SHARP = encoded(photo_scene((1200, 900)), "JPEG", quality=90)
SOFT = encoded(photo_scene((1200, 900)).filter(ImageFilter.GaussianBlur(5)), "JPEG", quality=90)


def _draft_with_lesion(scene) -> tuple[str, str]:
    referral_id = scene.draft()["id"]
    return referral_id, scene.lesion(referral_id)["id"]


def _submit_with_every_view(scene, referral_id: str, lesion_id: str, *, have: str) -> None:
    for seed, view in enumerate((v.value for v in View if v.value != have), start=5):
        scene.image(referral_id, lesion_id, view, seed=seed)
    scene.submit(referral_id)


def _image_url(scene, referral_id: str, image_id: str, what: str = "content", *, service: bool = False) -> str:
    return scene.url(referral_id, f"/images/{image_id}/{what}", service=service)


def _stored(api, service_id: str, image_id: str) -> dict:
    return api.container.adapters.documents.read(CLINICS, service_id, image_id).doc


def test_the_referrer_sees_quality_advice_per_image_before_submitting(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    response = scene.image_response(referral_id, lesion_id, "dermoscopic", data=SHARP, takenAt="2026-11-02T10:00:00Z",
                                    note="left forearm")
    assert response.status_code == 201, response.text
    sharp = response.json()
    assert response.headers["location"] == scene.url(referral_id, f"/images/{sharp['id']}/content")
    assert sharp["view"] == "dermoscopic" and sharp["lesionId"] == lesion_id and sharp["referralId"] == referral_id
    assert sharp["quality"] == {"issues": []} and (sharp["width"], sharp["height"]) == (1200, 900)
    assert sharp["takenAt"] == "2026-11-02T10:00:00Z" and sharp["note"] == "left forearm"
    soft = scene.image(referral_id, lesion_id, "close_up", data=SOFT)
    tiny = scene.image(referral_id, lesion_id, "distant")  # 96x64, one colour
    assert soft["quality"] == {"issues": ["blurred"]}
    assert tiny["quality"] == {"issues": ["blurred", "too_small"]}
    (lesion,) = scene.get(referral_id)["lesions"]
    assert [(i["id"], i["view"], i["quality"]["issues"]) for i in lesion["images"]] == [
        (sharp["id"], "dermoscopic", []), (soft["id"], "close_up", ["blurred"]),
        (tiny["id"], "distant", ["blurred", "too_small"])]
    # Poor images are advice, not a refusal: the referral can be submitted, and the reviewer sees the same.
    scene.submit(referral_id)
    (reviewed,) = scene.get(referral_id, service=True)["lesions"]
    assert [i["quality"] for i in reviewed["images"]] == [i["quality"] for i in lesion["images"]]


def test_view_may_come_as_a_header_like_a_patients_upload(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    response = scene.image_response(referral_id, lesion_id, None, headers={**scene.pat, "view": "close_up"})
    assert response.status_code == 201, response.text
    assert response.json()["view"] == "close_up"


def test_bad_uploads_are_refused_and_change_nothing(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    before = scene.get(referral_id)
    missing_view = scene.image_response(referral_id, lesion_id, None)
    assert missing_view.status_code == 422 and "view" in missing_view.text
    assert scene.image_response(referral_id, lesion_id, "sideways").status_code == 422
    rejected = scene.image_response(referral_id, lesion_id, "close_up", data=b"GIF89a not an image")
    assert rejected.status_code == 422 and rejected.json()["reason"] == "unsupported_type"
    unknown = scene.image_response(referral_id, "les_unknown", "close_up")
    assert unknown.status_code == 404 and steps.problem_type(unknown) == "lesion-not-found"
    wrong_type = scene.api.client.post(scene.url(referral_id, f"/lesions/{lesion_id}/images"), params={"view": "distant"},
                                       headers={**scene.pat, "content-type": "text/plain"}, content=b"hello")
    assert wrong_type.status_code == 415
    after = scene.get(referral_id)
    assert after["lesions"] == before["lesions"] and after["updatedAt"] == before["updatedAt"]
    assert list(scene.api.container.adapters.blobs.list(IMAGES_CONTAINER, f"{referral_id}/")) == []


def test_images_change_only_while_the_referral_is_editable(scene):
    referral_id = scene.ready()
    lesion_id = scene.get(referral_id)["lesions"][0]["id"]
    scene.submit(referral_id)
    refused = scene.image_response(referral_id, lesion_id, "close_up", seed=9)
    assert refused.status_code == 409 and steps.problem_type(refused) == "referral-state-conflict"
    assert refused.json()["currentStatus"] == "awaiting_review"
    by_service = scene.api.client.post(scene.url(referral_id, f"/lesions/{lesion_id}/images", service=True),
                                       headers={**scene.rita, "content-type": "image/jpeg"}, params={"view": "close_up"},
                                       content=steps.jpeg(9))
    assert by_service.status_code == 403 and steps.problem_type(by_service) == "referral-side-required"
    assert len(scene.get(referral_id)["lesions"][0]["images"]) == 3
    # Sent back for more information, the referrer may add a sharper photograph and submit again.
    scene.outcome(referral_id, "request_information", requested="A dermoscopic image in focus, please.")
    added = scene.image(referral_id, lesion_id, "dermoscopic", data=SHARP)
    assert added["id"] in [i["id"] for i in scene.get(referral_id)["lesions"][0]["images"]]
    assert scene.submit(referral_id)["status"] == "awaiting_review"


def test_a_draft_is_the_referrers_own_until_submitted(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    image = scene.image(referral_id, lesion_id, "close_up")
    hidden = scene.api.client.get(_image_url(scene, referral_id, image["id"], service=True), headers=scene.rita)
    assert hidden.status_code == 404 and steps.problem_type(hidden) == "referral-not-found"


def test_both_sides_view_the_images_and_every_view_is_audited(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    image = scene.image(referral_id, lesion_id, "dermoscopic", data=SHARP)
    _submit_with_every_view(scene, referral_id, lesion_id, have="dermoscopic")
    by_gp = scene.api.client.get(_image_url(scene, referral_id, image["id"]), headers=scene.gp)
    assert by_gp.status_code == 200 and by_gp.headers["content-type"] == "image/jpeg"
    assert by_gp.headers["cache-control"] == "private, no-store"
    assert hashlib.sha256(by_gp.content).hexdigest() == image["sha256"] and len(by_gp.content) == image["sizeBytes"]
    by_rita = scene.api.client.get(_image_url(scene, referral_id, image["id"], service=True), headers=scene.rita)
    assert by_rita.status_code == 200 and by_rita.content == by_gp.content
    thumb = scene.api.client.get(_image_url(scene, referral_id, image["id"], "thumbnail", service=True),
                                 headers=scene.sam)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:2] == b"\xff\xd8" and thumb.content != by_gp.content
    entries = [e for e in scene.api.container.referral_audit.entries(referral_id) if e.image_id]
    assert [(e.action, e.clinic.id, e.image_id) for e in entries] == [
        ("referral.image_viewed", scene.practice_id, image["id"]),
        ("referral.image_viewed", scene.service_id, image["id"]),
        ("referral.thumbnail_viewed", scene.service_id, image["id"])]


def test_a_third_clinic_and_another_referrals_image_find_nothing(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    image = scene.image(referral_id, lesion_id, "close_up")
    _submit_with_every_view(scene, referral_id, lesion_id, have="close_up")
    leeds_id, tom = scene.third_clinic()
    for clinic_id in (leeds_id, scene.practice_id, scene.service_id):
        for what in ("content", "thumbnail"):
            response = scene.api.client.get(f"/api/clinics/{clinic_id}/referrals/{referral_id}/images/{image['id']}/"
                                            f"{what}", headers=tom)
            assert response.status_code == 404, (clinic_id, response.text)
    upload = scene.api.client.post(f"/api/clinics/{leeds_id}/referrals/{referral_id}/lesions/{lesion_id}/images",
                                   headers={**tom, "content-type": "image/jpeg"}, params={"view": "close_up"},
                                   content=steps.jpeg())
    assert upload.status_code == 404 and steps.problem_type(upload) == "referral-not-found"
    # An image of another referral of the same clinics is not this referral's.
    other_id, other_lesion = _draft_with_lesion(scene)
    other = scene.image(other_id, other_lesion, "close_up", seed=4)
    crossed = scene.api.client.get(_image_url(scene, referral_id, other["id"]), headers=scene.gp)
    assert crossed.status_code == 404 and steps.problem_type(crossed) == "image-not-found"
    assert all(e.image_id != other["id"] for e in scene.api.container.referral_audit.entries(referral_id))


@pytest.mark.parametrize("variant", ["original", "thumbnail"])
def test_a_tampered_object_is_refused_never_served(scene, variant):
    referral_id, lesion_id = _draft_with_lesion(scene)
    image = scene.image(referral_id, lesion_id, "close_up", data=SHARP)
    blobs = scene.api.container.adapters.blobs
    name = _stored(scene.api, scene.service_id, image["id"])["objects"][variant]["blob"]
    assert name.startswith(f"{referral_id}/{image['id']}/")
    data = bytearray(b"".join(blobs.open(IMAGES_CONTAINER, name)[1]))
    data[200] ^= 0x80
    blobs.put(IMAGES_CONTAINER, name, [bytes(data)])
    what = "content" if variant == "original" else "thumbnail"
    response = scene.api.client.get(_image_url(scene, referral_id, image["id"], what), headers=scene.gp)
    assert response.status_code == 500 and response.json()["type"].endswith("/image-integrity")
    assert b"\xff\xd8" not in response.content
    assert [e for e in scene.api.container.referral_audit.entries(referral_id) if e.image_id] == []  # nothing shown


def test_a_wrapped_key_moved_to_another_image_does_not_unwrap(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    first = scene.image(referral_id, lesion_id, "close_up", seed=1)
    second = scene.image(referral_id, lesion_id, "distant", seed=2)
    documents = scene.api.container.adapters.documents
    stolen = _stored(scene.api, scene.service_id, first["id"])["wrappedDek"]
    victim = _stored(scene.api, scene.service_id, second["id"])
    documents.upsert(CLINICS, scene.service_id, {**victim, "wrappedDek": stolen})
    response = scene.api.client.get(_image_url(scene, referral_id, second["id"]), headers=scene.gp)
    assert response.status_code == 500 and response.json()["type"].endswith("/image-integrity")


def test_shredding_makes_every_image_unreadable_at_once(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    images = [scene.image(referral_id, lesion_id, view.value, seed=n) for n, view in enumerate(View, start=1)]
    scene.submit(referral_id)
    api = scene.api
    referral = api.container.referral_records.get(scene.service_id, referral_id)
    assert referral.referral_key
    api.container.referral_images.shred(referral)
    assert api.container.referral_records.get(scene.service_id, referral_id).referral_key is None
    assert list(api.container.adapters.blobs.list(IMAGES_CONTAINER, f"{referral_id}/")) == []
    for image in images:
        for what, headers in (("content", scene.gp), ("thumbnail", scene.gp)):
            response = api.client.get(_image_url(scene, referral_id, image["id"], what), headers=headers)
            assert response.status_code == 404 and steps.problem_type(response) == "image-not-found"
    assert scene.get(referral_id)["lesions"][0]["images"] == []


def test_a_retried_upload_with_the_same_idempotency_key_stores_one_image(scene):
    referral_id, lesion_id = _draft_with_lesion(scene)
    first = scene.image_response(referral_id, lesion_id, "close_up", headers={**scene.pat, "Idempotency-Key": "k-1"})
    again = scene.image_response(referral_id, lesion_id, "close_up", headers={**scene.pat, "Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert len(scene.get(referral_id)["lesions"][0]["images"]) == 1
