"""Who the clinician is told the patient is, through HTTP on both adapter families: identity only
under clinical_care or medical_record, a pseudonym (stable per grant, in the detail and the
worklist) under teaching and/or research alone; the NHS number's verification (traced through the
PDS double over HTTPS, or not) in the detail and the EPR export; a number held by two accounts
flagged. The rules alone: tests/unit/test_pseudonyms.py, tests/unit/test_nhs_number_verification.py."""
from datetime import date

import pytest

from shared_code.clock import Clock, FrozenClock
from tests.doubles.pds import PdsDouble
from tests.support.app import make_api
from tests.support.steps import VALID_NHS, Scene, shared, upload

IDENTITY = {"displayName", "dateOfBirth", "nhsNumber", "nhsNumberVerified", "nhsNumberShared"}


def _worklist(api, s) -> dict[str, dict]:
    response = api.client.get(f"/api/clinics/{s.clinic_id}/shares", headers=s.cal)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


def _export_status(api, s, grant_id: str) -> str:
    response = api.client.get(s.image_url("export", grant_id=grant_id), headers=s.cal, params={"format": "fhir"})
    assert response.status_code == 200, response.text
    [patient] = [e["resource"] for e in response.json()["entry"] if e["resource"]["resourceType"] == "Patient"]
    return patient["identifier"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]


@pytest.mark.parametrize("purposes", [("teaching",), ("research",), ("teaching", "research")])
def test_a_teaching_or_research_grant_shows_only_a_pseudonym(api, purposes):
    s = Scene(api, purposes=purposes)
    response = api.client.get(s.url(), headers=s.cal)
    assert response.status_code == 200, response.text
    patient = response.json()["patient"]
    assert patient["pseudonym"] and all(patient[field] is None for field in IDENTITY)
    for secret in ("Alice", VALID_NHS, "1980"):
        assert secret not in response.text
    assert api.client.get(s.url(), headers=s.cal).json()["patient"] == patient  # stable
    entry = _worklist(api, s)[s.grant["id"]]
    assert entry["patient"] == {"pseudonym": patient["pseudonym"]} and "Alice" not in str(entry)
    again = shared(api, s.alice, s.folder_id, "newcastle-derm", purposes=purposes)
    assert api.client.get(s.url(grant_id=again["id"]), headers=s.cal).json()["patient"]["pseudonym"] \
        != patient["pseudonym"]  # another grant, another pseudonym
    # The patient's own view of the share says nothing about pseudonyms.
    own = api.client.get(f"/api/folders/{s.folder_id}/shares", headers=s.alice).json()["items"]
    assert all(item["patient"] is None for item in own)


def test_a_care_grant_shows_identity_and_no_pseudonym(api):
    s = Scene(api, purposes=("clinical_care", "teaching"))
    patient = api.client.get(s.url(), headers=s.cal).json()["patient"]
    assert (patient["displayName"], patient["nhsNumber"], patient["pseudonym"]) == ("Alice Smith", VALID_NHS, None)
    assert _worklist(api, s)[s.grant["id"]]["patient"] is None


def test_an_untraced_number_is_unverified_and_a_number_on_two_accounts_is_flagged(api):
    s = Scene(api)
    patient = api.client.get(s.url(), headers=s.cal).json()["patient"]
    assert (patient["nhsNumberVerified"], patient["nhsNumberShared"]) == (False, False)
    assert _export_status(api, s, s.grant["id"]) == "02"
    mallory = api.patient("mallory", "Mallory Smith", nhsNumber=VALID_NHS)
    assert api.client.get(s.url(), headers=s.cal).json()["patient"]["nhsNumberShared"] is True
    assert api.client.delete("/api/me", headers=mallory).status_code == 202
    assert api.client.get(s.url(), headers=s.cal).json()["patient"]["nhsNumberShared"] is False


def test_a_number_traced_through_pds_is_verified_for_the_clinician_and_the_record(family, tmp_path):
    with PdsDouble() as pds:
        pds.file(VALID_NHS, "Smith", date(1980, 2, 29))
        api = make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()), demographics=pds.adapter())
        s = Scene(api)
        assert api.client.get(s.url(), headers=s.cal).json()["patient"]["nhsNumberVerified"] is True
        assert _export_status(api, s, s.grant["id"]) == "01"
        # The patient changes the number to one PDS does not hold for her: unverified again.
        api.patient("alice", "Alice Smith", nhsNumber="9876543210", dateOfBirth="1980-02-29")
        assert api.client.get(s.url(), headers=s.cal).json()["patient"]["nhsNumberVerified"] is False
        assert _export_status(api, s, s.grant["id"]) == "02"
