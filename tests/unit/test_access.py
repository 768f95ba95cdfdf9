"""The clinician gate (shared_code/access.py) on the fakes, table-driven in Medplum's style: for each
situation (the clinic whose route is called, the grant, what is done), each caller -> the domain
error they get, or OK; every row, allowed or refused, is decided by point reads alone (no query).

The table's world is built once and only read: clinics ALPHA (admin ada; clinician cal; dee,
matched by object id only; rem, added then removed), BETA (admin bea) and LAPSED (admin lee, cal a
member, its subscription over before the checks). Alice's folder is shared with each; the rows run
at CHECK, the very second the `expired` grant ends. tests/sharing/test_authorization_matrix.py asks
the same through every HTTP route on both adapter families; here the rules run alone."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared_code.access import COMMENT, EXPORT_EPR, VIEW
from shared_code.clock import FrozenClock
from shared_code.errors import (
    ClinicAdminRequired, ClinicNotFound, GrantExpired, GrantNotFound, GrantRevoked, ImageNotFound, PurposeNotGranted,
    RoleRequired, SubscriptionInactive,
)
from tests.support.steps import ALL_PURPOSES
from tests.unit.conftest import START, clinician, patient

CHECK = START + timedelta(hours=1)
OK = None  # allowed
ADMIN = "admin"  # the clinic administration check (members, code rotation)

CALLERS = {
    "member": clinician("cal"),
    "member_by_object_id": clinician("dee", email=None, object_id="oid-dee"),
    "clinic_admin": clinician("ada"),
    "lapsed_clinic_admin": clinician("lee"),
    "other_clinic_member": clinician("bea"),
    "removed_member": clinician("rem"),
    "non_member": clinician("nia"),
    "patient": patient("alice"),
}


class World:
    def __init__(self, domain):
        d, members = domain, domain.container.sharing.members
        self.access = domain.container.access
        self.documents = domain.adapters.documents
        self.clinics = {"ALPHA": d.clinic("ALPHA-DERM", "ada@nhs.net"), "BETA": d.clinic("BETA-DERM", "bea@nhs.net"),
                        "LAPSED": d.clinic("LAPSED-DERM", "lee@nhs.net", ends_in=timedelta(minutes=30))}
        alpha = self.clinics["ALPHA"]
        for clinic in (alpha, self.clinics["LAPSED"]):
            d.member(clinic, "cal@nhs.net")
        d.member(alpha, "dee@nhs.net", object_id="oid-dee")
        members.remove(CALLERS["clinic_admin"], alpha, d.member(alpha, "rem@nhs.net").id)
        alice = d.account("alice")
        shared, unshared = d.folder(alice), d.folder(alice, "mole on back")
        self.images = {"shared": d.upload(alice, shared).id, "other_folder": d.upload(alice, unshared, seed=2).id,
                       "pending": d.upload_url(alice, shared)[0], "unknown": "i_unknown"}

        def grant(code: str, purposes=ALL_PURPOSES, **kw) -> str:
            return d.share(alice, shared, code, purposes=purposes, **kw)["id"]

        self.grants = {"active": grant("ALPHA-DERM"), "revoked": grant("ALPHA-DERM"),
                       "expired": grant("ALPHA-DERM", expires_at=CHECK), "other_clinic": grant("BETA-DERM"),
                       "lapsed": grant("LAPSED-DERM"), "unknown": "g_unknown",
                       **{purpose: grant("ALPHA-DERM", [purpose]) for purpose in ALL_PURPOSES}}
        domain.container.sharing.grants.revoke(alice, alice.patient_id, self.grants["revoked"])
        domain.clock.at = CHECK

    def check(self, caller: str, clinic: str, grant: str | None, what):
        """Runs one check; `what` is ADMIN, an operation on the grant, or (image, operation)."""
        who, clinic_id = CALLERS[caller], self.clinics[clinic]
        if what == ADMIN:
            return self.access.clinic(who, clinic_id, admin=True)
        if isinstance(what, tuple):
            image, operation = what
            return self.access.image(who, clinic_id, self.grants[grant], self.images[image], operation)
        return self.access.grant(who, clinic_id, self.grants[grant], what)


@pytest.fixture(scope="module")
def world(new_domain) -> World:
    return World(new_domain(FrozenClock(START)))


# (clinic whose route is called, grant, what is done): {caller: the refusal, or OK}. `what` is an
# operation on the grant, (image, operation), or ADMIN.
GATE = {
    # --- who: a clinician member, matched by e-mail or by object id; nobody else learns anything ---
    ("ALPHA", "active", VIEW): dict(member=OK, member_by_object_id=OK, clinic_admin=OK, patient=RoleRequired,
                                    non_member=ClinicNotFound, other_clinic_member=ClinicNotFound,
                                    removed_member=ClinicNotFound),
    ("ALPHA", "unknown", VIEW): dict(member=GrantNotFound, non_member=ClinicNotFound),
    ("BETA", "other_clinic", VIEW): dict(other_clinic_member=OK, member=ClinicNotFound),
    # --- the clinic's subscription ---
    ("LAPSED", "lapsed", VIEW): dict(member=SubscriptionInactive),
    ("LAPSED", "lapsed", ("shared", VIEW)): dict(member=SubscriptionInactive),
    # --- the grant: this clinic's, not revoked, not expired ---
    ("ALPHA", "other_clinic", VIEW): dict(member=GrantNotFound),
    ("ALPHA", "lapsed", VIEW): dict(member=GrantNotFound),
    ("ALPHA", "revoked", VIEW): dict(member=GrantRevoked),
    ("ALPHA", "revoked", ("shared", VIEW)): dict(member=GrantRevoked),
    ("ALPHA", "expired", VIEW): dict(member=GrantExpired),
    ("ALPHA", "expired", ("shared", VIEW)): dict(member=GrantExpired),
    # --- purposes (every purpose x operation: test_each_purpose_allows_exactly_its_operations) ---
    ("ALPHA", "teaching", COMMENT): dict(member=PurposeNotGranted),
    ("ALPHA", "teaching", ("shared", EXPORT_EPR)): dict(member=PurposeNotGranted),
    # --- images: ready, and of the shared folder ---
    ("ALPHA", "active", ("shared", VIEW)): dict(member=OK, removed_member=ClinicNotFound),
    ("ALPHA", "active", ("shared", EXPORT_EPR)): dict(member=OK),
    ("ALPHA", "active", ("other_folder", VIEW)): dict(member=ImageNotFound, non_member=ClinicNotFound),
    ("ALPHA", "active", ("pending", VIEW)): dict(member=ImageNotFound),
    ("ALPHA", "active", ("unknown", VIEW)): dict(member=ImageNotFound),
    # --- clinic administration: clinic_admin only, and no licence needed ---
    ("ALPHA", None, ADMIN): dict(clinic_admin=OK, member=ClinicAdminRequired, non_member=ClinicNotFound,
                                 removed_member=ClinicNotFound, other_clinic_member=ClinicNotFound,
                                 patient=RoleRequired),
    ("LAPSED", None, ADMIN): dict(lapsed_clinic_admin=OK, member=ClinicAdminRequired),
}


def _rows() -> list:
    rows = []
    for (clinic, grant, what), outcomes in GATE.items():
        done = "/".join(getattr(part, "value", part) for part in (what if isinstance(what, tuple) else (what,)))
        for caller, expected in outcomes.items():
            refusal = expected.__name__ if expected else "ok"
            rows.append(pytest.param(caller, clinic, grant, what, expected,
                                     id=f"{caller}@{clinic}/{grant or '-'}/{done}->{refusal}"))
    return rows


def _queries(documents) -> int:
    return documents.reads.snapshot().get("query", 0)


@pytest.mark.parametrize("caller, clinic, grant, what, expected", _rows())
def test_the_gate(world, caller, clinic, grant, what, expected):
    points, queries = world.documents.reads.snapshot().get("point", 0), _queries(world.documents)
    if expected is OK:
        access = world.check(caller, clinic, grant, what)
        assert access.clinic_id == world.clinics[clinic]
        if isinstance(what, tuple):
            assert access.image.id == world.images[what[0]] and access.grant.id == world.grants[grant]
    else:
        with pytest.raises(expected) as refused:
            world.check(caller, clinic, grant, what)
        assert type(refused.value) is expected  # not merely a relative (a 404 where a 403 belongs)
    # Decided by point reads of the store, each time: never a query, never a remembered answer.
    assert _queries(world.documents) == queries
    assert world.documents.reads.snapshot().get("point", 0) > points or caller == "patient"


# What each purpose allows, as README.md states it (not read from the code under test).
PURPOSES = {  # purpose: (view, comment, export to the EPR)
    "clinical_care": (True, True, False),
    "medical_record": (True, True, True),
    "teaching": (True, False, False),
    "research": (True, False, False),
}


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("index, operation", enumerate((VIEW, COMMENT, EXPORT_EPR)), ids=["view", "comment", "export"])
def test_each_purpose_allows_exactly_its_operations(world, purpose, index, operation):
    if PURPOSES[purpose][index]:
        assert world.check("member", "ALPHA", purpose, ("shared", operation)).grant.id == world.grants[purpose]
    else:
        with pytest.raises(PurposeNotGranted) as refused:
            world.check("member", "ALPHA", purpose, operation)
        assert operation.value in refused.value.detail


def test_an_image_outside_the_share_is_not_found_in_the_share(world):
    with pytest.raises(ImageNotFound) as refused:
        world.check("member", "ALPHA", "active", ("other_folder", VIEW))
    assert "this share" in refused.value.detail  # not "this account": the clinician has none


# --- changes take effect on the very next check ---------------------------------------------------------
@pytest.fixture
def alpha(domain, scene):
    """The scene, with an image in Alice's folder."""
    return scene, domain.upload(scene.alice, scene.folder_id).id


