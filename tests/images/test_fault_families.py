"""Faults of the upload paths on both adapter families (local and Azure, through Azurite and
cosmosdb-server): the leftovers of a direct upload killed between writing its objects and creating
its record are swept, and an erased patient leaves no pending-upload index entry. The steps are the
unit layer's (tests/unit/test_upload_faults.py); here the stores are real."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared_code.clock import FrozenClock
from shared_code.images.redrive import UploadRedrive
from shared_code.settings import IMAGES_CONTAINER
from tests.images.photos import phone_jpeg
from tests.support import steps


class Killed(BaseException):
    """The process died here."""


def test_objects_no_record_names_are_swept_once_older_than_the_safe_age(api, monkeypatch):
    headers = api.patient()
    folder = steps.folder(api, headers)
    kept = steps.post_image(api, headers, folder, phone_jpeg(seed=2)).json()["id"]
    container = api.container
    patient_id = steps.patient_id(api, headers)

    def killed(*args, **kwargs):
        raise Killed()

    monkeypatch.setattr(container.image_repository, "create", killed)
    with pytest.raises(Killed):  # the objects are written, the record never is
        container.ingest.upload(patient_id, folder, phone_jpeg(seed=3), taken_at=None, note=None, view=None)
    monkeypatch.undo()
    names = lambda: sorted(i.name for i in container.adapters.blobs.list(IMAGES_CONTAINER))  # noqa: E731
    assert len(names()) == 4

    def sweep_at(later: timedelta) -> dict:
        clock = FrozenClock(container.clock.now() + later)
        return UploadRedrive(container.image_repository, container.pending_uploads, container.incoming,
                             container.adapters.blobs, clock, container.settings).sweep_leftovers()

    assert sweep_at(timedelta(0))["objects"] == 0  # a write may still be between objects and record
    safe = timedelta(minutes=container.settings.leftover_sweep_minutes, seconds=5)
    assert sweep_at(safe)["objects"] == 2
    assert sweep_at(safe)["objects"] == 0  # idempotent
    assert all(name.startswith(f"{patient_id}/{kept}/") for name in names()) and len(names()) == 2
    assert api.client.get(f"/api/images/{kept}/content", headers=headers).status_code == 200


def test_after_delete_me_no_pending_upload_entry_names_the_patient(api):
    alice = api.patient("alice")
    bob = api.patient("bob", "Bob")
    steps.upload_ticket(api, alice, steps.folder(api, alice))
    bobs = steps.upload_ticket(api, bob, steps.folder(api, bob))
    alice_id = steps.patient_id(api, alice)
    assert api.client.delete("/api/me", headers=alice).status_code == 202
    entries = [entry.blob for entry in api.container.pending_uploads.oldest_first()]
    assert not any(blob.startswith(alice_id) for blob in entries)  # was: her upload's entry stayed
    assert entries == [f"{steps.patient_id(api, bob)}/{bobs['imageId']}"]
