"""Share grants (shared_code/sharing/grants.py) on the fakes: what creating a share writes (the
consent once, the timers' entry, both copies), how long it runs (durationDays or expiresAt), and
revocation (at once, idempotent, the clinic's copy first, the consent never touched), alone and as
the folder-deletion and erasure cascades. tests/sharing/test_shares.py runs the same through HTTP."""
from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from shared_code.access import VIEW
from shared_code.clock import iso
from shared_code.errors import Busy, GrantRevoked, InvalidField, ShareNotFound
from shared_code.ports.documents import Query
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.settings import CLINICS, DIRECTORY, PATIENTS
from shared_code.sharing.grant_repository import EXPIRY_PARTITION
from shared_code.sharing.schemas import ShareIn
from tests.support.steps import CONSENT, audit_records
from tests.unit.conftest import START, clinician

CAL = clinician("cal")


@pytest.fixture
def alpha(scene):
    """(ALPHA-DERM's id, Alice, her folder's id); cal is a clinician of ALPHA-DERM."""
    return scene.clinic_id, scene.alice, scene.folder_id


def _docs(domain, who, doc_type: str) -> list[dict]:
    page = domain.adapters.documents.query(PATIENTS, Query(who.patient_id, {"type": doc_type}, limit=100))
    return [stored.doc for stored in page.items]


def _expiry_entry(domain, grant_id: str) -> dict | None:
    try:
        return domain.adapters.documents.read(DIRECTORY, EXPIRY_PARTITION, grant_id).doc
    except NotFound:
        return None


def _consent(domain, who, grant_id: str):
    """The consent as stored, with its version tag (an etag changes on every write)."""
    records = domain.container.sharing.grant_records
    return domain.adapters.documents.read(PATIENTS, who.patient_id, records.share(who.patient_id, grant_id).consent_id)


def _actions(domain, who) -> list[str]:
    return sorted(entry["action"] for entry in audit_records(domain, who.patient_id))


def _no_expiry_entries(domain) -> bool:
    return domain.adapters.documents.query(DIRECTORY, Query(EXPIRY_PARTITION, {"type": "grant-expiry"})).items == []


def _nothing_written(domain, who) -> bool:
    return _docs(domain, who, "consent") == [] and _docs(domain, who, "share") == [] and _no_expiry_entries(domain)


# --- creating a share ---------------------------------------------------------------------------------
def test_a_share_writes_the_consent_as_given_both_copies_and_the_timers_entry(domain, alpha):
    clinic_id, alice, folder_id = alpha
    grant = domain.share(alice, folder_id, "alpha-derm", purposes=("research", "clinical_care"), days=30)
    ends = iso(START + timedelta(days=30))
    assert (grant["status"], grant["expiresAt"], grant["purposes"]) == ("active", ends, ["clinical_care", "research"])
    [consent] = _docs(domain, alice, "consent")
    assert consent["grantId"] == grant["id"] and consent["accepted"] is True
    assert consent["version"] == CONSENT["version"]
    assert (consent["purposes"], consent["expiresAt"]) == (grant["purposes"], ends)
    assert (consent["clinicId"], consent["folderId"]) == (clinic_id, folder_id)
    records = domain.container.sharing.grant_records
    share, clinic_copy = records.share(alice.patient_id, grant["id"]), records.grant(clinic_id, grant["id"])
    assert share.consent_id == consent["id"]
    for copy in (share, clinic_copy):
        assert (copy.folder_id, copy.clinic_id, copy.expires_at, copy.revoked_at) == (folder_id, clinic_id, ends, None)
        assert [p.value for p in copy.purposes] == grant["purposes"]
    assert clinic_copy.patient_id == alice.patient_id  # the clinic's copy opens this patient's images
    entry = _expiry_entry(domain, grant["id"])
    assert (entry["expiresAt"], entry["clinicId"], entry["patientId"]) == (ends, clinic_id, alice.patient_id)
    assert _actions(domain, alice) == ["share.created"]
    assert domain.container.access.grant(CAL, clinic_id, grant["id"], VIEW).patient_id == alice.patient_id


def test_a_failed_clinic_copy_leaves_no_share_and_nothing_for_the_timers(domain, alpha):
    clinic_id, alice, folder_id = alpha
    domain.adapters.documents.faults.fail("create", TimeoutError("store down"),
                                          when=lambda container, pk, id: container == CLINICS and id.startswith("g_"))
    with pytest.raises(TimeoutError):
        domain.share(alice, folder_id, "ALPHA-DERM")
    assert domain.container.sharing.grants.list_for_folder(alice.patient_id, folder_id, 50, None) == ([], None)
    assert _no_expiry_entries(domain)
    assert domain.adapters.documents.query(CLINICS, Query(clinic_id, {"type": "grant"})).items == []


