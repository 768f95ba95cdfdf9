"""The patient's side of sharing: creating a share with consent, listing, revoking; the consent
record that never changes; expiry to the second; cascades from folder deletion and erasure."""
from datetime import timedelta

import pytest

from shared_code.clock import Clock, FrozenClock, iso
from shared_code.settings import CLINICS, NOTIFICATIONS_QUEUE, PATIENTS
from tests.support.steps import CONSENT, Scene, clinician, folder, onboard, patient_id, problem_type, share, shared


def _deliver(api):
    """Run the notification queue once through the real dispatcher; returns the mails 'sent'."""
    queue = api.container.adapters.queue
    for message in queue.receive(NOTIFICATIONS_QUEUE, max_messages=32):
        api.container.notifications.handle(message.body, 1)
        queue.delete(NOTIFICATIONS_QUEUE, message)
    return api.container.adapters.mail.list(50)


def test_share_creates_grant_consent_and_notifies_the_clinic(api):
    s = Scene(api, purposes=("research", "clinical_care"))
    grant = s.grant
    assert set(grant) >= {"id", "clinicId", "folderId", "purposes", "expiresAt", "status", "createdAt", "clinicName"}
    assert grant["clinicId"] == s.clinic_id and grant["folderId"] == s.folder_id
    assert grant["purposes"] == ["clinical_care", "research"]  # canonical order
    assert grant["status"] == "active" and grant["clinicName"] == "Newcastle Dermatology"
    assert grant["expiresAt"] == iso(api.container.clock.now() + timedelta(days=30))
    documents = api.container.adapters.documents
    clinic_side = documents.read(CLINICS, s.clinic_id, grant["id"]).doc
    assert clinic_side["patientId"] == patient_id(api, s.alice) and len(clinic_side["events"]) == 1
    patient_side = documents.read(PATIENTS, patient_id(api, s.alice), grant["id"]).doc
    consent = documents.read(PATIENTS, patient_id(api, s.alice), patient_side["consentId"]).doc
    assert consent["type"] == "consent" and consent["accepted"] is True and consent["version"] == CONSENT["version"]
    assert consent["clinicName"] == "Newcastle Dermatology" and consent["purposes"] == grant["purposes"]
    assert consent["expiresAt"] == grant["expiresAt"]
    mails = _deliver(api)
    assert any(m["to"] == "newcastle-derm@nhs.net" for m in mails)
    # Revocation supersedes; the consent as given stays exactly as written.
    assert api.client.delete(f"/api/shares/{grant['id']}", headers=s.alice).status_code == 204
    assert documents.read(PATIENTS, patient_id(api, s.alice), patient_side["consentId"]).doc == consent
    assert documents.read(CLINICS, s.clinic_id, grant["id"]).doc["revokedAt"] == iso(api.container.clock.now())


def test_clinic_codes_are_case_and_space_insensitive_and_only_subscribed_clinics_are_found(api):
    onboard(api, "LEEDS-DERM", name="Leeds Dermatology")
    lapsed = onboard(api, "YORK-DERM", ends_in=timedelta(seconds=1))
    headers = api.patient()
    found = api.client.get("/api/clinics/lookup", headers=headers, params={"code": " leeds - derm "})
    assert found.status_code == 200 and found.json()["name"] == "Leeds Dermatology"
    assert set(found.json()) == {"clinicId", "name"}
    api.container.clock.advance(seconds=1)  # York's subscription ends at this very second
    for code in ("YORK-DERM", "NOPE-DERM", "!!"):
        response = api.client.get("/api/clinics/lookup", headers=headers, params={"code": code})
        assert response.status_code == 404 and problem_type(response) == "clinic-code-not-found"
    f = folder(api, headers)
    assert share(api, headers, f, "york-derm").status_code == 404
    assert lapsed["subscriptionActive"] is True


def test_lookups_are_rate_limited_per_patient(family, tmp_path):
    from tests.support.app import make_api

    # A frozen clock: the limit counts per fixed window, and a slow run must not cross a window's edge.
    api = make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()))
    onboard(api, "LEEDS-DERM")
    alice, bob = api.patient("alice"), api.patient("bob")
    for _ in range(10):
        assert api.client.get("/api/clinics/lookup", headers=alice, params={"code": "WRONG-1"}).status_code == 404
    limited = api.client.get("/api/clinics/lookup", headers=alice, params={"code": "LEEDS-DERM"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert problem_type(limited) == "rate-limited"
    assert share(api, alice, folder(api, alice), "LEEDS-DERM").status_code == 429  # shares name codes too
    assert api.client.get("/api/clinics/lookup", headers=bob, params={"code": "LEEDS-DERM"}).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"durationDays": 0}, "durationDays"), ({"durationDays": 367}, "durationDays"),
    ({"durationDays": None}, "body"), ({"durationDays": 5, "expiresAt": "+1d"}, "body"),
    ({"expiresAt": "+367d"}, "expiresAt"), ({"expiresAt": "-1s"}, "expiresAt"), ({"expiresAt": "+0s"}, "expiresAt"),
    ({"expiresAt": "2030-01-01T00:00:00"}, "expiresAt"),  # no time zone
    ({"purposes": []}, "purposes"), ({"purposes": ["marketing"]}, "purposes.0"),
    ({"consent": {"version": "1", "accepted": False}}, "consent.accepted"), ({"consent": {"version": "1"}}, "consent.accepted"),
    # Only the JSON literal true is consent: a string or a number that lax parsing would coerce is not.
    ({"consent": {"version": "1", "accepted": "true"}}, "consent.accepted"),
    ({"consent": {"version": "1", "accepted": 1}}, "consent.accepted"),
    ({"clinicCode": ""}, "clinicCode"), ({"colour": "red"}, "colour"),
])
def test_bad_share_requests_are_422_and_change_nothing(api, body, field):
    onboard(api, "LEEDS-DERM")
    headers = api.patient()
    f = folder(api, headers)
    now = api.container.clock.now()
    payload = {"clinicCode": "LEEDS-DERM", "purposes": ["clinical_care"], "consent": CONSENT, "durationDays": 7}
    for key, value in body.items():
        if isinstance(value, str) and value[:1] in ("+", "-") and value[-1:] in ("d", "s"):
            unit = {"d": "days", "s": "seconds"}[value[-1]]
            value = iso(now + timedelta(**{unit: int(value[:-1])}))
        payload[key] = value
    if "expiresAt" in body and "durationDays" not in body:
        payload.pop("durationDays")
    if body.get("durationDays", 1) is None:
        payload.pop("durationDays")
    response = api.client.post(f"/api/folders/{f}/shares", headers=headers, json=payload)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json().get("errors", [])], response.json()
    assert api.client.get(f"/api/folders/{f}/shares", headers=headers).json()["items"] == []


