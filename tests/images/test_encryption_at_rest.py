"""What a stolen disk, a backup or a tampering administrator gets: ciphertext that never comes back
as an image, and nothing at all once the patient erased their account."""
import os

import pytest

from shared_code.settings import IMAGES_CONTAINER
from tests.images.photos import phone_jpeg
from tests.support import steps


def _setup(api):
    headers = api.patient()
    folder = steps.folder(api, headers, "mole")
    image = steps.upload(api, headers, folder, phone_jpeg())
    return headers, folder, image, steps.patient_id(api, headers), phone_jpeg()


def _blob_bytes(api, name):
    return b"".join(api.container.adapters.blobs.open(IMAGES_CONTAINER, name)[1])


def _objects(api, pid, image_id):
    return {variant: seal.to_doc() for variant, seal in api.container.images.get(pid, image_id).objects.items()}


def _assert_integrity_failure(response):
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/image-integrity")
    assert b"\xff\xd8" not in response.content  # not a byte of JPEG


def test_nothing_plaintext_under_local_data_dir(family, tmp_path):
    from tests.support.app import make_api

    api = make_api(family, tmp_path / "data")
    headers, folder, image, pid, original = _setup(api)
    # Also an upload through the upload URL, and one left waiting in `incoming`.
    steps.upload_via_url(api, headers, folder, phone_jpeg(seed=4))
    stored = api.client.get(f"/api/images/{image['id']}/content", headers=headers).content
    thumb = api.client.get(f"/api/images/{image['id']}/thumbnail", headers=headers).content
    api.container.adapters.blobs.put("incoming", f"{pid}/waiting", [phone_jpeg(seed=7)])
    needles = [original[200:264], stored[-300:-236], thumb[100:164], phone_jpeg(seed=7)[400:464], b"JFIF", b"Exif"]
    for root, _, files in os.walk(tmp_path):
        for name in files:
            data = open(os.path.join(root, name), "rb").read()
            for needle in needles:
                assert needle not in data, f"plaintext image bytes in {name}"


@pytest.mark.parametrize("where", ["header", "first segment", "tag", "truncate", "append"])
def test_tampered_objects_never_come_back_as_an_image(api, where):
    headers, _, image, pid, _ = _setup(api)
    name = _objects(api, pid, image["id"])["original"]["blob"]
    data = bytearray(_blob_bytes(api, name))
    if where == "header":
        data[10] ^= 1
    elif where == "first segment":
        data[200] ^= 0x80
    elif where == "tag":
        data[-1] ^= 1
    elif where == "truncate":
        data = data[:-17]
    else:
        data += b"\x00" * 16
    api.container.adapters.blobs.put(IMAGES_CONTAINER, name, [bytes(data)])
    _assert_integrity_failure(api.client.get(f"/api/images/{image['id']}/content", headers=headers))
    # The thumbnail, untouched, still reads.
    assert api.client.get(f"/api/images/{image['id']}/thumbnail", headers=headers).status_code == 200


def test_tampering_on_disk_in_place_is_caught(family, tmp_path):
    """Bytes changed inside the stored object itself, its size unchanged (and, for the local file
    store, its modification time put back)."""
    from tests.support.app import make_api

    api = make_api(family, tmp_path / "data")
    headers, _, image, pid, _ = _setup(api)
    seal = _objects(api, pid, image["id"])["original"]
    if family.name == "local":
        [path] = [p for p in tmp_path.rglob("*") if p.is_file() and p.name.endswith("~original")]
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        stat = path.stat()
        path.write_bytes(bytes(raw))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:
        data = bytearray(_blob_bytes(api, seal["blob"]))
        data[len(data) // 2] ^= 0xFF
        api.container.adapters.blobs.put(IMAGES_CONTAINER, seal["blob"], [bytes(data)])
    _assert_integrity_failure(api.client.get(f"/api/images/{image['id']}/content", headers=headers))


def test_swapping_objects_between_images_or_variants_fails(api):
    headers, folder, first, pid, _ = _setup(api)
    second = steps.upload(api, headers, folder, phone_jpeg(seed=8))
    a, b = _objects(api, pid, first["id"]), _objects(api, pid, second["id"])
    blobs = api.container.adapters.blobs
    # Substitute image B's original for image A's (as a rollback or a mix-up would).
    blobs.put(IMAGES_CONTAINER, a["original"]["blob"], [_blob_bytes(api, b["original"]["blob"])])
    # And A's thumbnail for A's... original slot of B.
    blobs.put(IMAGES_CONTAINER, b["original"]["blob"], [_blob_bytes(api, a["thumbnail"]["blob"])])
    _assert_integrity_failure(api.client.get(f"/api/images/{first['id']}/content", headers=headers))
    _assert_integrity_failure(api.client.get(f"/api/images/{second['id']}/content", headers=headers))


def test_a_restored_ciphertext_is_unreadable_after_image_deletion(api):
    headers, _, image, pid, _ = _setup(api)
    record = api.container.images.get(pid, image["id"])
    saved = {v: _blob_bytes(api, s.blob) for v, s in record.objects.items()}
    assert api.client.delete(f"/api/images/{image['id']}", headers=headers).status_code == 204
    # The blobs come back from a backup; the DEK that sealed them no longer exists in any record.
    for variant, seal in record.objects.items():
        api.container.adapters.blobs.put(IMAGES_CONTAINER, seal.blob, [saved[variant]])
    assert api.client.get(f"/api/images/{image['id']}/content", headers=headers).status_code == 404
    from shared_code.errors import DomainError
    from shared_code.http.problems import problem_for

    with pytest.raises(DomainError) as refused:
        api.container.images.open(pid, record.but(wrapped_dek=None), "original")
    assert problem_for(refused.value).slug == "image-integrity"


def test_account_erasure_makes_every_restored_ciphertext_unreadable(api):
    headers, _, image, pid, original = _setup(api)
    record = api.container.images.get(pid, image["id"])
    account_before = api.container.patients.account(pid).doc
    saved = {v: _blob_bytes(api, s.blob) for v, s in record.objects.items()}
    assert api.client.delete("/api/me", headers=headers).status_code == 202
    assert list(api.container.adapters.blobs.list(IMAGES_CONTAINER, f"{pid}/")) == []
    # A backup brings back the ciphertext AND the image record: still no patient key anywhere.
    for variant, seal in record.objects.items():
        api.container.adapters.blobs.put(IMAGES_CONTAINER, seal.blob, [saved[variant]])
    api.container.patients.upsert(pid, record.to_doc())
    from shared_code.errors import DomainError
    from shared_code.http.problems import problem_for

    with pytest.raises(DomainError) as refused:
        api.container.images.open(pid, record, "original")
    assert problem_for(refused.value).status == 404
    assert "patientKey" in account_before  # the key existed, and was destroyed by erasure


def test_patient_key_is_unwrapped_once_per_ttl_under_load(api):
    import threading

    headers, _, image, pid, _ = _setup(api)
    calls = []
    keys = api.container.adapters.keys
    original_unwrap = keys.unwrap

    def counting_unwrap(wrapped):
        calls.append(1)
        return original_unwrap(wrapped)

    keys.unwrap = counting_unwrap
    api.container.patient_keys.cache.clear()
    results = []

    def view():
        results.append(api.client.get(f"/api/images/{image['id']}/thumbnail", headers=headers).status_code)

    threads = [threading.Thread(target=view) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 12
    assert len(calls) == 1
