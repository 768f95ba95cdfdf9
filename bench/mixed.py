"""Section 9: 16 concurrent clients, mixed, against the server `make run` starts (scripts/serve_local.py:
uvicorn, the embedded SQLite and file stores, the local trigger runner in background threads, the
default log level), in a fresh data directory.

The world: a clinic with 4 clinicians, and 12 patients, each with a folder holding one image and
shared with the clinic. Then 12 patient clients (direct uploads of a 100 KB JPEG, folder and image
lists, views of their own image, notes) and 4 clinician clients (the worklist, views through each
share, comments) each run their mix as fast as they can, on a keep-alive connection of their own,
for WARMUP seconds (not counted), then for SECONDS. Printed per operation: how many, throughput and
p99 latency; and every error: an answer other than the one expected, a connection failure, and any
"database is locked" (or any traceback) in the server's log."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict

import httpx

from bench.fixtures import jpeg_of_size
from tests.support import steps

CLIENTS_PATIENT, CLIENTS_CLINICIAN = 12, 4
WARMUP, SECONDS = 3.0, 15.0


def _serve(port: int, data_dir: str, log_path: str) -> subprocess.Popen:
    from bench.__main__ import PY, REPO

    env = {**os.environ, "PORT": str(port), "LOCAL_DATA_DIR": data_dir}
    env.pop("APP_MODE", None)
    log = open(log_path, "wb")
    return subprocess.Popen([PY, "-m", "scripts.serve_local"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def _world(base: str):
    client = httpx.Client(base_url=base, timeout=30)
    api = steps.Client(client)
    scene = steps.Scene(api, purposes=("clinical_care",), image_data=jpeg_of_size(100_000))
    clinicians = [scene.cal] + [steps.clinician(api, f"doc{i}", f"doc{i}@nhs.net", f"Dr {i}") for i in range(3)]
    for i in range(3):
        steps.add_member(api, scene.clinic_id, scene.ada, f"doc{i}@nhs.net")
    patients = []
    for i in range(CLIENTS_PATIENT):
        auth = scene.alice if i == 0 else api.patient(f"pat{i}", f"Patient {i}")
        if i == 0:
            folder, image, grant = scene.folder_id, scene.image, scene.grant
        else:
            folder = steps.folder(api, auth, f"folder {i}")
            image = steps.upload(api, auth, folder, jpeg_of_size(100_000, seed=i))
            grant = steps.shared(api, auth, folder, "newcastle-derm", purposes=("clinical_care",))
        patients.append({"auth": auth, "folder": folder, "image": image["id"], "grant": grant["id"]})
    client.close()
    return scene.clinic_id, clinicians, patients


def _patient_ops(p, upload_bytes):
    folder, image = p["folder"], p["image"]
    return [
        ("upload (100 KB JPEG)", "POST", f"/api/folders/{folder}/images", {"content": upload_bytes,
                                                                          "headers": {"content-type": "image/jpeg"}}, 201),
        ("list folders", "GET", "/api/folders", {}, 200),
        ("list images of a folder", "GET", f"/api/folders/{folder}/images", {}, 200),
        ("view own image", "GET", f"/api/images/{image}/content", {}, 200),
        ("view own thumbnail", "GET", f"/api/images/{image}/thumbnail", {}, 200),
        ("add a note", "POST", f"/api/folders/{folder}/comments", {"json": {"text": "a note"}}, 201),
        ("list comments", "GET", f"/api/folders/{folder}/comments", {}, 200),
    ]


def _clinician_ops(clinic_id, patients):
    ops = [("worklist", "GET", f"/api/clinics/{clinic_id}/shares", {}, 200)]
    for p in patients:
        share = f"/api/clinics/{clinic_id}/shares/{p['grant']}"
        ops += [("clinician: view image", "GET", f"{share}/images/{p['image']}/content", {}, 200),
                ("clinician: comment", "POST", f"{share}/comments", {"json": {"text": "seen"}}, 201)]
    return ops


def run() -> None:
    from bench.__main__ import _free_port

    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="bench-mixed-")
    log_path = os.path.join(data_dir, "server.log")
    server = _serve(port, os.path.join(data_dir, "data"), log_path)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/api/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        clinic_id, clinicians, patients = _world(base)
        upload_bytes = jpeg_of_size(100_000, seed=99)
        latencies: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, list[str]] = defaultdict(list)
        lock = threading.Lock()
        start_at = time.perf_counter() + 0.5
        count_from, stop_at = start_at + WARMUP, start_at + WARMUP + SECONDS

        def client_loop(auth, ops, seed):
            rng = random.Random(seed)
            with httpx.Client(base_url=base, timeout=60, headers=auth) as client:
                while time.perf_counter() < start_at:
                    time.sleep(0.01)
                while (now := time.perf_counter()) < stop_at:
                    name, method, path, kw, expected = rng.choice(ops)
                    try:
                        response = client.request(method, path, **kw)
                        status, text = response.status_code, response.text[:200] if response.status_code != expected else ""
                    except httpx.HTTPError as exc:
                        status, text = None, type(exc).__name__
                    took = time.perf_counter() - now
                    if now >= count_from:
                        with lock:
                            latencies[name].append(took)
                            if status != expected:
                                errors[name].append(f"{status} {text}")

        threads = [threading.Thread(target=client_loop, args=(p["auth"], _patient_ops(p, upload_bytes), i))
                   for i, p in enumerate(patients)]
        threads += [threading.Thread(target=client_loop, args=(c, _clinician_ops(clinic_id, patients), 100 + i))
                    for i, c in enumerate(clinicians)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(30)
    with open(log_path, errors="replace") as f:
        log = f.read()
    locked = log.count("database is locked")
    tracebacks = log.count("Traceback")
    total = sum(len(v) for v in latencies.values())
    print(f"9. mixed load: {CLIENTS_PATIENT} patient + {CLIENTS_CLINICIAN} clinician clients at once on `make run`'s server"
          f" ({SECONDS:.0f} s after {WARMUP:.0f} s warm-up)")
    print(f"   {'operation':<28} {'count':>6} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name in sorted(latencies):
        values = sorted(latencies[name])
        p50, p99 = values[len(values) // 2], values[min(len(values) - 1, int(0.99 * len(values)))]
        print(f"   {name:<28} {len(values):6d} {len(values) / SECONDS:7.1f} {p50 * 1000:8.1f} {p99 * 1000:8.1f}"
              f" {len(errors[name]):7d}")
    print(f"   all: {total / SECONDS:.0f} requests/s; errors {sum(len(v) for v in errors.values())}; "
          f"'database is locked' in the server log {locked}; tracebacks {tracebacks}")
    for name, found in errors.items():
        for error in found[:3]:
            print(f"   error: {name}: {error}")


if __name__ == "__main__":
    sys.exit(run())
