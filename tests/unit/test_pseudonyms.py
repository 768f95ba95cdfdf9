"""What a clinician learns of who the patient is (sharing/clinician.py, records.pseudonym), on the
fakes: identity (name, date of birth, NHS number) only under clinical_care or medical_record; under
teaching and/or research alone a pseudonym, stable for the grant, the same in the worklist, and
different for another grant of the same patient. tests/sharing/test_clinician.py runs it through HTTP."""
from __future__ import annotations

import pytest

from shared_code.access import VIEW
from tests.support.steps import VALID_NHS

IDENTITY = ("displayName", "dateOfBirth", "nhsNumber", "nhsNumberVerified", "nhsNumberShared")


def _detail(domain, scene, grant_id: str) -> dict:
    access = domain.container.access.grant(scene.cal, scene.clinic_id, grant_id, VIEW)
    return domain.container.clinician.detail(access)


def _worklist(domain, scene) -> dict[str, dict]:
    items, _ = domain.container.sharing.grants.worklist(scene.clinic_id, None, 50, None)
    return {item["id"]: item for item in items}


@pytest.fixture
def alice_identified(domain, scene):
    domain.account("alice", nhsNumber=VALID_NHS, dateOfBirth="1980-02-29")
    return scene


@pytest.mark.parametrize("purposes", [("teaching",), ("research",), ("teaching", "research")])
def test_teaching_or_research_alone_shows_only_a_pseudonym_stable_per_grant(domain, alice_identified, purposes):
    scene = alice_identified
    grant = domain.share(scene.alice, scene.folder_id, "alpha-derm", purposes=purposes)
    patient = _detail(domain, scene, grant["id"])["patient"]
    assert set(patient) == {"pseudonym"} and patient["pseudonym"]
    assert "Alice" not in str(patient) and VALID_NHS not in str(patient) and "1980" not in str(patient)
    assert _detail(domain, scene, grant["id"])["patient"] == patient  # stable
    assert _worklist(domain, scene)[grant["id"]]["patient"] == patient  # the worklist says the same
    other = domain.share(scene.alice, scene.folder_id, "alpha-derm", purposes=purposes)
    assert _detail(domain, scene, other["id"])["patient"]["pseudonym"] != patient["pseudonym"]  # unlinkable


@pytest.mark.parametrize("purposes", [("clinical_care",), ("medical_record",), ("teaching", "medical_record"),
                                      ("clinical_care", "research")])
def test_care_or_the_record_shows_identity_and_no_pseudonym(domain, alice_identified, purposes):
    scene = alice_identified
    grant = domain.share(scene.alice, scene.folder_id, "alpha-derm", purposes=purposes)
    patient = _detail(domain, scene, grant["id"])["patient"]
    assert (patient["displayName"], patient["nhsNumber"], patient["dateOfBirth"]) == ("Alice", VALID_NHS, "1980-02-29")
    assert "pseudonym" not in patient
    assert _worklist(domain, scene)[grant["id"]]["patient"] is None
