"""Faults on the upload paths, on the fakes: a worker killed at each step of processing an upload
URL's bytes (the upload ends ready once the service is back, and the client may PUT again), a
failure half-way, a folder deleted while its upload is in flight, erasure and the pending index, the
leftovers a killed direct upload leaves, and an oversized blob that is never read.

A kill is `Killed` (a BaseException, as nothing in the code may catch it) raised at the step; the
restart is a new Container over the same stores, in a process whose start token differs (as a
container restarted with the same pid)."""
from __future__ import annotations


import pytest

from shared_code.container import Container
from shared_code.errors import FolderNotFound, ImageNotFound, StorageFull, UploadAlreadyUsed
from shared_code.images import workers as workers_module
from shared_code.images.records import ImageStatus
from shared_code.ports.documents import Query
from shared_code.settings import IMAGES_CONTAINER, INCOMING_CONTAINER, PATIENTS
from tests.support.steps import jpeg
from tests.unit.conftest import Domain


class Killed(BaseException):
    """The process died here: nothing after this line ran, and no handler saw it."""


def _restart(domain: Domain, monkeypatch) -> Domain:
    """The service again, over the same stores, in a new process that reuses the dead one's pid."""
    monkeypatch.setattr(workers_module, "_START", workers_module._START + "-restarted")
    return Domain(Container(domain.container.settings, domain.adapters, domain.clock))


def _image(domain: Domain, who, image_id: str):
    return domain.container.image_repository.find(who.patient_id, image_id)


def _blob_names(domain: Domain, container: str) -> list[str]:
    return [info.name for info in domain.adapters.blobs.list(container)]


def _is_image_blob(container, name, *rest) -> bool:
    return container == IMAGES_CONTAINER


