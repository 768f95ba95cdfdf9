"""The admission limit on upload processing, end to end on both families: with MAX_CONCURRENT_UPLOADS=1
and its one slot held (as by an upload being processed), every way an upload's bytes arrive is
refused 503 `uploads-busy` with Retry-After and stores nothing, and succeeds once the slot is free.
A refusal takes no time to come (UPLOAD_WAIT_SECONDS=0): nothing here races a clock."""
from __future__ import annotations

import pytest

from functions import ingest_bp
from functions.ingest_bp import IncomingBlob, process_incoming_upload
from shared_code.errors import UploadsBusy
from shared_code.images.admission import upload_admission
from shared_code.settings import IMAGES_CONTAINER, INCOMING_CONTAINER
from tests.support import steps
from tests.support.referrals import ReferralScene


@pytest.fixture
def api(family, tmp_path):
    from tests.support.app import make_api

    return make_api(family, tmp_path / "data", MAX_CONCURRENT_UPLOADS="1", UPLOAD_WAIT_SECONDS="0")


def _held(api):
    """The instance's one upload slot, taken as an upload in progress would take it."""
    return upload_admission(api.container.settings).hold()


def _refused_busy(response) -> None:
    assert response.status_code == 503, response.text
    assert steps.problem_type(response) == "uploads-busy"
    assert int(response.headers["Retry-After"]) > 0


def _images(api, headers, folder_id) -> list[dict]:
    response = api.client.get(f"/api/folders/{folder_id}/images", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_direct_upload_waits_its_turn_and_is_refused_when_none_comes(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    with _held(api):
        _refused_busy(steps.post_image(api, headers, folder))
    assert _images(api, headers, folder) == []
    assert list(api.container.adapters.blobs.list(IMAGES_CONTAINER, steps.patient_id(api, headers) + "/")) == []
    # A refused image (processing failed) gives its slot back: the next upload is admitted.
    assert steps.post_image(api, headers, folder, b"GIF89a not an image").status_code == 422
    image = steps.upload(api, headers, folder)
    assert [i["id"] for i in _images(api, headers, folder)] == [image["id"]]


def test_a_busy_upload_sent_again_with_its_idempotency_key_is_stored_once(api):
    """The app retries a 503 with the same Idempotency-Key: the refusal claimed nothing, so the retry
    is processed, and a third send replays it rather than storing the image twice."""
    patient = api.patient()
    folder = steps.folder(api, patient)
    headers = {**patient, "Idempotency-Key": "photo-1"}
    with _held(api):
        _refused_busy(steps.post_image(api, headers, folder))
    stored = steps.post_image(api, headers, folder)
    assert stored.status_code == 201 and "idempotent-replayed" not in stored.headers
    again = steps.post_image(api, headers, folder)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == stored.json()["id"]
    assert [i["id"] for i in _images(api, headers, folder)] == [stored.json()["id"]]


def test_an_upload_urls_bytes_are_refused_unread_and_taken_when_sent_again(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    ticket = steps.upload_ticket(api, headers, folder)
    with _held(api):
        _refused_busy(steps.put_upload(api, ticket["uploadUrl"], steps.jpeg()))
    assert list(api.container.adapters.blobs.list(INCOMING_CONTAINER)) == []
    assert [i["status"] for i in _images(api, headers, folder)] == ["pending"]
    assert steps.put_upload(api, ticket["uploadUrl"], steps.jpeg()).status_code == 201
    assert [i["status"] for i in _images(api, headers, folder)] == ["ready"]


def test_the_upload_trigger_processes_nothing_without_a_slot(api, monkeypatch):
    monkeypatch.setattr("functions.ingest_bp.get_container", lambda: api.container)
    monkeypatch.setattr(ingest_bp, "TRIGGER_WAIT_SECONDS", 0)
    headers = api.patient()
    folder = steps.folder(api, headers)
    ticket = steps.upload_ticket(api, headers, folder)
    blob_name = f"{steps.patient_id(api, headers)}/{ticket['imageId']}"
    api.container.adapters.blobs.put(INCOMING_CONTAINER, blob_name, [steps.jpeg()])  # as the client's PUT to a SAS
    with _held(api):
        with pytest.raises(UploadsBusy):  # the invocation fails: Event Grid delivers the event again
            process_incoming_upload(IncomingBlob(container=INCOMING_CONTAINER, name=blob_name))
        with pytest.raises(UploadsBusy):
            ingest_bp.redrive_uploads_job(api.container)
    assert [i["status"] for i in _images(api, headers, folder)] == ["pending"]
    process_incoming_upload(IncomingBlob(container=INCOMING_CONTAINER, name=blob_name))
    assert [i["status"] for i in _images(api, headers, folder)] == ["ready"]


def test_a_referral_photograph_is_refused_the_same_way(api):
    scene = ReferralScene(api)
    referral_id = scene.draft()["id"]
    lesion_id = scene.lesion(referral_id)["id"]
    before = scene.get(referral_id)
    with _held(api):
        _refused_busy(scene.image_response(referral_id, lesion_id, "close_up"))
    assert scene.get(referral_id)["lesions"] == before["lesions"]
    assert list(api.container.adapters.blobs.list(IMAGES_CONTAINER, f"{referral_id}/")) == []
    scene.image(referral_id, lesion_id, "close_up")
    (lesion,) = scene.get(referral_id)["lesions"]
    assert [i["view"] for i in lesion["images"]] == ["close_up"]
