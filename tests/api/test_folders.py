"""Folders: create, list with paging, read, rename, delete; never another patient's."""
from tests.support import steps


def test_folder_lifecycle(api):
    headers = api.patient()
    created = api.client.post("/api/folders", headers=headers, json={
        "label": "rash on hands", "bodySite": {"code": "85562004", "laterality": "left"}, "condition": "eczema"})
    assert created.status_code == 201, created.text
    folder = created.json()
    assert created.headers["location"] == f"/api/folders/{folder['id']}"
    assert folder["bodySite"] == {"system": "http://snomed.info/sct", "code": "85562004", "display": "Hand",
                                  "laterality": "left"}
    assert folder["imageCount"] == 0 and folder["templateImageId"] is None and folder["reminder"] is None
    got = api.client.get(f"/api/folders/{folder['id']}", headers=headers)
    assert got.json() == folder and got.headers["etag"]
    patched = api.client.patch(f"/api/folders/{folder['id']}", headers=headers,
                               json={"label": "rash on both hands", "condition": None})
    assert patched.status_code == 200
    assert patched.json()["label"] == "rash on both hands" and patched.json()["condition"] is None
    assert patched.json()["bodySite"]["code"] == "85562004"
    assert api.client.delete(f"/api/folders/{folder['id']}", headers=headers).status_code == 204
    assert api.client.get(f"/api/folders/{folder['id']}", headers=headers).status_code == 404
    assert api.client.delete(f"/api/folders/{folder['id']}", headers=headers).status_code == 404


def test_list_is_newest_first_and_pages(api):
    headers = api.patient()
    ids = []
    for i in range(5):
        ids.append(steps.folder(api, headers, f"folder {i}"))
        api.container.clock = api.container.clock  # same clock; createdAt ties are broken by id
    seen, continuation = [], None
    while True:
        params = {"limit": 2, **({"continuation": continuation} if continuation else {})}
        page = api.client.get("/api/folders", headers=headers, params=params).json()
        assert len(page["items"]) <= 2
        seen += [f["id"] for f in page["items"]]
        continuation = page["continuation"]
        if not continuation:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    created = [f["createdAt"] for f in api.client.get("/api/folders", headers=headers).json()["items"]]
    assert created == sorted(created, reverse=True)


def test_paging_parameters_are_validated(api):
    headers = api.patient()
    for params in ({"limit": 0}, {"limit": 201}, {"limit": "x"}):
        assert api.client.get("/api/folders", headers=headers, params=params).status_code == 422
    bad = api.client.get("/api/folders", headers=headers, params={"continuation": "not-a-token!"})
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid-continuation")


def test_another_patients_folder_is_not_found(api):
    alice = api.patient("alice")
    bob = api.patient("bob")
    folder_id = steps.folder(api, alice, "mole")
    for method in ("get", "delete"):
        response = getattr(api.client, method)(f"/api/folders/{folder_id}", headers=bob)
        assert response.status_code == 404
        assert response.json()["type"].endswith("/folder-not-found")
    assert api.client.patch(f"/api/folders/{folder_id}", headers=bob, json={"label": "mine"}).status_code == 404
    assert api.client.get("/api/folders", headers=bob).json()["items"] == []
    assert api.client.get(f"/api/folders/{folder_id}", headers=alice).json()["label"] == "mole"


def test_folders_need_an_account(api):
    headers = api.as_(api.token("patient", "new"))
    response = api.client.post("/api/folders", headers=headers, json={"label": "x"})
    assert response.status_code == 404 and response.json()["type"].endswith("/account-not-found")


def test_bad_folder_bodies_change_nothing(api):
    headers = api.patient()
    for body in ({}, {"label": ""}, {"label": "x" * 101}, {"label": "x", "bodySite": {"code": "123"}},
                 {"label": "x", "bodySite": {"code": "85562004", "laterality": "middle"}}, {"label": "x", "colour": 1},
                 {"label": 5}):
        response = api.client.post("/api/folders", headers=headers, json=body)
        assert response.status_code == 422, body
    folder = api.client.post("/api/folders", headers=headers, json={"label": "ok"}).json()
    assert api.client.patch(f"/api/folders/{folder['id']}", headers=headers, json={"label": None}).status_code == 422
    assert api.client.get("/api/folders", headers=headers).json()["items"] == [folder]


def test_if_match_protects_against_lost_updates(api):
    headers = api.patient()
    folder_id = steps.folder(api, headers, "one")
    etag = api.client.get(f"/api/folders/{folder_id}", headers=headers).headers["etag"]
    api.client.patch(f"/api/folders/{folder_id}", headers=headers, json={"label": "two"})
    stale = api.client.patch(f"/api/folders/{folder_id}", headers={**headers, "If-Match": etag}, json={"label": "three"})
    assert stale.status_code == 412
    assert api.client.get(f"/api/folders/{folder_id}", headers=headers).json()["label"] == "two"