# Each step of processing an upload URL's bytes, as the fault that kills the worker there.
STEPS = {
    "reading the bytes": ("blobs", "open", False, lambda container, *_: container == INCOMING_CONTAINER),
    "writing the first object": ("blobs", "put", False, _is_image_blob),
    "after writing the objects": ("blobs", "put", True, _is_image_blob),
    "marking the image ready": ("documents", "replace", False,
                                lambda container, pk, id, *_: container == PATIENTS and id.startswith("i_")),
    "after the image is ready": ("documents", "replace", True,
                                 lambda container, pk, id, *_: container == PATIENTS and id.startswith("i_")),
    "deleting the incoming bytes": ("blobs", "delete", False, lambda container, *_: container == INCOMING_CONTAINER),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_worker_killed_at_any_step_leaves_an_upload_the_restarted_service_finishes_at_once(
        domain, scene, monkeypatch, step):
    store, operation, after, when = STEPS[step]
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    domain.put_incoming(blob, jpeg(3))
    faults = getattr(domain.adapters, store).faults
    # The claim is the first replace of the image: let it through, kill the next one.
    seen = []

    def nth(*args):
        if not when(*args):
            return False
        seen.append(args)
        return operation != "replace" or len(seen) >= 2

    faults.fail(operation, Killed(), when=nth, after=after)
    with pytest.raises(Killed):
        domain.container.incoming.process(blob)
    faults.clear()

    restarted = _restart(domain, monkeypatch)
    # At once: no UPLOAD_STUCK_MINUTES to wait for (the clock has not moved).
    restarted.container.upload_redrive.recover()
    image = _image(restarted, scene.alice, image_id)
    assert image.status is ImageStatus.READY, step
    assert restarted.read(scene.alice, image)[:2] == b"\xff\xd8"
    assert restarted.container.folders.get(scene.alice.patient_id, scene.folder_id).image_count == 1
    assert _blob_names(restarted, INCOMING_CONTAINER) == []
    assert list(restarted.container.pending_uploads.oldest_first()) == []


def test_a_client_whose_put_was_never_acknowledged_can_put_again_and_the_image_becomes_ready(
        domain, scene, monkeypatch):
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    domain.adapters.blobs.faults.fail("put", Killed(), when=_is_image_blob)
    with pytest.raises(Killed):  # the PUT's processing dies: the client never got its 201
        domain.container.incoming.receive(blob, jpeg(4))
    domain.adapters.blobs.faults.clear()

    restarted = _restart(domain, monkeypatch)
    restarted.container.incoming.expect(blob)  # the URL still takes bytes (was: upload-already-used)
    assert restarted.container.incoming.receive(blob, jpeg(4)) == "ready"
    assert _image(restarted, scene.alice, image_id).status is ImageStatus.READY
    with pytest.raises(UploadAlreadyUsed):
        restarted.container.incoming.expect(blob)


def test_a_claim_by_a_live_worker_is_left_alone_until_it_is_stuck(domain, scene):
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    domain.put_incoming(blob, jpeg(5))
    domain.adapters.blobs.faults.fail("put", Killed(), when=_is_image_blob)
    with pytest.raises(Killed):
        domain.container.incoming.process(blob)
    domain.adapters.blobs.faults.clear()
    # Same process (its worker is alive, e.g. still working on another thread): not taken over.
    assert domain.container.upload_redrive.recover() == {"processing": 1}
    with pytest.raises(UploadAlreadyUsed):
        domain.container.incoming.expect(blob)
    domain.clock.advance(minutes=domain.container.settings.upload_stuck_minutes)
    assert domain.container.upload_redrive.redrive_pending() == {"ready": 1}


def test_a_failure_half_way_gives_the_claim_back_at_once(domain, scene):
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    domain.put_incoming(blob, jpeg(6))
    domain.adapters.blobs.faults.fail("put", StorageFull("blobs"), when=_is_image_blob)
    with pytest.raises(StorageFull):
        domain.container.incoming.process(blob)
    assert _image(domain, scene.alice, image_id).status is ImageStatus.PENDING
    assert domain.container.incoming.process(blob) == "ready"  # the next event, without waiting


def test_bytes_never_received_end_rejected_not_received(domain, scene):
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    settings = domain.container.settings
    domain.clock.advance(minutes=settings.upload_url_minutes, hours=settings.upload_not_received_hours, seconds=1)
    assert domain.container.upload_redrive.redrive_pending() == {"not-received": 1}
    image = _image(domain, scene.alice, image_id)
    assert (image.public_status, image.rejected_reason) == ("rejected", "not_received")


# --- a folder deleted while its upload is in flight ---------------------------------------------------
def test_an_upload_whose_folder_is_deleted_before_its_bytes_are_processed_is_discarded(domain, scene):
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    domain.put_incoming(blob, jpeg(7))
    # The folder goes; its cascade ran before this image's record existed (the race), so the record
    # is put back as the cascade found nothing.
    record = _image(domain, scene.alice, image_id)
    domain.container.folders.delete(scene.alice.patient_id, scene.folder_id)
    domain.container.image_repository.upsert(scene.alice.patient_id, record)
    domain.put_incoming(blob, jpeg(7))
    domain.container.pending_uploads.add(blob, domain.clock.now())

    assert domain.container.incoming.process(blob) == "folder-gone"
    assert _image(domain, scene.alice, image_id) is None
    with pytest.raises(ImageNotFound):
        domain.container.images.get(scene.alice.patient_id, image_id)
    assert _blob_names(domain, IMAGES_CONTAINER) == [] and _blob_names(domain, INCOMING_CONTAINER) == []
    assert list(domain.container.pending_uploads.oldest_first()) == []


def _delete_the_folder_while_objects_are_written(domain, scene) -> None:
    """The patient deletes the folder the moment the first encrypted object is written: the folder's
    cascade sees the image claimed (or not yet recorded), and the worker goes on to finish it."""
    deleted = []

    def delete_folder_now(container, name, *rest):
        if container == IMAGES_CONTAINER and not deleted:
            deleted.append(True)
            domain.adapters.documents.delete(PATIENTS, scene.alice.patient_id, scene.folder_id)
        return False  # a hook only: the write itself goes ahead

    domain.adapters.blobs.faults.fail("put", Killed(), when=delete_folder_now)


def test_a_folder_deleted_while_its_upload_is_processed_leaves_no_readable_image(domain, scene):
    image_id, blob = domain.upload_url(scene.alice, scene.folder_id)
    domain.put_incoming(blob, jpeg(8))
    folders = domain.container.folders
    _delete_the_folder_while_objects_are_written(domain, scene)
    assert domain.container.incoming.process(blob) == "folder-gone"
    with pytest.raises(FolderNotFound):
        folders.get(scene.alice.patient_id, scene.folder_id)
    with pytest.raises(ImageNotFound):
        domain.container.images.get(scene.alice.patient_id, image_id)
    assert _blob_names(domain, IMAGES_CONTAINER) == []


def test_a_folder_deleted_during_a_direct_upload_leaves_no_readable_image(domain, scene):
    _delete_the_folder_while_objects_are_written(domain, scene)
    with pytest.raises(FolderNotFound):
        domain.upload(scene.alice, scene.folder_id)
    images = domain.adapters.documents.query(PATIENTS, Query(scene.alice.patient_id, {"type": "image"}, limit=10))
    assert images.items == []
    assert _blob_names(domain, IMAGES_CONTAINER) == []


# --- erasure --------------------------------------------------------------------------------------------
def test_after_erasure_no_pending_upload_entry_names_the_patient(domain, scene):
    bob = domain.account("bob")
    _, bobs_blob = domain.upload_url(bob, domain.folder(bob))
    domain.upload_url(scene.alice, scene.folder_id)
    domain.upload_url(scene.alice, scene.folder_id)
    domain.container.accounts.erase(scene.alice.patient_id)
    entries = [entry.blob for entry in domain.container.pending_uploads.oldest_first()]
    assert entries == [bobs_blob]


# --- leftovers ----------------------------------------------------------------------------------------
def test_objects_of_a_direct_upload_killed_before_its_record_are_swept_once_old_enough(domain, scene):
    kept = domain.upload(scene.alice, scene.folder_id, seed=9)
    domain.adapters.documents.faults.fail(
        "create", Killed(), when=lambda container, pk, id, *_: container == PATIENTS and id.startswith("i_"))
    with pytest.raises(Killed):
        domain.upload(scene.alice, scene.folder_id, seed=10)
    domain.adapters.documents.faults.clear()
    assert len(_blob_names(domain, IMAGES_CONTAINER)) == 4  # two objects no record names
    redrive = domain.container.upload_redrive
    assert redrive.sweep_leftovers() == {"objects": 0, "partials": 0}  # too young: a write may be under way
    domain.clock.advance(minutes=domain.container.settings.leftover_sweep_minutes, seconds=1)
    assert redrive.sweep_leftovers() == {"objects": 2, "partials": 0}
    assert redrive.sweep_leftovers() == {"objects": 0, "partials": 0}  # idempotent
    assert sorted(_blob_names(domain, IMAGES_CONTAINER)) == sorted(s.blob for s in kept.objects.values())
    assert domain.read(scene.alice, kept)[:2] == b"\xff\xd8"


# --- the blob trigger never reads an oversized blob -------------------------------------------------------
def test_an_oversized_upload_is_refused_too_large_without_being_read(new_domain, clock, adapters):
    small = new_domain(clock, adapters).container.settings.model_copy(update={"max_upload_bytes": 4096})
    domain = Domain(Container(small, adapters, clock))
    who = domain.account("alice")
    image_id, blob = domain.upload_url(who, domain.folder(who))
    domain.put_incoming(blob, bytes(4097))
    adapters.blobs.faults.fail("open", AssertionError("an oversized blob was read"), times=None)
    assert domain.container.incoming.process(blob) == "rejected"
    image = _image(domain, who, image_id)
    assert (image.public_status, image.rejected_reason) == ("rejected", "too_large")
    assert _blob_names(domain, INCOMING_CONTAINER) == []
