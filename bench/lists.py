"""Section 2: the list endpoints at a page of 50, each against a bare endpoint serving the very same
bytes from memory on the same server (bench/server.py), measured as bench/measure.py says.

The world: a clinic with a clinician, and a patient with 50 folders, each shared with the clinic
(the worklist: 50 grants), one folder holding 50 images and 50 comments (25 the patient's notes, 25
the clinician's), and 50 clinician views of it (the access log). Each list is read with `limit=50`
and must be a full page."""
from __future__ import annotations

from bench.fixtures import jpeg_of_size
from bench.measure import compare, header, line
from tests.support import steps

PAGE = 50
FRAMEWORK = "folder page's bytes, FastAPI + middleware"
WORK = "folder page, its work alone (no framework)"


def build(client) -> tuple[dict[str, tuple[str, dict]], steps.Scene]:
    api = steps.Client(client)
    scene = steps.Scene(api, purposes=("clinical_care",), image_data=jpeg_of_size(20_000))
    alice, cal = scene.alice, scene.cal
    for i in range(PAGE - 1):
        folder = steps.folder(api, alice, f"folder {i}")
        steps.shared(api, alice, folder, "newcastle-derm", purposes=("clinical_care",))
    for i in range(PAGE - 1):
        steps.upload(api, alice, scene.folder_id, jpeg_of_size(5_000, seed=i + 2), seed=i)
    comments = f"/api/folders/{scene.folder_id}/comments"
    for i in range(PAGE // 2):
        assert client.post(comments, headers=alice, json={"text": f"note {i}"}).status_code == 201
        response = client.post(scene.url("/comments"), headers=cal, json={"text": f"comment {i}"})
        assert response.status_code == 201, response.text
    for _ in range(PAGE):
        assert client.get(scene.image_url("thumbnail"), headers=cal).status_code == 200
    lists = {
        "GET /api/folders": ("/api/folders", alice),
        "GET /api/folders/{id}/images": (f"/api/folders/{scene.folder_id}/images", alice),
        "GET /api/clinics/{id}/shares (worklist)": (f"/api/clinics/{scene.clinic_id}/shares", cal),
        "GET /api/folders/{id}/comments": (comments, alice),
        "GET /api/me/access-log": ("/api/me/access-log", alice),
    }
    targets = {}
    for name, (path, headers) in lists.items():
        path = f"{path}?limit={PAGE}"
        response = client.get(path, headers=headers)
        assert response.status_code == 200 and len(response.json()["items"]) == PAGE, (name, response.text[:300])
        bare = f"/bare-bytes/list{len(targets)}"
        client.post(bare, content=response.content, headers={"content-type": response.headers["content-type"]})
        targets[name] = (path, headers)
        targets[f"bare: {name}"] = (bare, None)
    # The framework's floor (bench/server.py): the folder page's bytes through FastAPI and the app's
    # middleware, nothing else.
    targets[FRAMEWORK] = ("/bench/framework-bytes/list0", None)
    # And the folder page's own work with no framework at all (bench/server.py `work_alone`): the same
    # bytes, so the best any framework could do for this route on this server.
    folders, alice = lists["GET /api/folders"]
    work = f"/bench/work{folders}?limit={PAGE}"
    assert client.get(work, headers=alice).content == client.get(f"{folders}?limit={PAGE}", headers=alice).content
    targets[WORK] = (work, alice)
    return targets, scene


def run() -> None:
    from bench.__main__ import start_server

    server, client = start_server()
    try:
        targets, _ = build(client)
        baselines = {name: f"bare: {name}" for name in targets if not name.startswith("bare: ")}
        baselines[FRAMEWORK] = baselines[WORK] = "bare: GET /api/folders"
        results = compare(client, targets, baseline=baselines, pid=server.pid)
        print(f"2. lists, a page of {PAGE}, one keep-alive client; each against a bare endpoint serving the same bytes")
        print(header(width=42, cpu=True))
        for name in targets:
            if name.startswith("bare: "):
                continue
            print(line(name, results[name], width=42))
        print("   (the access log writes an audit entry per read: reading it is itself recorded; the last two lines are"
              " the folder page's bytes through FastAPI + middleware, nothing else, and the folder page's work with"
              " no framework)")
    finally:
        server.terminate()
        server.wait(10)

