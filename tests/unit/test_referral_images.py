"""A referral's images on the fakes: the referral key made once, lazily, by a guarded write; an
upload that cannot be appended to its lesion leaves nothing behind; reads bound to the referral;
shredding. (The API, both families: tests/referrals/test_referral_images.py.)"""
from __future__ import annotations

import pytest
from PIL import ImageFilter

from shared_code.access import Side
from shared_code.errors import ImageIntegrityError, ImageNotFound, LesionNotFound, ReferralStateConflict
from shared_code.imaging import QualityIssue
from shared_code.referrals.image_repository import ReferralImageRepository
from shared_code.referrals.keys import key_id
from shared_code.referrals.records import ReferralStatus
from shared_code.settings import CLINICS, IMAGES_CONTAINER
from tests.imaging.builders import encoded, scene as photo
from tests.support.referrals import lesion_record, referral_record
from tests.support.steps import jpeg
from tests.unit.conftest import clinician

SOFT = encoded(photo((1200, 900)).filter(ImageFilter.GaussianBlur(5)), "JPEG", quality=90)


class World:
    """HEATON (gail) refers to NEWCASTLE: one referral `rf_1` with one lesion `les_1`, in `status`."""

    def __init__(self, domain, status: str = "draft"):
        self.domain = domain
        c = domain.container
        self.practice, self.service = domain.clinic("HEATON"), domain.clinic("NEWCASTLE", admin_email="rita@nhs.net")
        domain.member(self.practice, "gail@nhs.net")
        self.gail = clinician("gail")
        referral = referral_record(status, referring_clinic_id=self.practice, service_clinic_id=self.service,
                                   received=status != "draft", lesions=[lesion_record("les_1")])
        c.referral_records.create(referral)
        self.images, self.records, self.blobs = c.referral_images, c.referral_records, domain.adapters.blobs

    def access(self):
        return self.domain.container.access.referral(self.gail, self.practice, "rf_1", Side.REFERRER)

    def referral(self):
        return self.records.get(self.service, "rf_1")

    def upload(self, data: bytes | None = None, view: str = "close_up", lesion_id: str = "les_1", access=None):
        return self.images.upload(access or self.access(), lesion_id, data or jpeg(), taken_at=None, note=None,
                                  view=view)

    def stored(self) -> tuple[list, list]:
        """(blob names under the referral, referral-image records of the service)."""
        blobs = [b.name for b in self.blobs.list(IMAGES_CONTAINER, "rf_1/")]
        return blobs, ReferralImageRepository(self.domain.adapters.documents).of_referral(self.service, "rf_1")


@pytest.fixture
def world(domain) -> World:
    return World(domain)


def test_an_upload_is_named_by_its_lesion_with_its_view_and_quality(world):
    image = world.upload(SOFT, view="dermoscopic")
    (lesion,) = world.referral().lesions
    assert [(i.image_id, i.view.value) for i in lesion.images] == [(image.id, "dermoscopic")]
    assert image.quality.issues == [QualityIssue.BLURRED] and image.uploaded_by == world.access().member.id
    assert [i.id for i in world.images.images(world.referral())] == [image.id]
    assert b"".join(world.images.open(world.referral(), image.id, "original").chunks)[:2] == b"\xff\xd8"


def test_the_referral_key_is_made_once_at_the_first_image(world):
    assert world.referral().referral_key is None
    world.upload()
    key = world.referral().referral_key
    assert key
    world.upload(view="distant")
    assert world.referral().referral_key == key


def test_two_first_uploads_at_once_agree_on_one_key(world):
    stale = world.access()  # read before either upload wrote a key
    world.upload()
    key = world.referral().referral_key
    second = world.upload(view="distant", access=stale)  # its referral still shows no key
    assert world.referral().referral_key == key
    assert b"".join(world.images.open(world.referral(), second.id, "thumbnail").chunks)[:2] == b"\xff\xd8"


def test_nothing_is_stored_for_an_unknown_lesion(world):
    with pytest.raises(LesionNotFound):
        world.upload(lesion_id="les_9")
    assert world.stored() == ([], []) and world.referral().referral_key is None


@pytest.mark.parametrize("status", ["awaiting_review", "outcome_sent", "closed", "cancelled"])
def test_nothing_is_stored_unless_the_referral_is_editable(domain, status):
    world = World(domain, status)
    with pytest.raises(ReferralStateConflict) as refused:
        world.upload()
    assert refused.value.extensions["currentStatus"] == status
    assert world.stored() == ([], []) and world.referral().referral_key is None


def test_an_image_whose_referral_was_submitted_meanwhile_is_destroyed(world):
    stale = world.access()  # the referrer's upload began while the referral was a draft
    current = world.referral()
    world.records.replace(current.but(status=ReferralStatus.AWAITING_REVIEW, received=True))
    with pytest.raises(ReferralStateConflict):
        world.upload(access=stale)
    assert world.stored() == ([], [])
    assert world.referral().lesions[0].images == []


def test_an_image_is_read_only_through_its_own_referral(world, domain):
    image = world.upload()
    other = referral_record(id="rf_2", referring_clinic_id=world.practice, service_clinic_id=world.service,
                            lesions=[lesion_record("les_2")])
    world.records.create(other)
    with pytest.raises(ImageNotFound):
        world.images.open(world.records.get(world.service, "rf_2"), image.id, "original")
    with pytest.raises(ImageNotFound):
        world.images.open(world.referral(), "i_unknown", "original")


def test_an_object_bound_to_another_referral_does_not_decrypt(world):
    """Copying one referral's image record (DEK and objects) under another image id fails closed."""
    image = world.upload()
    documents = world.domain.adapters.documents
    doc = documents.read(CLINICS, world.service, image.id).doc
    documents.create(CLINICS, world.service, {**doc, "id": "i_copy"})
    referral = world.referral()
    lesion = referral.lesions[0]
    world.records.replace(referral.but(lesions=[lesion.but(images=[*lesion.images, lesion.images[0].but(
        image_id="i_copy")])]))
    with pytest.raises(ImageIntegrityError):
        world.images.open(world.referral(), "i_copy", "original")


def test_shredding_destroys_the_key_first_then_objects_and_records(world):
    images = [world.upload(view=view) for view in ("distant", "close_up")]
    referral = world.referral()
    keys = world.domain.container.referral_keys
    keys.get(key_id(referral))  # cached on this instance
    world.images.shred(referral)
    assert world.referral().referral_key is None and world.stored() == ([], [])
    assert len(keys.cache) == 0
    for image in images:
        with pytest.raises(ImageNotFound):
            world.images.open(world.referral(), image.id, "original")
    assert world.images.images(world.referral()) == []
    world.images.shred(world.referral())  # again, e.g. after a failure half way: nothing left to do
