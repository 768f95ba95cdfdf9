"""Clinic memberships on the fakes (sharing/members.py): the last-admin rule holds when two admins
remove themselves at the same moment on two instances, and a membership is bound to the token's
object id on first use, after which the e-mail claim alone no longer finds it.
tests/sharing/test_clinics.py runs both through HTTP on both adapter families."""
from __future__ import annotations

import dataclasses

import pytest

from shared_code.errors import ClinicNotFound, LastClinicAdmin
from shared_code.settings import CLINICS
from tests.doubles.interleaving import BeforeDelete
from tests.unit.conftest import clinician

ADA, BOB = clinician("ada", object_id="oid-ada"), clinician("bob", object_id="oid-bob")


def _admins(domain, clinic_id: str) -> list[str]:
    return sorted(m.email for m in domain.container.sharing.member_records.admins(clinic_id, limit=10))


def test_two_admins_removing_themselves_at_once_leave_one(new_domain, clock, adapters):
    second = new_domain(clock, adapters)  # instance B, over the same store
    clinic_id = second.clinic("ALPHA-DERM", "ada@nhs.net")
    bob = second.member(clinic_id, "bob@nhs.net", role="clinic_admin")
    ada = second.container.sharing.member_records.by_email(clinic_id, "ada@nhs.net")
    outcome = {}

    def bob_leaves():
        try:
            second.container.sharing.members.remove(BOB, clinic_id, bob.id)
            outcome["bob"] = "removed"
        except LastClinicAdmin:
            outcome["bob"] = "refused"

    first = new_domain(clock, dataclasses.replace(adapters, documents=BeforeDelete(adapters.documents, CLINICS, ada.id,
                                                                                  bob_leaves)))
    first.container.sharing.members.remove(ADA, clinic_id, ada.id)  # instance A: ada leaves
    assert outcome == {"bob": "refused"}
    assert _admins(second, clinic_id) == ["bob@nhs.net"]


def test_the_last_admin_cannot_leave_and_a_second_admin_lets_the_first_go(domain):
    clinic_id = domain.clinic("ALPHA-DERM", "ada@nhs.net")
    members = domain.container.sharing.members
    ada = domain.container.sharing.member_records.by_email(clinic_id, "ada@nhs.net")
    with pytest.raises(LastClinicAdmin):
        members.remove(ADA, clinic_id, ada.id)
    domain.member(clinic_id, "bob@nhs.net", role="clinic_admin")
    members.remove(ADA, clinic_id, ada.id)
    assert _admins(domain, clinic_id) == ["bob@nhs.net"]


def test_a_clinic_onboarded_before_the_admin_set_counts_its_admins_on_first_change(domain):
    clinic_id = domain.clinic("ALPHA-DERM", "ada@nhs.net")
    records = domain.container.sharing.clinic_records
    records.replace(records.get(clinic_id).but(admin_ids=None))  # as stored before the set was kept
    ada = domain.container.sharing.member_records.by_email(clinic_id, "ada@nhs.net")
    with pytest.raises(LastClinicAdmin):
        domain.container.sharing.members.remove(ADA, clinic_id, ada.id)


# --- binding a membership to the object id --------------------------------------------------------
def _enter(domain, clinic_id, who):
    return domain.container.access.clinic(who, clinic_id).member


def test_first_use_binds_the_object_id_and_then_only_that_object_id_is_the_member(domain, scene):
    cal = clinician("cal", object_id="oid-cal")
    assert _enter(domain, scene.clinic_id, cal).object_id == "oid-cal"  # by the verified e-mail, once
    stored = domain.container.sharing.member_records.get(scene.clinic_id, scene.cal_member_id)
    assert stored.object_id == "oid-cal"
    # Another account whose (mutable) e-mail claim now says cal@nhs.net is not cal.
    with pytest.raises(ClinicNotFound):
        domain.container.access.clinic(clinician("mal", email="cal@nhs.net", object_id="oid-mal"), scene.clinic_id)
    # Cal, whose e-mail changed at the identity provider, is still cal.
    renamed = clinician("cal", email="cal.jones@nhs.net", object_id="oid-cal")
    assert _enter(domain, scene.clinic_id, renamed).id == scene.cal_member_id


def test_a_member_added_with_an_object_id_is_bound_from_the_start(domain, scene):
    domain.member(scene.clinic_id, "dee@nhs.net", object_id="oid-dee")
    with pytest.raises(ClinicNotFound):
        domain.container.access.clinic(clinician("dee", object_id="oid-other"), scene.clinic_id)
    assert _enter(domain, scene.clinic_id, clinician("dee", email=None, object_id="oid-dee")).email == "dee@nhs.net"