def test_expires_at_up_to_366_days_ahead_is_accepted(api):
    onboard(api, "LEEDS-DERM")
    headers = api.patient()
    f = folder(api, headers)
    at = iso(api.container.clock.now() + timedelta(days=366))
    grant = shared(api, headers, f, "LEEDS-DERM", expiresAt=at, days=None)
    assert grant["expiresAt"] == at


def test_share_status_is_computed_to_the_second(api):
    s = Scene(api, days=1)
    clock = api.container.clock
    clock.advance(days=1, seconds=-1)  # one second before expiry: still active
    assert api.client.get(s.image_url("content"), headers=s.cal).status_code == 200
    assert api.client.get(f"/api/folders/{s.folder_id}/shares", headers=s.alice).json()["items"][0]["status"] == "active"
    clock.advance(seconds=1)  # the very second it expires
    response = api.client.get(s.image_url("content"), headers=s.cal)
    assert response.status_code == 403 and problem_type(response) == "grant-expired"
    assert api.client.get(f"/api/folders/{s.folder_id}/shares", headers=s.alice).json()["items"][0]["status"] == "expired"


def test_revocation_is_immediate_idempotent_and_only_the_owners(api):
    s = Scene(api)
    bob = api.patient("bob", "Bob")
    response = api.client.delete(f"/api/shares/{s.grant['id']}", headers=bob)
    assert response.status_code == 404 and problem_type(response) == "share-not-found"
    assert api.client.get(s.url(), headers=s.cal).status_code == 200
    assert api.client.delete(f"/api/shares/{s.grant['id']}", headers=s.alice).status_code == 204
    for url in (s.url(), s.image_url("content"), s.image_url("thumbnail"), s.image_url("export")):
        response = api.client.get(url, headers=s.cal)
        assert response.status_code == 403 and problem_type(response) == "grant-revoked", url
    assert api.client.post(s.url("/comments"), headers=s.cal, json={"text": "x"}).status_code == 403
    assert api.client.delete(f"/api/shares/{s.grant['id']}", headers=s.alice).status_code == 204
    listed = api.client.get(f"/api/folders/{s.folder_id}/shares", headers=s.alice).json()["items"]
    assert listed[0]["status"] == "revoked" and listed[0]["revokedAt"]
    assert api.client.get(f"/api/folders/{s.folder_id}/shares", headers=bob).status_code == 404


def test_deleting_the_folder_revokes_its_shares(api):
    s = Scene(api)
    assert api.client.delete(f"/api/folders/{s.folder_id}", headers=s.alice).status_code == 204
    doc = api.container.adapters.documents.read(CLINICS, s.clinic_id, s.grant["id"]).doc
    assert doc["revokedAt"] and doc["revokedReason"] == "folder-deleted"
    response = api.client.get(s.url(), headers=s.cal)
    assert response.status_code == 403 and problem_type(response) == "grant-revoked"


def test_erasing_the_account_revokes_every_share(api):
    s = Scene(api)
    second_folder = folder(api, s.alice, label="mole")
    other = shared(api, s.alice, second_folder, "NEWCASTLE-DERM")
    assert api.client.delete("/api/me", headers=s.alice).status_code == 202
    for grant in (s.grant, other):
        doc = api.container.adapters.documents.read(CLINICS, s.clinic_id, grant["id"]).doc
        assert doc["revokedReason"] == "account-erased"
        assert api.client.get(s.url(grant_id=grant["id"]), headers=s.cal).status_code == 403


def test_share_needs_the_patients_own_folder(api):
    onboard(api, "LEEDS-DERM")
    alice, bob = api.patient("alice"), api.patient("bob")
    f = folder(api, alice)
    response = share(api, bob, f, "LEEDS-DERM")
    assert response.status_code == 404 and problem_type(response) == "folder-not-found"
    assert share(api, clinician(api, "cal"), f, "LEEDS-DERM").status_code == 403
