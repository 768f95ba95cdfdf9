"""PUT/GET/DELETE /api/me as the mobile app drives them."""
from datetime import date

import pytest

from shared_code.adapters.pds import PdsDemographics
from shared_code.ports.demographics import DemographicsUnavailable
from tests.doubles.pds import PdsDouble
from tests.support.app import make_api

from tests.support import steps
from tests.support.steps import VALID_NHS


def test_account_is_created_read_and_updated(api):
    headers = api.as_(api.token("patient", "alice"))
    assert api.client.get("/api/me", headers=headers).status_code == 404
    created = api.client.put("/api/me", headers=headers, json={
        "displayName": "Alice Smith", "nhsNumber": "943 476 5919", "dateOfBirth": "1980-02-29",
        "email": "Alice@Example.org", "notificationPreferences": {"comments": False}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["nhsNumber"] == VALID_NHS and body["email"] == "alice@example.org"
    assert body["notificationPreferences"] == {"comments": False, "shareExpiring": True, "uploadRejected": True,
                                               "reminders": True}
    assert body["emailVerified"] is False  # this token vouches for no address
    updated = api.client.put("/api/me", headers=headers, json={"displayName": "Alice B. Smith"})
    assert updated.status_code == 200
    got = api.client.get("/api/me", headers=headers).json()
    assert got["displayName"] == "Alice B. Smith"
    assert got["id"] == body["id"] and got["createdAt"] == body["createdAt"]


@pytest.mark.parametrize("nhs", ["9434765918", "0000000000", "9999999999", "943476591", "94347659190", "94347659a9",
                                 "１２３４５６７８９０"])
def test_invalid_nhs_numbers_are_refused_without_echoing_them(api, nhs):
    headers = api.as_(api.token())
    response = api.client.put("/api/me", headers=headers, json={"displayName": "A", "nhsNumber": nhs})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == "nhsNumber"
    assert nhs not in response.text
    assert api.client.get("/api/me", headers=headers).status_code == 404  # nothing changed


def test_a_refused_update_changes_nothing(api):
    headers = api.patient("alice", "Alice", nhsNumber=VALID_NHS)
    assert api.client.put("/api/me", headers=headers, json={"displayName": ""}).status_code == 422
    assert api.client.put("/api/me", headers=headers, json={"displayName": "A", "extra": 1}).status_code == 422
    assert api.client.get("/api/me", headers=headers).json()["displayName"] == "Alice"


def test_accounts_are_per_person(api):
    alice = api.patient("alice", "Alice")
    bob = api.patient("bob", "Bob")
    assert api.client.get("/api/me", headers=alice).json()["displayName"] == "Alice"
    assert api.client.get("/api/me", headers=bob).json()["displayName"] == "Bob"


def test_clinicians_and_admins_have_no_patient_account(api):
    for role in ("clinician", "platform_admin"):
        headers = api.as_(api.token(role, "staff", email="staff@nhs.net"))
        response = api.client.get("/api/me", headers=headers)
        assert response.status_code == 403
        assert response.json()["type"].endswith("/role-required")


def test_delete_me_erases_the_account_and_its_folders(api):
    headers = api.patient("alice")
    folder_id = steps.folder(api, headers, "mole on back")
    assert api.client.delete("/api/me", headers=headers).status_code == 202
    assert api.client.get("/api/me", headers=headers).status_code == 404
    assert api.client.get(f"/api/folders/{folder_id}", headers=headers).status_code == 404
    # Starting again gives an empty account.
    api.client.put("/api/me", headers=headers, json={"displayName": "Alice again"})
    assert api.client.get("/api/folders", headers=headers).json() == {"items": [], "continuation": None}


# --- NHS number verification: traced against PDS (the HTTPS double), or not at all -----------------
BORN = date(1980, 2, 29)
OTHER_NHS = "9876543210"


@pytest.fixture
def pds():
    with PdsDouble() as double:
        double.file(VALID_NHS, "Smith", BORN)
        yield double


@pytest.fixture
def traced_api(family, tmp_path, pds):
    return make_api(family, tmp_path / "data", demographics=pds.adapter())


def _put(api, headers, **profile):
    body = {"displayName": "Alice Smith", "nhsNumber": VALID_NHS, "dateOfBirth": BORN.isoformat(), **profile}
    response = api.client.put("/api/me", headers=headers, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_without_a_trace_configured_a_number_stays_unverified_and_the_account_says_so(api):
    headers = api.as_(api.token("patient", "alice"))
    assert _put(api, headers)["nhsNumberVerified"] is False
    assert api.client.get("/api/me", headers=headers).json()["nhsNumberVerified"] is False


def test_a_number_traced_through_pds_is_verified_and_a_changed_one_is_not(traced_api, pds):
    api = traced_api
    headers = api.as_(api.token("patient", "alice"))
    assert _put(api, headers)["nhsNumberVerified"] is True
    assert pds.lookups == [VALID_NHS] and len(pds.request_ids) == 1
    assert _put(api, headers, nhsNumber=OTHER_NHS)["nhsNumberVerified"] is False  # PDS: no such patient
    assert _put(api, headers)["nhsNumberVerified"] is True
    assert _put(api, headers, dateOfBirth="1980-03-01")["nhsNumberVerified"] is False  # not what PDS holds
    assert api.client.get("/api/me", headers=headers).json()["nhsNumberVerified"] is False


def test_pds_down_never_fails_the_request(traced_api, pds):
    pds.fail_next(503, count=5)
    headers = traced_api.as_(traced_api.token("patient", "alice"))
    body = _put(traced_api, headers)
    assert (body["nhsNumber"], body["nhsNumberVerified"]) == (VALID_NHS, False)


# --- the PDS adapter against the double ---------------------------------------------------------------
def test_the_adapter_reads_the_patient_and_signs_in_once(pds):
    adapter = pds.adapter()
    found = adapter.lookup(VALID_NHS)
    assert (found.nhs_number, found.family_names, found.birth_date) == (VALID_NHS, ("Smith",), BORN)
    assert adapter.lookup(OTHER_NHS) is None  # 404 RESOURCE_NOT_FOUND
    assert adapter.lookup("12345") is None  # 400 INVALID_RESOURCE_ID
    assert len(pds._jtis) == 1  # one signed assertion, the bearer token reused
    assert len(set(pds.request_ids)) == len(pds.request_ids)  # a fresh X-Request-ID each time


def test_the_adapter_reports_a_superseded_number_as_filed_under_the_current_one(pds):
    pds.file(OTHER_NHS, "Smith", BORN, filed_under=VALID_NHS)
    assert pds.adapter().lookup(OTHER_NHS).nhs_number == VALID_NHS


@pytest.mark.parametrize("status", [503, 429, 500])
def test_the_adapter_reports_an_unavailable_service(pds, status):
    pds.fail_next(status)
    with pytest.raises(DemographicsUnavailable):
        pds.adapter().lookup(VALID_NHS)


def test_the_adapter_is_refused_with_the_wrong_key(pds):
    other = PdsDouble()
    with pytest.raises(DemographicsUnavailable):
        PdsDemographics(pds.base_url, pds.token_url, pds.api_key, pds.key_id, other.private_key_pem,
                        verify=pds.ca_bundle_path).lookup(VALID_NHS)
    assert pds.lookups == []
