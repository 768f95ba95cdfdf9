"""PUT/GET/DELETE /api/me as the mobile app drives them."""
import pytest

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
    assert body["notificationPreferences"] == {"comments": False, "shareExpiring": True, "uploadRejected": True}
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
