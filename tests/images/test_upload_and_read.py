"""Images through the public API, on both adapter families: both upload paths, GPS gone with the
pixels unchanged, takenAt order, the template, hostile files, deletion."""
from urllib.parse import urlsplit

import pytest

from tests.images.photos import decode, phone_jpeg, plain_png
from tests.support import steps


def test_direct_upload_strips_gps_and_keeps_pixels(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    original = phone_jpeg()
    created = steps.post_image(api, headers, folder, original, note="itchy since Monday", view="close_up")
    assert created.status_code == 201, created.text
    image = created.json()
    assert image["status"] == "ready" and image["view"] == "close_up" and image["note"] == "itchy since Monday"
    assert (image["width"], image["height"]) == (640, 480)
    assert image["takenAt"] == "2026-03-01T10:15:00Z"  # from EXIF DateTimeOriginal
    content = api.client.get(f"/api/images/{image['id']}/content", headers=headers)
    assert content.status_code == 200 and content.headers["content-type"] == "image/jpeg"
    assert content.headers["cache-control"] == "private, no-store"
    stored = content.content
    assert b"SN-123456789" not in stored and b"Alice Patient" not in stored and b"maker secrets" not in stored
    exif = decode(stored).getexif()
    assert not exif.get_ifd(0x8825)  # no GPS
    assert list(decode(stored).getdata()) == list(decode(original).getdata())  # pixels unchanged
    import hashlib
    assert hashlib.sha256(stored).hexdigest() == image["sha256"] and len(stored) == image["sizeBytes"]
    thumb = api.client.get(f"/api/images/{image['id']}/thumbnail", headers=headers)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(decode(thumb.content).size) <= 512


def test_client_taken_at_wins_and_list_is_in_taken_at_order(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    ids = {}
    for when in ("2026-05-01T09:00:00Z", "2026-01-01T09:00:00Z", "2026-03-01T09:00:00+01:00"):
        response = steps.post_image(api, headers, folder, phone_jpeg(seed=len(ids) + 2), takenAt=when)
        assert response.status_code == 201, response.text
        ids[when] = response.json()["id"]
    listed = api.client.get(f"/api/folders/{folder}/images", headers=headers, params={"limit": 2}).json()
    assert [i["id"] for i in listed["items"]] == [ids["2026-01-01T09:00:00Z"], ids["2026-03-01T09:00:00+01:00"]]
    rest = api.client.get(f"/api/folders/{folder}/images", headers=headers,
                          params={"continuation": listed["continuation"]}).json()
    assert [i["id"] for i in rest["items"]] == [ids["2026-05-01T09:00:00Z"]] and rest["continuation"] is None
    # Moving a photo's date moves it in the list.
    api.client.patch(f"/api/images/{ids['2026-05-01T09:00:00Z']}", headers=headers, json={"takenAt": "2025-12-01T00:00:00Z"})
    first = api.client.get(f"/api/folders/{folder}/images", headers=headers).json()["items"][0]
    assert first["id"] == ids["2026-05-01T09:00:00Z"]


def test_template_defaults_to_first_upload_and_can_be_changed_or_cleared(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    assert api.client.get(f"/api/folders/{folder}/template", headers=headers).json() == {"imageId": None, "image": None}
    first = steps.post_image(api, headers, folder, phone_jpeg(seed=5)).json()["id"]
    second = steps.post_image(api, headers, folder, plain_png(), content_type="image/png").json()["id"]
    assert api.client.get(f"/api/folders/{folder}/template", headers=headers).json()["imageId"] == first
    assert api.client.put(f"/api/folders/{folder}/template", headers=headers, json={"imageId": second}).status_code == 200
    assert api.client.get(f"/api/folders/{folder}/template", headers=headers).json()["imageId"] == second
    assert api.client.put(f"/api/folders/{folder}/template", headers=headers, json={"imageId": None}).json()["imageId"] is None
    # A deleted template falls back to the first image still there.
    api.client.put(f"/api/folders/{folder}/template", headers=headers, json={"imageId": first})
    assert api.client.delete(f"/api/images/{first}", headers=headers).status_code == 204
    assert api.client.get(f"/api/folders/{folder}/template", headers=headers).json()["imageId"] == second
    assert api.client.get(f"/api/folders/{folder}", headers=headers).json()["imageCount"] == 1
    other = steps.folder(api, headers, "other")
    assert api.client.put(f"/api/folders/{other}/template", headers=headers, json={"imageId": second}).status_code == 404


@pytest.mark.parametrize("name,data,content_type,status", [
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/jpeg", 422),
    ("html", b"<html><body>hi</body></html>", "image/png", 422),
    ("truncated", None, "image/jpeg", 422),
    ("empty", b"", "image/jpeg", 422),
    ("text as text", b"hello", "text/plain", 415),
])
def test_hostile_uploads_are_refused_and_store_nothing(api, name, data, content_type, status):
    headers = api.patient()
    folder = steps.folder(api, headers)
    if data is None:
        data = phone_jpeg()[:5000]
    response = steps.post_image(api, headers, folder, data, content_type)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert api.client.get(f"/api/folders/{folder}/images", headers=headers).json()["items"] == []


def test_oversized_upload_is_413(family, tmp_path):
    from tests.support.app import make_api

    api = make_api(family, tmp_path / "data", MAX_UPLOAD_BYTES=10_000)
    headers = api.patient()
    folder = steps.folder(api, headers)
    response = steps.post_image(api, headers, folder, phone_jpeg())
    assert response.status_code == 413 and response.json()["type"].endswith("/payload-too-large")


def test_upload_url_flow_pending_then_ready_and_url_refused_after(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    ticket = steps.upload_ticket(api, headers, folder, {"view": "distant"})
    image = api.client.get(f"/api/images/{ticket['imageId']}", headers=headers).json()
    assert image["status"] == "pending"
    path = urlsplit(ticket["uploadUrl"]).path
    assert api.client.put(path, content=phone_jpeg(), headers={"content-type": "image/jpeg"}).status_code == 201
    image = api.client.get(f"/api/images/{ticket['imageId']}", headers=headers).json()
    assert image["status"] == "ready" and image["view"] == "distant"
    assert api.client.get(f"/api/images/{ticket['imageId']}/content", headers=headers).status_code == 200
    again = api.client.put(path, content=phone_jpeg(seed=9), headers={"content-type": "image/jpeg"})
    assert again.status_code == 409
    altered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert api.client.put(altered, content=b"x").status_code == 403


def test_upload_url_rejects_a_non_image_with_a_reason(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    ticket = steps.upload_ticket(api, headers, folder)
    steps.put_upload(api, ticket["uploadUrl"], b"<svg/>")
    image = api.client.get(f"/api/images/{ticket['imageId']}", headers=headers).json()
    assert image["status"] == "rejected" and image["rejectedReason"] == "unsupported_type"


def test_duplicate_blob_events_are_harmless(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    ticket = steps.upload_via_url(api, headers, folder, phone_jpeg())
    blob_name = api.container.images.get(steps.patient_id(api, headers), ticket["imageId"]).upload_blob
    assert api.container.incoming.process(blob_name) == "gone"
    assert api.client.get(f"/api/folders/{folder}", headers=headers).json()["imageCount"] == 1


def test_another_patients_image_is_not_found(api):
    alice = api.patient("alice")
    bob = api.patient("bob")
    folder = steps.folder(api, alice)
    image = steps.post_image(api, alice, folder, phone_jpeg()).json()["id"]
    for path in (f"/api/images/{image}", f"/api/images/{image}/content", f"/api/images/{image}/thumbnail"):
        assert api.client.get(path, headers=bob).status_code == 404
    assert api.client.delete(f"/api/images/{image}", headers=bob).status_code == 404
    assert api.client.patch(f"/api/images/{image}", headers=bob, json={"note": "x"}).status_code == 404
    assert steps.post_image(api, bob, folder, phone_jpeg()).status_code == 404
    assert api.client.get(f"/api/images/{image}", headers=alice).status_code == 200


def test_deleting_a_folder_deletes_its_images_and_blobs(api):
    headers = api.patient()
    folder = steps.folder(api, headers)
    image = steps.post_image(api, headers, folder, phone_jpeg()).json()["id"]
    pid = steps.patient_id(api, headers)
    assert list(api.container.adapters.blobs.list("images", f"{pid}/"))
    assert api.client.delete(f"/api/folders/{folder}", headers=headers).status_code == 204
    assert api.client.get(f"/api/images/{image}", headers=headers).status_code == 404
    assert list(api.container.adapters.blobs.list("images", f"{pid}/")) == []


def test_heic_from_an_iphone_is_stored_as_jpeg_without_its_gps(api):
    from tests.imaging.builders import heic, identifying_exif, photo

    headers = api.patient()
    folder = steps.folder(api, headers)
    response = steps.post_image(api, headers, folder, heic(photo((96, 64), noise=False), exif=identifying_exif(orientation=1)),
                       "image/heic")
    assert response.status_code == 201, response.text
    image = response.json()
    assert image["contentType"] == "image/jpeg" and (image["width"], image["height"]) == (96, 64)
    content = api.client.get(f"/api/images/{image['id']}/content", headers=headers)
    assert content.headers["content-type"] == "image/jpeg"
    assert not decode(content.content).getexif().get_ifd(0x8825)


def test_a_blob_event_for_a_name_we_never_issued_is_dropped_not_retried(api):
    blobs = api.container.adapters.blobs
    for name in ("stray", "p_x/not-an-image-id", "i_aaaaaaaaaaaaaaaaaaaaaaaaaa/p_x"):
        blobs.put("incoming", name, [b"whatever"])
        assert api.container.incoming.process(name) == "orphan"
        assert list(blobs.list("incoming", name)) == []