def test_a_removed_member_loses_access_on_the_very_next_check(domain, alpha):
    scene, image_id = alpha
    grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")["id"]
    domain.container.access.image(scene.cal, scene.clinic_id, grant_id, image_id, VIEW)
    domain.container.sharing.members.remove(clinician("ada"), scene.clinic_id, scene.cal_member_id)
    with pytest.raises(ClinicNotFound):
        domain.container.access.image(scene.cal, scene.clinic_id, grant_id, image_id, VIEW)


def test_a_member_matched_by_object_id_loses_access_when_removed(domain, scene):
    grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")["id"]
    dee = clinician("dee", email=None, object_id="oid-dee")
    member = domain.member(scene.clinic_id, "dee@nhs.net", object_id="oid-dee")
    domain.container.access.grant(dee, scene.clinic_id, grant_id, VIEW)
    domain.container.sharing.members.remove(clinician("ada"), scene.clinic_id, member.id)
    with pytest.raises(ClinicNotFound):
        domain.container.access.grant(dee, scene.clinic_id, grant_id, VIEW)


def test_a_revoked_share_is_refused_on_the_very_next_check(domain, alpha):
    scene, image_id = alpha
    grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")["id"]
    domain.container.access.image(scene.cal, scene.clinic_id, grant_id, image_id, VIEW)
    domain.container.sharing.grants.revoke(scene.alice, scene.alice.patient_id, grant_id)
    with pytest.raises(GrantRevoked):
        domain.container.access.image(scene.cal, scene.clinic_id, grant_id, image_id, VIEW)


