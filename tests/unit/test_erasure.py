"""Erasing an account (shared_code/accounts/service.py, the steps the container passes it) on the
fakes: the first write destroys the patient key, then the shares end, the blobs go and last the
partition; a crash at any step leaves the account `erasing` (closed to its owner) and the next erase
completes it. Someone else's data is never touched."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared_code.access import VIEW
from shared_code.accounts.repository import PATIENT_INDEX
from shared_code.accounts.schemas import AccountIn
from shared_code.auth.principal import Principal
from shared_code.clock import iso
from shared_code.errors import AccountErasing, AccountNotFound, GrantRevoked, ImageNotFound
from shared_code.images.records import ImageRecord
from shared_code.ports.documents import Query
from shared_code.ports.errors import NotFound
from shared_code.settings import CLINICS, DIRECTORY, IMAGES_CONTAINER, INCOMING_CONTAINER, PATIENTS
from tests.support.steps import audit_records, jpeg
from tests.unit.conftest import clinician

CAL = clinician("cal")


@dataclass
class Patients:
    clinic_id: str
    alice: Principal
    images: list[ImageRecord]
    grant_id: str
    bob: Principal
    bobs_image: ImageRecord


@pytest.fixture
def world(domain, scene) -> Patients:
    """Alice: two ready images, an upload waiting in `incoming`, a share with ALPHA-DERM. Bob: an image."""
    clinic_id, alice, folder_id = scene.clinic_id, scene.alice, scene.folder_id
    bob = domain.account("bob")
    images = [domain.upload(alice, folder_id, seed=n) for n in (1, 2)]
    _, blob = domain.upload_url(alice, folder_id)
    domain.put_incoming(blob, jpeg(3))
    grant_id = domain.share(alice, folder_id, "ALPHA-DERM")["id"]
    world = Patients(clinic_id, alice, images, grant_id, bob, domain.upload(bob, domain.folder(bob)))
    domain.read(alice, images[0])  # the patient key is in the instance's cache, as after any read
    return world


def _blob_names(domain, who: Principal) -> list[str]:
    blobs = domain.adapters.blobs
    return [info.name for container in (IMAGES_CONTAINER, INCOMING_CONTAINER)
            for info in blobs.list(container, f"{who.patient_id}/")]


def _partition(domain, who: Principal) -> list[dict]:
    return [s.doc for s in domain.adapters.documents.query(PATIENTS, Query(who.patient_id, limit=100)).items]


def _clinic_copy(domain, world: Patients):
    return domain.container.sharing.grant_records.grant(world.clinic_id, world.grant_id)


def _assert_erased(domain, world: Patients) -> None:
    alice = world.alice
    assert _partition(domain, alice) == [] and _blob_names(domain, alice) == []
    with pytest.raises(NotFound):
        domain.adapters.documents.read(DIRECTORY, PATIENT_INDEX, alice.patient_id)  # key rotation forgets them too
    with pytest.raises(AccountNotFound):
        domain.container.accounts.require(alice.patient_id)
    for image in world.images:
        with pytest.raises(ImageNotFound):
            domain.container.images.get(alice.patient_id, image.id)
        with pytest.raises(AccountNotFound):  # even with the record in hand: its key is gone
            domain.read(alice, image)
    assert _clinic_copy(domain, world).revoked_reason.value == "account-erased"
    with pytest.raises(GrantRevoked):
        domain.container.access.image(CAL, world.clinic_id, world.grant_id, world.images[0].id, VIEW)
    # Bob is untouched.
    assert domain.read(world.bob, world.bobs_image) and len(_blob_names(domain, world.bob)) == 2


def _assert_closed_to_its_owner(domain, who: Principal) -> None:
    account = domain.container.account_repository.find(who.patient_id)
    assert account.erasing and account.patient_key is None
    with pytest.raises(AccountNotFound):
        domain.container.accounts.require(who.patient_id)
    with pytest.raises(AccountErasing):
        domain.container.accounts.put(who.patient_id, AccountIn(displayName="Alice again"))


def test_erasure_removes_everything_of_the_patient_and_nothing_else(domain, world):
    domain.container.accounts.erase(world.alice.patient_id)
    _assert_erased(domain, world)
    # Who looked at the data, and that the shares ended, outlive the data (the organisation's record).
    revoked = [e for e in audit_records(domain, world.alice.patient_id) if e["action"] == "share.revoked"]
    assert [(e["grantId"], e["reason"]) for e in revoked] == [(world.grant_id, "account-erased")]


def test_the_first_write_destroys_the_patient_key_before_anything_else(domain, world, new_domain, clock):
    # Stop erasure right after its first write: the next thing it does is look for the shares.
    blobs, records = _blob_names(domain, world.alice), len(_partition(domain, world.alice))
    domain.adapters.documents.faults.fail("query", TimeoutError("stopped after the first write"))
    with pytest.raises(TimeoutError):
        domain.container.accounts.erase(world.alice.patient_id)
    _assert_closed_to_its_owner(domain, world.alice)
    assert domain.container.account_repository.find(world.alice.patient_id).erasing_since == iso(clock.now())
    # Nothing else has happened yet: the records, the blobs, the clinic's grant are all still there...
    assert _blob_names(domain, world.alice) == blobs and len(_partition(domain, world.alice)) == records
    assert _clinic_copy(domain, world).revoked_at is None
    # ...yet no instance that has not cached the key can read an image any more.
    another_instance = new_domain(clock, domain.adapters)
    for image in world.images:
        with pytest.raises(AccountNotFound):
            another_instance.read(world.alice, image)


@pytest.mark.parametrize("fail", [
    lambda adapters: adapters.documents.faults.fail("replace", TimeoutError("revoking"),
                                                    when=lambda container, pk, id: container == CLINICS),
    lambda adapters: adapters.blobs.faults.fail("delete", ConnectionError("deleting blobs")),
    lambda adapters: adapters.documents.faults.fail("delete_partition", TimeoutError("deleting the partition")),
], ids=["revoking-shares", "deleting-blobs", "deleting-the-partition"])
def test_a_crash_midway_leaves_the_account_erasing_and_the_next_erase_completes(domain, world, fail):
    fail(domain.adapters)
    with pytest.raises((TimeoutError, ConnectionError)):
        domain.container.accounts.erase(world.alice.patient_id)
    _assert_closed_to_its_owner(domain, world.alice)
    domain.container.accounts.erase(world.alice.patient_id)
    _assert_erased(domain, world)


def test_erasing_an_account_that_does_not_exist_is_not_found(domain, world):
    with pytest.raises(AccountNotFound):
        domain.container.accounts.erase("p_nobody")
    domain.container.accounts.erase(world.alice.patient_id)
    with pytest.raises(AccountNotFound):
        domain.container.accounts.erase(world.alice.patient_id)


def test_after_a_crash_while_revoking_this_instance_serves_no_image(domain, scene):
    image = domain.upload(scene.alice, scene.folder_id)
    grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")["id"]
    domain.read(scene.alice, image)  # the patient key is in this instance's cache now
    domain.adapters.documents.faults.fail("replace", TimeoutError(), when=lambda c, pk, *_: c == CLINICS)
    with pytest.raises(TimeoutError):
        domain.container.accounts.erase(scene.alice.patient_id)
    access = domain.container.access.image(scene.cal, scene.clinic_id, grant_id, image.id, VIEW)
    with pytest.raises(AccountNotFound):
        domain.container.images.open(access.patient_id, access.image, "original")
