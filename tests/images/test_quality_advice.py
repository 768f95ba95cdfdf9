"""Quality advice in the image metadata, on both adapter families: what the app shows after an
upload (either path), what a clinician sees through a share, and `{"issues": []}` for an image
stored before quality was measured. Never a refusal."""
from PIL import ImageFilter

from shared_code.settings import PATIENTS
from tests.imaging.builders import encoded, scene
from tests.support import steps

SHARP = encoded(scene((1200, 900)), "JPEG", quality=90)
BLURRED_SMALL = encoded(scene((640, 480)).filter(ImageFilter.GaussianBlur(5)), "JPEG", quality=90)


def test_the_app_is_told_what_to_retake_and_the_image_is_kept(api):
    alice = api.patient()
    folder = steps.folder(api, alice)
    sharp = steps.upload(api, alice, folder, SHARP)
    poor = steps.upload(api, alice, folder, BLURRED_SMALL)
    assert sharp["quality"] == {"issues": []}
    assert poor["status"] == "ready" and poor["quality"] == {"issues": ["blurred", "too_small"]}
    assert api.client.get(f"/api/images/{poor['id']}", headers=alice).json()["quality"] == poor["quality"]
    listed = api.client.get(f"/api/folders/{folder}/images", headers=alice).json()["items"]
    assert {i["id"]: i["quality"]["issues"] for i in listed} == {sharp["id"]: [], poor["id"]: ["blurred", "too_small"]}
    assert api.client.get(f"/api/images/{poor['id']}/content", headers=alice).status_code == 200


def test_an_upload_through_an_upload_url_is_measured_too(api):
    alice = api.patient()
    folder = steps.folder(api, alice)
    ticket = steps.upload_via_url(api, alice, folder, BLURRED_SMALL)
    image = api.client.get(f"/api/images/{ticket['imageId']}", headers=alice).json()
    assert image["status"] == "ready" and image["quality"] == {"issues": ["blurred", "too_small"]}


def test_the_clinician_sees_the_advice_with_the_shared_images(api):
    scene_ = steps.Scene(api, image_data=BLURRED_SMALL)
    detail = api.client.get(scene_.url(), headers=scene_.cal).json()
    assert [image["quality"] for image in detail["images"]] == [{"issues": ["blurred", "too_small"]}]


def test_an_image_stored_before_quality_was_measured_shows_no_issues(api):
    alice = api.patient()
    folder = steps.folder(api, alice)
    image = steps.upload(api, alice, folder, BLURRED_SMALL)
    documents, patient_id = api.container.adapters.documents, steps.patient_id(api, alice)
    stored = documents.read(PATIENTS, patient_id, image["id"]).doc
    documents.upsert(PATIENTS, patient_id, {k: v for k, v in stored.items() if k != "quality"})
    assert api.client.get(f"/api/images/{image['id']}", headers=alice).json()["quality"] == {"issues": []}