def test_a_share_expires_to_the_second(domain, alpha, clock):
    scene, image_id = alpha
    ends = START + timedelta(days=2, hours=3, minutes=4, seconds=5)
    grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM", expires_at=ends)["id"]
    clock.at = ends - timedelta(seconds=1)
    assert domain.container.access.image(scene.cal, scene.clinic_id, grant_id, image_id, VIEW).image.id == image_id
    clock.at = ends
    with pytest.raises(GrantExpired):
        domain.container.access.image(scene.cal, scene.clinic_id, grant_id, image_id, VIEW)
    domain.container.sharing.grants.revoke(scene.alice, scene.alice.patient_id, grant_id)
    with pytest.raises(GrantRevoked):  # revoked says so even once expired: it is what the patient did
        domain.container.access.grant(scene.cal, scene.clinic_id, grant_id, VIEW)


def test_a_share_for_days_ends_that_many_days_later_to_the_second(domain, scene, clock):
    grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM", days=7)["id"]
    clock.at = START + timedelta(days=7, seconds=-1)
    domain.container.access.grant(scene.cal, scene.clinic_id, grant_id, VIEW)
    clock.advance(seconds=1)
    with pytest.raises(GrantExpired):
        domain.container.access.grant(scene.cal, scene.clinic_id, grant_id, VIEW)


def test_a_subscription_ends_to_the_second_but_administration_goes_on(domain, clock):
    clinic_id = domain.clinic("ALPHA-DERM", ends_in=timedelta(days=10))
    domain.member(clinic_id, "cal@nhs.net")
    clock.at = START + timedelta(days=10, seconds=-1)
    domain.container.access.clinic(clinician("cal"), clinic_id)
    clock.advance(seconds=1)
    with pytest.raises(SubscriptionInactive):
        domain.container.access.clinic(clinician("cal"), clinic_id)
    assert domain.container.access.clinic(clinician("ada"), clinic_id, admin=True).member.is_admin