def test_expires_at_is_kept_to_the_second_and_may_be_366_days_ahead(domain, alpha):
    _, alice, folder_id = alpha
    exact = domain.share(alice, folder_id, "ALPHA-DERM", expires_at=START + timedelta(days=366))
    assert exact["expiresAt"] == iso(START + timedelta(days=366))
    body = ShareIn(clinicCode="ALPHA-DERM", purposes=["teaching"], consent=CONSENT,
                   expiresAt=START + timedelta(hours=2, microseconds=999_999))
    created = domain.container.sharing.grants.create(alice, alice.patient_id, folder_id, body)
    assert created["expiresAt"] == iso(START + timedelta(hours=2))


@pytest.mark.parametrize("expires_at, message", [
    (START - timedelta(seconds=1), "must be in the future"),
    (START, "must be in the future"),
    (START + timedelta(microseconds=500_000), "must be in the future"),  # the same second, once truncated
    (START + timedelta(days=366, seconds=1), "must be at most 366 days ahead"),
])
def test_an_expiry_outside_the_rules_is_an_invalid_field_and_writes_nothing(domain, alpha, expires_at, message):
    _, alice, folder_id = alpha
    body = ShareIn(clinicCode="ALPHA-DERM", purposes=["teaching"], consent=CONSENT, expiresAt=expires_at)
    with pytest.raises(InvalidField) as refused:
        domain.container.sharing.grants.create(alice, alice.patient_id, folder_id, body)
    assert refused.value.extensions["errors"] == [{"field": "expiresAt", "message": message}]
    assert _nothing_written(domain, alice) and audit_records(domain, alice.patient_id) == []


@pytest.mark.parametrize("when", [
    {"durationDays": 7, "expiresAt": START + timedelta(days=7)},  # both
    {},                                                           # neither
    {"durationDays": 0},
    {"durationDays": 367},
])
def test_a_share_names_exactly_one_of_duration_and_expiry_within_366_days(when):
    with pytest.raises(ValidationError):
        ShareIn(clinicCode="ALPHA-DERM", purposes=["teaching"], consent=CONSENT, **when)


# --- revoking -----------------------------------------------------------------------------------------
def test_revoking_ends_access_at_once_and_never_touches_the_consent(domain, alpha, clock):
    clinic_id, alice, folder_id = alpha
    grant_id = domain.share(alice, folder_id, "ALPHA-DERM")["id"]
    consent = _consent(domain, alice, grant_id)
    clock.advance(hours=5)
    domain.container.sharing.grants.revoke(alice, alice.patient_id, grant_id)
    with pytest.raises(GrantRevoked):
        domain.container.access.grant(CAL, clinic_id, grant_id, VIEW)
    [listed], _ = domain.container.sharing.grants.list_for_folder(alice.patient_id, folder_id, 50, None)
    assert (listed["status"], listed["revokedAt"]) == ("revoked", iso(clock.now()))
    clinic_copy = domain.container.sharing.grant_records.grant(clinic_id, grant_id)
    assert (clinic_copy.revoked_at, clinic_copy.revoked_reason.value) == (iso(clock.now()), "patient")
    assert _expiry_entry(domain, grant_id) is None  # the patient is told nothing more about it
    after = _consent(domain, alice, grant_id)
    assert (after.doc, after.etag) == (consent.doc, consent.etag)
    assert _actions(domain, alice) == ["share.created", "share.revoked"]


def test_revoking_again_changes_nothing(domain, alpha, clock):
    clinic_id, alice, folder_id = alpha
    grant_id = domain.share(alice, folder_id, "ALPHA-DERM")["id"]
    domain.container.sharing.grants.revoke(alice, alice.patient_id, grant_id)
    first = domain.container.sharing.grant_records.share(alice.patient_id, grant_id)
    clock.advance(days=1)
    domain.container.sharing.grants.revoke(alice, alice.patient_id, grant_id)
    again = domain.container.sharing.grant_records.share(alice.patient_id, grant_id)
    assert (again.revoked_at, again.etag) == (first.revoked_at, first.etag)
    assert domain.container.sharing.grant_records.grant(clinic_id, grant_id).revoked_at == first.revoked_at
    assert _actions(domain, alice) == ["share.created", "share.revoked"]


