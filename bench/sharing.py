"""Section 6: what the clinician's gate costs. Clinician image views per second over the patient's
own views and over a bare endpoint serving the same bytes (one server), and store reads per view."""
from __future__ import annotations

from bench.__main__ import rate, start_server
from bench.fixtures import jpeg_of_size
from tests.support import steps


def run(seconds: float = 3.0) -> None:
    server, client = start_server()
    try:
        # A clinic with a clinician, and a patient's 300 KB image shared with it for clinical care.
        scene = steps.Scene(steps.Client(client), purposes=("clinical_care",), image_data=jpeg_of_size(300_000))
        patient, clinician = scene.alice, scene.cal
        own = f"/api/images/{scene.image['id']}/content"
        theirs = scene.image_url()
        client.post("/bare-image", content=client.get(own, headers=patient).content)
        bare = rate(client, "/bare-image", seconds=seconds)
        mine = rate(client, own, patient, seconds=seconds)
        before = client.get("/bench/reads").json()
        views = 200
        for _ in range(views):
            client.get(theirs, headers=clinician)
        after = client.get("/bench/reads").json()
        per_view = {k: (after.get(k, 0) - before.get(k, 0)) / views for k in ("point", "query")}
        clinicians = rate(client, theirs, clinician, seconds=seconds)
        print("6. image views (300 KB JPEG), one keep-alive client, same server")
        print(f"   bare endpoint, same bytes from memory   {bare:7.0f} /s   1.00x")
        print(f"   patient's own view (decrypt)            {mine:7.0f} /s   {mine / bare:5.2f}x")
        print(f"   clinician's view (gate, decrypt, audit) {clinicians:7.0f} /s   {clinicians / bare:5.2f}x"
              f"  ({clinicians / mine:4.2f}x the patient's)")
        print(f"   store reads per clinician view: {per_view['point']:.1f} point, {per_view['query']:.1f} query"
              "  (the access check itself: membership, clinic, grant, image)")
    finally:
        server.terminate()
        server.wait(10)
