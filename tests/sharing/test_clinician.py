"""The clinician's side of a share: worklist, detail, images, comments, EPR export, and the audit
trail the patient reads back as their access log."""
import base64
import hashlib
import json

from shared_code.settings import PATIENTS
from tests.support.steps import VALID_NHS, Scene, audit_records, folder, patient_id, problem_type, shared, upload


def test_grant_detail_shows_folder_patient_and_ready_images(api):
    s = Scene(api)
    response = api.client.get(s.url(), headers=s.cal)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["grant"]["id"] == s.grant["id"] and detail["grant"]["status"] == "active"
    assert detail["allowedOperations"] == ["view", "comment", "export_epr"]
    assert detail["folder"]["label"] == "rash on hands" and detail["folder"]["bodySite"]["code"] == "85562004"
    assert detail["patient"] == {"displayName": "Alice Smith", "nhsNumber": VALID_NHS, "dateOfBirth": "1980-02-29",
                                 "nhsNumberVerified": False, "nhsNumberShared": False, "pseudonym": None}
    assert [i["id"] for i in detail["images"]] == [s.image["id"]]
    assert detail["images"][0]["status"] == "ready" and detail["images"][0]["view"] == "close_up"


def test_image_content_and_thumbnail_stream_with_length_and_are_audited(api):
    s = Scene(api)
    own = api.client.get(f"/api/images/{s.image['id']}/content", headers=s.alice).content
    content = api.client.get(s.image_url("content"), headers=s.cal)
    assert content.status_code == 200 and content.content == own
    assert content.headers["content-type"] == "image/jpeg"
    assert int(content.headers["content-length"]) == len(own)
    assert content.headers["cache-control"] == "private, no-store"
    thumb = api.client.get(s.image_url("thumbnail"), headers=s.cal)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert int(thumb.headers["content-length"]) == len(thumb.content)
    log = api.client.get("/api/me/access-log", headers=s.alice).json()["items"]
    assert [e["action"] for e in log] == ["image.thumbnail_viewed", "image.viewed"]  # newest first
    assert log[1]["actor"] == {"role": "clinician", "name": "Dr Cal", "email": "cal@nhs.net"}
    assert log[1]["clinic"] == {"id": s.clinic_id, "name": "Newcastle Dermatology"}
    assert log[1]["imageId"] == s.image["id"] and log[1]["grantId"] == s.grant["id"]


def test_clinician_comment_reaches_the_patient_is_notified_and_audited_without_text(api):
    s = Scene(api)
    text = "Please photograph this again in two weeks, with a ruler."
    created = api.client.post(s.url("/comments"), headers=s.cal, json={"text": text, "imageId": s.image["id"]})
    assert created.status_code == 201, created.text
    comment = created.json()
    assert comment["authorRole"] == "clinician" and comment["authorName"] == "Dr Cal"
    assert comment["clinic"] == {"id": s.clinic_id, "name": "Newcastle Dermatology"}
    note = api.client.post(f"/api/folders/{s.folder_id}/comments", headers=s.alice, json={"text": "Will do"})
    assert note.status_code == 201 and note.json()["authorRole"] == "patient" and note.json()["authorName"] == "Alice Smith"
    listed = api.client.get(f"/api/folders/{s.folder_id}/comments", headers=s.alice).json()["items"]
    assert [(c["authorRole"], c["text"]) for c in listed] == [("patient", "Will do"), ("clinician", text)]
    stored = api.container.adapters.documents.read(PATIENTS, patient_id(api, s.alice), comment["id"]).doc
    assert len(stored["events"]) == 1  # comment.created, written with the comment
    audit = audit_records(api, patient_id(api, s.alice))
    assert any(a["action"] == "comment.created" and a["commentId"] == comment["id"] for a in audit)
    assert text not in json.dumps(audit)


def test_comment_on_an_image_of_another_folder_is_refused(api):
    s = Scene(api)
    other_folder = folder(api, s.alice, "mole")
    other_image = upload(api, s.alice, other_folder, seed=2)
    for headers, url in ((s.cal, s.url("/comments")), (s.alice, f"/api/folders/{s.folder_id}/comments")):
        for image_id in (other_image["id"], "i_doesnotexist"):
            response = api.client.post(url, headers=headers, json={"text": "x", "imageId": image_id})
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == "imageId"
    assert api.client.get(f"/api/folders/{s.folder_id}/comments", headers=s.alice).json()["items"] == []


