"""Idempotency-Key on the creating POSTs (shared_code/http/idempotency.py), end to end on both
families: a retry with the same key and body answers the first response and creates nothing; the
same key with another body is 422; a key is the caller's; a refused request leaves the key free."""
from __future__ import annotations

from shared_code.idempotency.repository import caller_partition
from shared_code.ports.documents import Query
from shared_code.settings import PATIENTS
from tests.support import steps
from tests.support.steps import CONSENT, Scene, jpeg, problem_type

FOLDER = {"label": "rash on hands"}


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def _count(api, headers, doc_type: str) -> int:
    pid = steps.patient_id(api, headers)
    return len(api.container.adapters.documents.query(PATIENTS, Query(pid, {"type": doc_type}, limit=200)).items)


def test_a_retried_folder_is_created_once_and_answered_the_same(api):
    alice = api.patient()
    first = api.client.post("/api/folders", headers={**alice, **_key("f-1")}, json=FOLDER)
    again = api.client.post("/api/folders", headers={**alice, **_key("f-1")}, json=FOLDER)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert [f["id"] for f in api.client.get("/api/folders", headers=alice).json()["items"]] == [first.json()["id"]]


def test_the_same_key_with_another_body_is_422_and_creates_nothing(api):
    alice = api.patient()
    steps.folder(api, alice)  # without a key: unaffected
    assert api.client.post("/api/folders", headers={**alice, **_key("k")}, json=FOLDER).status_code == 201
    other = api.client.post("/api/folders", headers={**alice, **_key("k")}, json={"label": "mole on back"})
    assert other.status_code == 422 and problem_type(other) == "idempotency-key-reused"
    elsewhere = api.client.post(f"/api/folders/{steps.folder(api, alice)}/comments", headers={**alice, **_key("k")},
                                json={"text": "itchy"})
    assert elsewhere.status_code == 422 and problem_type(elsewhere) == "idempotency-key-reused"
    assert _count(api, alice, "folder") == 3 and _count(api, alice, "comment") == 0


def test_another_callers_equal_key_is_another_key(api):
    alice, bob = api.patient("alice"), api.patient("bob", "Bob")
    a = api.client.post("/api/folders", headers={**alice, **_key("same")}, json=FOLDER)
    b = api.client.post("/api/folders", headers={**bob, **_key("same")}, json=FOLDER)
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers
    assert len(api.client.get("/api/folders", headers=bob).json()["items"]) == 1


def test_a_refused_request_leaves_the_key_free_for_the_corrected_one(api):
    alice = api.patient()
    refused = api.client.post("/api/folders", headers={**alice, **_key("fix-me")}, json={"label": ""})
    assert refused.status_code == 422 and problem_type(refused) != "idempotency-key-reused"
    fixed = api.client.post("/api/folders", headers={**alice, **_key("fix-me")}, json=FOLDER)
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


def test_a_malformed_key_is_400_and_creates_nothing(api):
    alice = api.patient()
    for bad in ("", "x" * 256, "with space", "tab\there"):
        response = api.client.post("/api/folders", headers={**alice, **_key(bad)}, json=FOLDER)
        assert response.status_code == 400 and problem_type(response) == "idempotency-key-invalid", bad
    assert _count(api, alice, "folder") == 0


