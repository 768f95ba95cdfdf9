"""Section 6: image views. The patient's own view and the clinician's (through a share: the access
gate, decryption, the audit entry) of a 300 KB JPEG, against a bare endpoint serving the same bytes
from memory on the same server, measured as bench/measure.py says; and the store reads one
clinician view costs. Beside them, the same bytes through FastAPI and the app's middleware with
nothing else: the floor the framework sets for any route."""
from __future__ import annotations

from bench.fixtures import jpeg_of_size
from bench.measure import compare, header, line
from tests.support import steps

BARE = "bare endpoint, same bytes from memory"
FRAMEWORK = "same bytes through FastAPI + middleware"
OWN = "patient's own view (account, decrypt)"
THEIRS = "clinician's view (gate, decrypt, audit)"
OWN_WORK = "patient's view, its work alone (no framework)"
THEIRS_WORK = "clinician's view, its work alone (no framework)"


def run() -> None:
    from bench.__main__ import start_server

    server, client = start_server()
    try:
        # A clinic with a clinician, and a patient's 300 KB image shared with it for clinical care.
        scene = steps.Scene(steps.Client(client), purposes=("clinical_care",), image_data=jpeg_of_size(300_000))
        own = f"/api/images/{scene.image['id']}/content"
        theirs = scene.image_url()
        served = client.get(own, headers=scene.alice).content
        client.post("/bare-bytes/image", content=served, headers={"content-type": "image/jpeg"})
        for path, caller in ((own, scene.alice), (theirs, scene.cal)):
            assert client.get("/bench/work" + path, headers=caller).content == served
        before = client.get("/bench/reads").json()
        views = 200
        for _ in range(views):
            assert client.get(theirs, headers=scene.cal).status_code == 200
        after = client.get("/bench/reads").json()
        per_view = {k: (after.get(k, 0) - before.get(k, 0)) / views for k in ("point", "query")}
        results = compare(client, {BARE: ("/bare-bytes/image", None), FRAMEWORK: ("/bench/framework-bytes/image", None),
                                   OWN: (own, scene.alice), THEIRS: (theirs, scene.cal),
                                   OWN_WORK: ("/bench/work" + own, scene.alice),
                                   THEIRS_WORK: ("/bench/work" + theirs, scene.cal)}, baseline=BARE, pid=server.pid)
        print("6. image views (300 KB JPEG), one keep-alive client, same server")
        print(header(cpu=True))
        for name in (BARE, FRAMEWORK, OWN, THEIRS, OWN_WORK, THEIRS_WORK):
            print(line(name, results[name]))
        print(f"   store reads per clinician view: {per_view['point']:.1f} point, {per_view['query']:.1f} query"
              "  (the access check itself: membership, clinic, grant, image)")
    finally:
        server.terminate()
        server.wait(10)