def test_comment_text_is_bounded(api):
    s = Scene(api)
    for body in ({"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {"text": "x", "extra": 1}):
        assert api.client.post(s.url("/comments"), headers=s.cal, json=body).status_code == 422
    assert api.client.post(s.url("/comments"), headers=s.cal, json={"text": "x" * 2000}).status_code == 201


def test_fhir_export_is_a_valid_r4_bundle(api):
    from fhir.resources.R4B.bundle import Bundle

    s = Scene(api, purposes=("clinical_care", "medical_record", "teaching", "research"))
    original = api.client.get(f"/api/images/{s.image['id']}/content", headers=s.alice).content
    response = api.client.get(s.image_url("export"), headers=s.cal, params={"format": "fhir"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert "attachment" in response.headers["content-disposition"]
    bundle = Bundle.model_validate_json(response.content)  # parses as FHIR R4 (R4B shapes)
    assert bundle.type == "collection"
    resources = {e.resource.get_resource_type(): e for e in bundle.entry}
    assert set(resources) == {"Patient", "Organization", "Media", "DocumentReference", "Consent"}
    patient_entry = resources["Patient"]
    patient = patient_entry.resource
    assert patient.identifier[0].system == "https://fhir.nhs.uk/Id/nhs-number" and patient.identifier[0].value == VALID_NHS
    # Typed by the patient and not traced (no trace locally): UK Core verification status 02.
    [status] = patient.identifier[0].extension
    assert status.url == "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
    assert (status.valueCodeableConcept.coding[0].system, status.valueCodeableConcept.coding[0].code) == (
        "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland", "02")
    assert patient.name[0].text == "Alice Smith"
    media = resources["Media"].resource
    assert media.status == "completed" and media.type.coding[0].code == "image"
    assert (media.modality.coding[0].system, media.modality.coding[0].code) == (
        "http://dicom.nema.org/resources/ontology/DCM", "XC")
    assert media.view.text == "Close-up view"
    assert media.subject.reference == patient_entry.fullUrl and media.operator.reference == patient_entry.fullUrl
    assert media.bodySite.coding[0].code == "85562004:272741003=7771000"
    assert (media.width, media.height) == (s.image["width"], s.image["height"])
    assert media.createdDateTime is not None
    raw = {e["resource"]["resourceType"]: e["resource"] for e in response.json()["entry"]}
    attachment = raw["Media"]["content"]  # the JSON as sent: base64 text (the model decodes it)
    assert attachment["contentType"] == "image/jpeg" and base64.b64decode(attachment["data"]) == original
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(original).digest()).decode()  # SHA-1, base64
    assert attachment["size"] == len(original) and attachment["creation"] == (s.image["takenAt"] or s.image["uploadedAt"])
    document = resources["DocumentReference"].resource
    assert document.status == "current" and document.subject.reference == patient_entry.fullUrl
    assert raw["DocumentReference"]["content"][0]["attachment"]["data"] == attachment["data"]
    consent = resources["Consent"].resource
    assert consent.status == "active" and consent.scope.coding[0].code == "patient-privacy"
    assert consent.provision.type == "permit" and consent.patient.reference == patient_entry.fullUrl
    assert consent.provision.actor[0].reference.reference == resources["Organization"].fullUrl
    assert sorted(p.code for p in consent.provision.purpose) == ["HRESCH", "TRAIN", "TREAT"]
    log = api.client.get("/api/me/access-log", headers=s.alice).json()["items"]
    assert log[0]["action"] == "image.exported" and log[0]["imageId"] == s.image["id"]


def test_export_without_medical_record_purpose_is_refused_and_not_audited(api):
    s = Scene(api, purposes=("clinical_care", "teaching"))
    response = api.client.get(s.image_url("export"), headers=s.cal)
    assert response.status_code == 403 and problem_type(response) == "purpose-not-granted"
    assert api.client.get(s.image_url("content"), headers=s.cal).status_code == 200
    actions = [e["action"] for e in api.client.get("/api/me/access-log", headers=s.alice).json()["items"]]
    assert actions == ["image.viewed"]
    assert api.client.get(s.image_url("export"), headers=s.cal, params={"format": "hl7v2"}).status_code == 422


def test_access_log_is_the_patients_own_and_reading_it_is_audited(api):
    s = Scene(api)
    api.client.get(s.url(), headers=s.cal)
    bob = api.patient("bob", "Bob")
    assert api.client.get("/api/me/access-log", headers=bob).json()["items"] == []
    first = api.client.get("/api/me/access-log", headers=s.alice, params={"limit": 1}).json()
    assert [e["action"] for e in first["items"]] == ["share.viewed"]
    audit = audit_records(api, patient_id(api, s.alice))
    actions = sorted(a["action"] for a in audit)
    assert actions == ["access_log.read", "share.created", "share.viewed"]
    assert VALID_NHS not in json.dumps(audit)


def test_worklist_is_newest_first_filters_by_status_and_pages(api):
    s = Scene(api)
    clock = api.container.clock
    grants = [s.grant]
    for days in (1, 2, 3):
        clock.advance(seconds=1)
        grants.append(_share(api, s, days))
    api.client.delete(f"/api/shares/{grants[1]['id']}", headers=s.alice)
    clock.advance(days=1, seconds=1)  # grants[1] (1 day) is revoked anyway; none other expired yet
    clock.advance(days=1)              # now grants[2] (2 days) has expired
    every = api.client.get(f"/api/clinics/{s.clinic_id}/shares", headers=s.cal).json()["items"]
    assert [g["id"] for g in every] == [g["id"] for g in reversed(grants)]
    statuses = {g["id"]: g["status"] for g in every}
    assert statuses == {grants[0]["id"]: "active", grants[1]["id"]: "revoked", grants[2]["id"]: "expired",
                        grants[3]["id"]: "active"}
    active = api.client.get(f"/api/clinics/{s.clinic_id}/shares", headers=s.cal, params={"status": "active"}).json()
    assert [g["id"] for g in active["items"]] == [grants[3]["id"], grants[0]["id"]]
    seen, continuation = [], None
    while True:
        params = {"status": "active", "limit": 1, **({"continuation": continuation} if continuation else {})}
        page = api.client.get(f"/api/clinics/{s.clinic_id}/shares", headers=s.cal, params=params).json()
        seen += [g["id"] for g in page["items"]]
        continuation = page["continuation"]
        if not continuation:
            break
    assert seen == [grants[3]["id"], grants[0]["id"]]
    for status in ("expired", "revoked"):
        got = api.client.get(f"/api/clinics/{s.clinic_id}/shares", headers=s.cal, params={"status": status}).json()
        assert [g["id"] for g in got["items"]] == [g["id"] for g in grants if statuses[g["id"]] == status]
    assert api.client.get(f"/api/clinics/{s.clinic_id}/shares", headers=s.cal,
                          params={"status": "pending"}).status_code == 422


def _share(api, s, days):
    return shared(api, s.alice, s.folder_id, "NEWCASTLE-DERM", days=days)