def test_shares_comments_members_clinics_and_uploads_replay(api):
    scene = Scene(api)
    # A share: one grant (and one consent), the first answer twice.
    folder_id = steps.folder(api, scene.alice, "second")
    body = {"clinicCode": "newcastle-derm", "purposes": ["clinical_care"], "consent": CONSENT, "durationDays": 7}
    shares = [api.client.post(f"/api/folders/{folder_id}/shares", headers={**scene.alice, **_key("s")}, json=body)
              for _ in range(2)]
    assert [r.status_code for r in shares] == [201, 201] and shares[0].json() == shares[1].json()
    assert len(api.client.get(f"/api/folders/{folder_id}/shares", headers=scene.alice).json()["items"]) == 1
    assert _count(api, scene.alice, "consent") == 2  # the scene's share and this one
    # A clinician's comment: once, one audit entry.
    url = scene.url("/comments")
    comments = [api.client.post(url, headers={**scene.cal, **_key("c")}, json={"text": "Looks like eczema."})
                for _ in range(2)]
    assert [r.status_code for r in comments] == [201, 201] and comments[0].json() == comments[1].json()
    audit = steps.audit_records(api, steps.patient_id(api, scene.alice))
    assert [e["action"] for e in audit].count("comment.created") == 1
    # The patient's own note, and the same key used by the clinician (another caller) is independent.
    notes = [api.client.post(f"/api/folders/{scene.folder_id}/comments", headers={**scene.alice, **_key("c")},
                             json={"text": "itchy"}) for _ in range(2)]
    assert notes[0].json() == notes[1].json() and notes[0].json()["id"] != comments[0].json()["id"]
    assert _count(api, scene.alice, "comment") == 2
    # A member.
    members = [api.client.post(f"/api/clinics/{scene.clinic_id}/members", headers={**scene.ada, **_key("m")},
                               json={"email": "dee@nhs.net", "role": "clinician"}) for _ in range(2)]
    assert [r.status_code for r in members] == [201, 201] and members[0].json() == members[1].json()
    # A clinic.
    clinic = {"name": "Leeds Dermatology", "code": "LEEDS-DERM", "notificationEmail": "leeds@nhs.net",
              "subscriptionEndsAt": scene.clinic["subscriptionEndsAt"], "adminEmail": "lee@nhs.net"}
    clinics = [api.client.post("/api/admin/clinics", headers={**steps.admin(api), **_key("cl")}, json=clinic)
               for _ in range(2)]
    assert [r.status_code for r in clinics] == [201, 201] and clinics[0].json() == clinics[1].json()
    assert clinics[0].headers["location"] == clinics[1].headers["location"]
    # An upload URL, and a direct upload (the same bytes; other bytes are another request).
    tickets = [api.client.post(f"/api/folders/{folder_id}/uploads", headers={**scene.alice, **_key("u")}, json={})
               for _ in range(2)]
    assert tickets[0].json() == tickets[1].json()
    direct = [steps.post_image(api, {**scene.alice, **_key("i")}, folder_id, seed=3) for _ in range(2)]
    assert [r.status_code for r in direct] == [201, 201] and direct[0].json() == direct[1].json()
    other = steps.post_image(api, {**scene.alice, **_key("i")}, folder_id, jpeg(4))
    assert other.status_code == 422 and problem_type(other) == "idempotency-key-reused"
    images = api.client.get(f"/api/folders/{folder_id}/images", headers=scene.alice).json()["items"]
    assert sorted(i["id"] for i in images) == sorted([tickets[0].json()["imageId"], direct[0].json()["id"]])


def test_a_key_still_in_flight_is_409_and_runs_nothing(api):
    alice = api.patient()
    caller = steps.principal(api, alice)
    records = api.container.idempotency
    records.claim(caller_partition(caller), "busy", None)  # as a request still running would have
    response = api.client.post("/api/folders", headers={**alice, **_key("busy")}, json=FOLDER)
    assert response.status_code == 409 and problem_type(response) == "idempotency-key-in-flight"
    assert response.headers["retry-after"] == "1" and _count(api, alice, "folder") == 0


def test_erasure_forgets_the_patients_remembered_responses(api):
    alice = api.patient()
    caller = steps.principal(api, alice)
    api.client.post("/api/folders", headers={**alice, **_key("f")}, json=FOLDER)
    assert api.container.idempotency.find(caller_partition(caller), "f") is not None
    assert api.client.delete("/api/me", headers=alice).status_code == 202
    assert api.container.idempotency.find(caller_partition(caller), "f") is None
