"""Getting an image in (shared_code/images/ingest.py and incoming.py) on the fakes: a direct upload
ends ready with both objects stored encrypted, a refused one leaves nothing; an upload URL's bytes
are processed once however often their event comes, and a refused one tells the patient through the
outbox. tests/images/ runs the same through HTTP on both adapter families."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from shared_code.errors import FolderNotFound, UploadRejected
from shared_code.images.records import ImageStatus
from shared_code.notifications.contract import UPLOAD_REJECTED
from shared_code.ports.errors import PreconditionFailed
from shared_code.settings import IMAGES_CONTAINER, INCOMING_CONTAINER, PATIENTS
from tests.imaging import builders
from tests.support.steps import queued

PHOTO = builders.photo((64, 48))
JPEG, PNG = builders.jpeg(PHOTO), builders.png(PHOTO)


@pytest.fixture
def alice(domain):
    who = domain.account("alice")
    return who, domain.folder(who)


def _blobs(domain, container: str) -> dict[str, bytes]:
    store = domain.adapters.blobs
    return {info.name: b"".join(store.open(container, info.name)[1]) for info in store.list(container)}


def _folder(domain, who, folder_id):
    return domain.container.folders.get(who.patient_id, folder_id)


def _images_of(domain, who, folder_id) -> list:
    """Every image record of the folder, whatever its status."""
    return list(domain.container.image_repository.in_folder(who.patient_id, folder_id))


def _assert_stored_encrypted(domain, who, image, *plaintexts: bytes) -> None:
    """Two objects (original, thumbnail), in none of which any 32-byte run of a plaintext appears."""
    stored = _blobs(domain, IMAGES_CONTAINER)
    assert sorted(name.rsplit("/", 1)[-1] for name in stored) == ["original", "thumbnail"]
    assert all(name.startswith(f"{who.patient_id}/{image.id}/") for name in stored)
    for plain in plaintexts:
        runs = {plain[i:i + 32] for i in range(0, len(plain) - 32, 97)}
        assert not any(run in blob for run in runs for blob in stored.values())


# --- the direct upload --------------------------------------------------------------------------------
@pytest.mark.parametrize("data, content_type", [(JPEG, "image/jpeg"), (PNG, "image/png")], ids=["jpeg", "png"])
def test_a_direct_upload_is_ready_and_stored_only_encrypted(domain, alice, data, content_type):
    who, folder_id = alice
    image = domain.container.ingest.upload(who.patient_id, folder_id, data, taken_at=None, note="itchy",
                                           view="close_up")
    assert (image.status, image.content_type, image.width, image.height) == (ImageStatus.READY, content_type, 64, 48)
    assert domain.container.images.get(who.patient_id, image.id).public()["note"] == "itchy"
    original, thumbnail = domain.read(who, image), domain.read(who, image, "thumbnail")
    with Image.open(io.BytesIO(original)) as shown:
        assert (shown.get_format_mimetype(), shown.size) == (content_type, (64, 48))
    with Image.open(io.BytesIO(thumbnail)) as thumb:
        assert thumb.format == "JPEG"
    _assert_stored_encrypted(domain, who, image, data, original, thumbnail)
    folder = _folder(domain, who, folder_id)
    assert (folder.image_count, folder.template_image_id) == (1, image.id)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"%PDF-1.4 a letter from the hospital", "unsupported_type"),
    (JPEG[: len(JPEG) // 2], "truncated"),
    (JPEG[:200] + bytes(500) + JPEG[-2:], "corrupt"),
])
def test_a_refused_direct_upload_says_why_and_leaves_nothing(domain, alice, data, reason):
    who, folder_id = alice
    with pytest.raises(UploadRejected) as refused:
        domain.container.ingest.upload(who.patient_id, folder_id, data, taken_at=None, note=None, view=None)
    assert refused.value.reason == reason and refused.value.extensions == {"reason": reason}
    assert refused.value.detail == UploadRejected.REASONS[reason]
    assert _images_of(domain, who, folder_id) == [] and _blobs(domain, IMAGES_CONTAINER) == {}
    assert _folder(domain, who, folder_id).image_count == 0


def test_an_upload_to_a_folder_that_is_not_the_patients_is_refused_before_anything_is_stored(domain, alice):
    who, _ = alice
    bob = domain.account("bob")
    bobs_folder = domain.folder(bob)
    with pytest.raises(FolderNotFound):
        domain.container.ingest.upload(who.patient_id, bobs_folder, JPEG, taken_at=None, note=None, view=None)
    assert _blobs(domain, IMAGES_CONTAINER) == {}


# --- through an upload URL ------------------------------------------------------------------------------
def test_an_upload_url_waits_pending_then_its_bytes_make_the_image_ready(domain, alice):
    who, folder_id = alice
    image_id, blob = domain.upload_url(who, folder_id)
    assert domain.container.images.get(who.patient_id, image_id).public()["status"] == "pending"
    assert [p.blob for p in domain.container.pending_uploads.oldest_first()] == [blob]
    domain.put_incoming(blob, PNG)
    assert domain.container.incoming.process(blob) == "ready"
    image = domain.container.images.get(who.patient_id, image_id)
    assert (image.status, image.content_type) == (ImageStatus.READY, "image/png")
    _assert_stored_encrypted(domain, who, image, PNG, domain.read(who, image))
    assert _blobs(domain, INCOMING_CONTAINER) == {}  # the plaintext upload is gone
    assert list(domain.container.pending_uploads.oldest_first()) == []
    assert _folder(domain, who, folder_id).image_count == 1


def test_a_duplicate_event_or_a_repeated_put_changes_nothing(domain, alice):
    who, folder_id = alice
    image_id, blob = domain.upload_url(who, folder_id)
    domain.put_incoming(blob, JPEG)
    assert domain.container.incoming.process(blob) == "ready"
    ready, stored = domain.container.images.get(who.patient_id, image_id), _blobs(domain, IMAGES_CONTAINER)
    assert domain.container.incoming.process(blob) == "gone"  # the same event, again
    domain.put_incoming(blob, JPEG)  # the client's PUT retried while its URL is still valid
    assert domain.container.incoming.process(blob) == "already-processed"
    again = domain.container.images.get(who.patient_id, image_id)
    assert (again.etag, again.objects) == (ready.etag, ready.objects)
    assert _blobs(domain, IMAGES_CONTAINER) == stored and _blobs(domain, INCOMING_CONTAINER) == {}
    assert _folder(domain, who, folder_id).image_count == 1


def test_a_worker_that_loses_the_claim_stores_nothing_and_leaves_the_bytes_to_the_winner(domain, alice):
    who, folder_id = alice
    image_id, blob = domain.upload_url(who, folder_id)
    domain.put_incoming(blob, JPEG)
    domain.adapters.documents.faults.fail("replace", PreconditionFailed(image_id),
                                          when=lambda container, pk, id: container == PATIENTS and id == image_id)
    assert domain.container.incoming.process(blob) == "claimed-elsewhere"
    assert _blobs(domain, IMAGES_CONTAINER) == {} and list(_blobs(domain, INCOMING_CONTAINER)) == [blob]
    assert domain.container.incoming.process(blob) == "ready"
    assert _folder(domain, who, folder_id).image_count == 1


def test_a_refused_upload_is_rejected_with_its_reason_and_the_patient_is_told_once(domain, alice):
    who, folder_id = alice
    image_id, blob = domain.upload_url(who, folder_id)
    domain.put_incoming(blob, b"%PDF-1.4 not a photograph")
    assert domain.container.incoming.process(blob) == "rejected"
    image = domain.container.images.get(who.patient_id, image_id)
    assert (image.public()["status"], image.rejected_reason) == ("rejected", "unsupported_type")
    [event_id] = image.events  # recorded in the same write as the rejection
    [message] = queued(domain.adapters.queue)
    assert message["kind"] == UPLOAD_REJECTED and message["eventId"] == event_id
    assert message["data"] == {"patientId": who.patient_id, "imageId": image_id, "reason": "unsupported_type"}
    assert _blobs(domain, INCOMING_CONTAINER) == {} and _blobs(domain, IMAGES_CONTAINER) == {}
    assert list(domain.container.pending_uploads.oldest_first()) == []
    assert domain.container.incoming.process(blob) == "gone"
    assert len(queued(domain.adapters.queue)) == 1
    assert _folder(domain, who, folder_id).image_count == 0


def test_a_duplicate_event_while_another_worker_processes_does_not_lose_the_upload(domain, scene):
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    domain.put_incoming(blob, JPEG)
    duplicate = []

    def the_event_comes_again(container, name):
        if container == INCOMING_CONTAINER and not duplicate:
            duplicate.append(domain.container.incoming.process(blob))
        return False  # a hook only: the open itself goes ahead

    domain.adapters.blobs.faults.fail("open", RuntimeError("never raised"), when=the_event_comes_again)
    assert domain.container.incoming.process(blob) == "ready"
    assert duplicate == ["claimed-elsewhere"]
    assert domain.container.images.get(scene.alice.patient_id, image_id).status is ImageStatus.READY


def test_a_failed_clean_up_after_processing_still_counts_the_image_in_its_folder(domain, scene):
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    domain.put_incoming(blob, JPEG)
    domain.adapters.blobs.faults.fail("delete", ConnectionError("hiccup"), when=lambda c, n: c == INCOMING_CONTAINER)
    with pytest.raises(ConnectionError):
        domain.container.incoming.process(blob)
    assert domain.container.incoming.process(blob) == "already-processed"
    folder = domain.container.folders.get(scene.alice.patient_id, scene.folder_id)
    assert (folder.image_count, folder.template_image_id) == (1, image_id)
