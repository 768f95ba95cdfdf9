"""Retention of referrals on the fakes (shared_code/retention/referrals.py): a cancelled draft goes
after REFERRAL_DRAFT_RETENTION_DAYS, a closed or cancelled referral after the records period (a
child's not before their 25th/26th birthday), shredded as a unit; an open one never; a run cut
short is finished by the next, on another instance. (The API, both families:
tests/referrals/test_referral_retention.py.)"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared_code.access import Side
from shared_code.errors import ImageNotFound
from shared_code.ports.documents import Query
from shared_code.ports.errors import NotFound
from shared_code.referrals.image_repository import ReferralImageRepository
from shared_code.referrals.records import ReferralStatus
from shared_code.retention.referrals import REFERRAL_RETENTION_PARTITION, keep_until
from shared_code.settings import AUDIT, CLINICS, DIRECTORY, IMAGES_CONTAINER, Settings
from tests.support.referrals import lesion_record, referral_record
from tests.support.steps import jpeg
from tests.unit.conftest import clinician

SETTINGS = Settings(APP_MODE="local", LOCAL_ISSUER_ENABLED=False)
DAY = 24 * 3600


class World:
    """HEATON (gail) refers to NEWCASTLE: `rf_1`, a draft with one lesion and one image."""

    def __init__(self, domain):
        self.domain, self.c = domain, domain.container
        self.practice, self.service = domain.clinic("HEATON"), domain.clinic("NEWCASTLE", admin_email="rita@nhs.net")
        domain.member(self.practice, "gail@nhs.net")
        self.gail = clinician("gail")
        self.c.referral_records.create(referral_record(referring_clinic_id=self.practice,
                                                       service_clinic_id=self.service,
                                                       lesions=[lesion_record("les_1")]))
        self.image = self.c.referral_images.upload(self.access(), "les_1", jpeg(), taken_at=None, note=None,
                                                   view="close_up")

    def access(self):
        return self.c.access.referral(self.gail, self.practice, "rf_1", Side.REFERRER)

    def referral(self):
        return self.c.referral_records.get(self.service, "rf_1")

    def cancel(self):
        return self.c.referrals.outcomes.cancel(self.access(), None)

    def close(self):
        """Submitted, outcome sent (set directly: the pathway's rules are not what this is about), acknowledged."""
        self.c.referral_records.replace(self.referral().but(status=ReferralStatus.OUTCOME_SENT, received=True))
        return self.c.referrals.outcomes.acknowledge(self.access())

    def run(self):
        return self.c.referral_retention.run()

    def gone(self) -> bool:
        """Nothing of the referral is left: document, pointer, image records, blobs, index entries."""
        documents = self.domain.adapters.documents
        entries = [p for p in (REFERRAL_RETENTION_PARTITION, "referral-clock")
                   if _exists(documents, DIRECTORY, p, "rf_1")]
        return (self.referral() is None and self.c.referral_records.sent(self.practice, "rf_1") is None
                and ReferralImageRepository(documents).of_referral(self.service, "rf_1") == []
                and list(self.domain.adapters.blobs.list(IMAGES_CONTAINER, "rf_1/")) == [] and entries == [])


def _exists(documents, container, partition, doc_id) -> bool:
    try:
        documents.read(container, partition, doc_id)
        return True
    except NotFound:
        return False


@pytest.fixture
def world(domain) -> World:
    return World(domain)


def test_a_cancelled_draft_goes_after_the_draft_period_shredded(world, clock):
    world.cancel()
    clock.advance(days=SETTINGS.referral_draft_retention_days, seconds=-1)
    assert world.run() == {} and world.referral() is not None
    clock.advance(seconds=1)
    assert world.run() == {"referral_drafts_deleted": 1}
    assert world.gone()
    assert world.run() == {}  # nothing left to do


def test_a_closed_referral_is_kept_for_the_records_period(world, clock):
    world.close()
    clock.advance(days=SETTINGS.referral_records_retention_days - 1)
    assert world.run() == {} and world.referral().status is ReferralStatus.CLOSED
    clock.advance(days=1)
    assert world.run() == {"referrals_deleted": 1}
    assert world.gone()


def test_a_cancelled_submitted_referral_is_a_record_too(world, clock):
    world.c.referral_records.replace(world.referral().but(status=ReferralStatus.AWAITING_REVIEW, received=True))
    world.cancel()
    clock.advance(days=SETTINGS.referral_draft_retention_days + 1)
    assert world.run() == {} and world.referral() is not None
    clock.advance(days=SETTINGS.referral_records_retention_days)
    assert world.run() == {"referrals_deleted": 1}


def test_an_open_referral_is_never_deleted_by_time(world, clock):
    world.c.referral_records.replace(world.referral().but(status=ReferralStatus.AWAITING_REVIEW, received=True))
    world.c.referrals.writes.update(world.referral(), lambda r: r)  # a write: the indexes are kept
    clock.advance(days=SETTINGS.referral_records_retention_days * 2)
    assert world.run() == {} and world.referral() is not None


def test_the_image_is_unreadable_once_the_key_is_gone_even_if_the_run_stops_there(world, clock, new_domain,
                                                                                  adapters):
    world.cancel()
    clock.advance(days=SETTINGS.referral_draft_retention_days)
    referral = world.referral()
    # The run dies deleting the referral document (after the shred): its key is gone already.
    adapters.documents.faults.fail("delete", RuntimeError("store down"),
                                   when=lambda container, partition, doc_id: container == CLINICS and doc_id == "rf_1")
    with pytest.raises(RuntimeError):
        world.run()
    assert world.referral().referral_key is None
    with pytest.raises(ImageNotFound):
        world.c.referral_images.open(referral, world.image.id, "original")
    # Another instance's run finishes the job.
    other = new_domain(clock, adapters).container
    assert other.referral_retention.run() == {"referral_drafts_deleted": 1}
    assert world.gone()


def test_a_run_cut_short_after_the_document_went_finishes_the_rest(world, clock, adapters):
    world.cancel()
    clock.advance(days=SETTINGS.referral_draft_retention_days)
    adapters.documents.faults.fail("delete", RuntimeError("store down"),
                                   when=lambda container, partition, doc_id: partition == world.practice)
    with pytest.raises(RuntimeError):
        world.run()
    assert world.referral() is None and world.c.referral_records.sent(world.practice, "rf_1") is not None
    assert world.run() == {"referral_leftovers_deleted": 1}
    assert world.gone()


def test_the_access_log_outlives_the_referral_by_the_audit_period(world, clock):
    world.c.referral_images.view(world.access(), world.image.id, "thumbnail")
    documents = world.domain.adapters.documents

    def access_log():
        return documents.query(AUDIT, Query("referral:rf_1", {"type": "audit"}, limit=50)).items

    assert access_log()
    world.cancel()
    clock.advance(days=SETTINGS.referral_draft_retention_days)
    world.run()
    assert world.gone() and access_log()
    clock.advance(days=SETTINGS.retention_audit_days)
    assert world.c.retention.run()["audit_trails_deleted"] == 1
    assert access_log() == []


def _born(dob: str, ended: str, status: str = "closed", received: bool = True) -> datetime:
    referral = referral_record(status, received=received, acknowledged_at=ended, cancelled_at=ended,
                               patient=referral_record().patient.but(date_of_birth=dob))
    return keep_until(referral, SETTINGS)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_how_long_each_referral_is_kept():
    end = "2026-11-30T09:00:00Z"
    assert _born("1961-04-12", end) == _utc(2034, 11, 28, 9)                  # an adult: 8 years (2920 days)
    assert _born("2016-05-01", end) == _utc(2041, 5, 1)                       # a child of 10: the 25th birthday
    assert _born("2009-06-01", end) == _utc(2035, 6, 1)                       # 17 at the end: the 26th
    assert _born("2024-02-29", end) == _utc(2049, 3, 1)                       # a leap day birthday
    assert _born("2016-05-01", end, "cancelled", received=False) == _utc(2026, 12, 30, 9)  # a draft: 30 days
    assert _born("2016-05-01", end, "cancelled") == _utc(2041, 5, 1)          # a withdrawn referral is a record