def test_only_the_owner_can_revoke_and_an_unknown_share_is_not_found(domain, alpha):
    clinic_id, alice, folder_id = alpha
    grant_id = domain.share(alice, folder_id, "ALPHA-DERM")["id"]
    bob = domain.account("bob")
    for who, which in ((bob, grant_id), (alice, "g_unknown")):
        with pytest.raises(ShareNotFound):
            domain.container.sharing.grants.revoke(who, who.patient_id, which)
    assert domain.container.access.grant(CAL, clinic_id, grant_id, VIEW).grant.id == grant_id


def test_the_clinic_copy_is_revoked_first_so_a_crash_midway_never_leaves_the_clinic_access(domain, alpha):
    clinic_id, alice, folder_id = alpha
    grant_id = domain.share(alice, folder_id, "ALPHA-DERM")["id"]
    domain.adapters.documents.faults.fail("replace", TimeoutError("patient copy not written"),
                                          when=lambda container, pk, id: container == PATIENTS and id == grant_id)
    with pytest.raises(TimeoutError):
        domain.container.sharing.grants.revoke(alice, alice.patient_id, grant_id)
    with pytest.raises(GrantRevoked):
        domain.container.access.grant(CAL, clinic_id, grant_id, VIEW)
    domain.container.sharing.grants.revoke(alice, alice.patient_id, grant_id)  # the patient tries again
    assert domain.container.sharing.grant_records.share(alice.patient_id, grant_id).revoked_at


def test_a_clinic_copy_that_keeps_changing_is_busy_and_the_share_is_not_reported_revoked(domain, alpha):
    clinic_id, alice, folder_id = alpha
    grant_id = domain.share(alice, folder_id, "ALPHA-DERM")["id"]
    domain.adapters.documents.faults.fail("replace", PreconditionFailed(grant_id), times=None,
                                          when=lambda container, pk, id: container == CLINICS)
    with pytest.raises(Busy) as busy:
        domain.container.sharing.grants.revoke(alice, alice.patient_id, grant_id)
    assert busy.value.retry_after == 1
    assert domain.container.sharing.grant_records.share(alice.patient_id, grant_id).revoked_at is None
    domain.adapters.documents.faults.clear()
    domain.container.sharing.grants.revoke(alice, alice.patient_id, grant_id)
    with pytest.raises(GrantRevoked):
        domain.container.access.grant(CAL, clinic_id, grant_id, VIEW)


# --- the cascades ---------------------------------------------------------------------------------------
def _revoked(domain, clinic_id: str, grant_id: str) -> str | None:
    """The clinic copy's revocation reason, None while it is active."""
    reason = domain.container.sharing.grant_records.grant(clinic_id, grant_id).revoked_reason
    return reason.value if reason else None


def test_deleting_a_folder_revokes_its_shares_and_only_its(domain, alpha):
    clinic_id, alice, folder_id = alpha
    other_folder = domain.folder(alice, "mole on back")
    doomed = [domain.share(alice, folder_id, "ALPHA-DERM", purposes=[p])["id"] for p in ("teaching", "research")]
    kept = domain.share(alice, other_folder, "ALPHA-DERM")["id"]
    domain.container.folders.delete(alice.patient_id, folder_id)
    assert [_revoked(domain, clinic_id, g) for g in doomed] == ["folder-deleted", "folder-deleted"]
    assert _revoked(domain, clinic_id, kept) is None
    assert [_expiry_entry(domain, g) for g in doomed] == [None, None] and _expiry_entry(domain, kept)


def test_revoke_all_ends_every_share_of_the_patient_and_no_one_elses(domain, alpha):
    clinic_id, alice, folder_id = alpha
    beta = domain.clinic("BETA-DERM", "bea@nhs.net")
    bob = domain.account("bob")
    alices = [domain.share(alice, folder_id, "ALPHA-DERM")["id"],
              domain.share(alice, domain.folder(alice, "mole"), "BETA-DERM")["id"]]
    bobs = domain.share(bob, domain.folder(bob), "ALPHA-DERM")["id"]
    already = domain.share(alice, folder_id, "ALPHA-DERM")["id"]
    domain.container.sharing.grants.revoke(alice, alice.patient_id, already)
    domain.container.sharing.grants.revoke_all(alice.patient_id)
    assert [_revoked(domain, clinic_id, alices[0]), _revoked(domain, beta, alices[1])] == ["account-erased"] * 2
    assert _revoked(domain, clinic_id, already) == "patient"  # a revoked share keeps its reason
    assert _revoked(domain, clinic_id, bobs) is None
    shares = domain.container.sharing.grant_records.shares(alice.patient_id)
    assert len(shares) == 3 and all(share.revoked_at for share in shares)
