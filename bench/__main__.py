"""`make bench`: speed and memory as ratios against baselines measured in the same run.

Nothing here asserts a time: it prints. Sections:
  1. cold import of function_app  vs  bare `import azure.functions` (+ the SDKs a naive app imports)
  2. the list endpoints at a page of 50 (folders, images of a folder, the clinic worklist, comments,
     the access log), each vs a bare endpoint serving the same bytes on the same uvicorn server; the
     folder page's bytes through FastAPI alone (the framework's floor) and the folder page's own work
     with no framework (the ceiling any framework could reach: bench/server.py `work_alone`)
  3. image ingest MB/s (1, 8, 40 MB)  vs  a Pillow decode + AES-GCM + durable file write of the same
     bytes (the issue's baseline), with raw AES-GCM and azure-storage-blob's client-side encryption v2
     (a peer) beside it; medians of interleaved rounds with the spread
  4. peak RSS of one 40 MB upload over its size, of a 95 KB PNG that would decode to 98 MB, and of the
     server under 16 concurrent 8 MB uploads
  5. Key Vault unwraps per 1,000 image views spread over 10 patients
  6. clinician image views per second vs the patient's own and vs a bare endpoint serving the same
     bytes, with the framework's floor and each view's work alone beside them, as in 2; store reads
     per access check (when the sharing area is present)
  7. scale: one page of 50 of the clinic worklist, the folder list and the referral worklist (all,
     and awaiting review), one run of the reminder timer's query and of the referral clock's, with 100
     vs 100,000 records in the partition (+100,000 in other partitions)
  8. image views with telemetry on (console exporters to /dev/null) vs off (bench/tracing.py)
  9. 16 concurrent clients, mixed (uploads, lists, views, comments), on the server `make run` starts:
     throughput, p99 and errors per operation

Ratios of sections 2 and 6 are medians of interleaved rounds with the spread across rounds, and p99
latencies beside them (bench/measure.py).

`python -m bench [section ...]` runs only the named sections (import, requests, ingest, rss,
unwraps, sharing, scale, tracing, mixed); `scale --cosmos` adds a small-N run on cosmosdb-server. `python -m bench
profile` (not in the default run) samples the bench server with py-spy under a patient's and a
clinician's image view and the folder list, and prints the top frames (bench/profile.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


IMPORT_RUNS = 5


def _import_seconds(code: str, runs: int = IMPORT_RUNS) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run([PY, "-c", f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"],
                             cwd=REPO, capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return _median(times)


def bench_import() -> None:
    bare = _import_seconds("import azure.functions")
    sdks = _import_seconds("import azure.functions, azure.storage.blob, azure.storage.queue, azure.cosmos, "
                           "azure.keyvault.keys, azure.identity, fastapi, jwt")
    ours = _import_seconds("import function_app")
    print(f"1. cold import (median of {IMPORT_RUNS} fresh interpreters)")
    print(f"   import azure.functions                        {bare * 1000:8.0f} ms   1.00x")
    print(f"   + Azure SDKs, FastAPI, PyJWT (a naive app)    {sdks * 1000:8.0f} ms   {sdks / bare:5.2f}x")
    print(f"   import function_app (SDKs lazy)               {ours * 1000:8.0f} ms   {ours / bare:5.2f}x"
          f"  ({ours / sdks:4.2f}x the naive app)")


def start_server():
    """The benchmark server (bench/server.py) on a free port; returns (process, client)."""
    import httpx

    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="bench-")
    server = subprocess.Popen([PY, "-m", "bench.server", str(port), data_dir], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    for _ in range(200):
        try:
            client.get("/bare")
            return server, client
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("bench server did not start")


def bench_requests() -> None:
    from bench import lists

    lists.run()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


INGEST_ROUNDS = 5


def bench_ingest() -> None:
    import statistics

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from bench.fixtures import jpeg_of_size, local_container
    from shared_code.crypto import ObjectContext, encrypt_object

    container, pid, folder = local_container()
    data_dir = container.settings.local_data_dir
    print("3. ingest throughput (direct upload: decode-verify, strip metadata, thumbnail, encrypt, store)")
    print("   baseline: Pillow decode (load) + AES-GCM + write (fsync, rename) of the same bytes in the same data dir,"
          " at full size and (draft) at the reduced scale ours decodes a JPEG at;")
    print(f"   median of {INGEST_ROUNDS} interleaved rounds after a warm-up [lowest-highest round]")
    print(f"   {'size':>6} {'ours MB/s':>10} {'baseline MB/s':>14} {'ours/baseline':>22} {'ours/draft baseline':>22}"
          f" {'raw AES-GCM':>12} {'ratio':>7} {'CSE v2 (SDK)':>13} {'ratio':>7} {'encrypt only':>13}")
    for mb in (1, 8, 40):
        data = jpeg_of_size(mb * 1024 * 1024)
        size = len(data) / 1e6
        key, nonce, dek = AESGCM.generate_key(bit_length=256), os.urandom(12), os.urandom(32)
        runs = {
            "ours": lambda: container.ingest.upload(pid, folder, data, taken_at=None, note=None, view=None),
            "baseline": lambda: _decode_encrypt_write(data, key, data_dir),
            "draft": lambda: _decode_encrypt_write(data, key, data_dir, draft=True),
            "raw": lambda: AESGCM(key).encrypt(nonce, data, None),
            "cse": lambda: _cse_v2(data),
            "enc": lambda: sum(map(len, encrypt_object(dek, ObjectContext(pid, "i_x", "original"), [data]))),
        }
        times = _interleaved(runs, INGEST_ROUNDS)
        med = {name: statistics.median(t) for name, t in times.items()}
        spread = {}
        for base in ("baseline", "draft"):
            ratios = [b / o for o, b in zip(times["ours"], times[base])]  # throughput ratio, per round
            spread[base] = f"{statistics.median(ratios):5.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]"
        print(f"   {mb:>4}MB {size / med['ours']:10.0f} {size / med['baseline']:14.0f} {spread['baseline']:>22}"
              f" {spread['draft']:>22}"
              f" {size / med['raw']:12.0f} {med['raw'] / med['ours']:6.2f}x {size / med['cse']:13.0f}"
              f" {med['cse'] / med['ours']:6.2f}x {size / med['enc']:13.0f}")
    print("   (ratio = ours / baseline throughput. Ours also strips metadata, makes and encrypts a thumbnail and writes")
    print("    the metadata document; it decodes a JPEG in libjpeg's draft mode (every scan, at the thumbnail's scale),")
    print("    hence the draft baseline beside the full-size one; raw AES-GCM alone is kept for reference)")


def _decode_encrypt_write(data: bytes, key: bytes, data_dir: Path, draft: bool = False) -> None:
    """The issue's baseline: decode the JPEG, AES-GCM the bytes, write them durably (as the file store
    does). `draft`: decode at the reduced scale ingest asks libjpeg for (shared_code/imaging/process.py)."""
    import io

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from PIL import Image

    from shared_code.imaging.thumbnail import draft_size

    with Image.open(io.BytesIO(data)) as image:
        if draft:
            image.draft("RGB", draft_size(*image.size))
        image.load()
    sealed = AESGCM(key).encrypt(os.urandom(12), data, None)
    path = Path(data_dir) / "bench-baseline.bin"
    tmp = path.with_suffix(".partial")
    with open(tmp, "wb") as out:
        out.write(sealed)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _interleaved(runs: dict, rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each run, `rounds` times, the runs interleaved (rotated each round) so the
    machine's load moves them all alike; one warm-up call each first, not counted."""
    for fn in runs.values():
        fn()
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            started = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - started)
    return times


def _cse_v2(data: bytes) -> None:
    from azure.storage.blob._encryption import _ENCRYPTION_PROTOCOL_V2, encrypt_blob
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap

    class Kek:
        key = os.urandom(32)

        def wrap_key(self, k):
            return aes_key_wrap(self.key, k)

        def get_key_wrap_algorithm(self):
            return "A256KW"

        def get_kid(self):
            return "bench-kek"

    encrypt_blob(data, Kek(), _ENCRYPTION_PROTOCOL_V2)


def bench_rss() -> None:
    from bench import rss

    out = subprocess.run([PY, "-m", "bench.rss"], cwd=REPO, capture_output=True, text=True, check=True)
    print("4. peak memory")
    print(out.stdout.rstrip())
    rss.concurrent()


def bench_unwraps() -> None:
    from bench.fixtures import CountingKeys, jpeg_of_size, local_container

    container, _, _ = local_container(keys_wrapper=CountingKeys)
    images = []
    for i in range(10):
        pid, folder = _patient(container, f"p{i}")
        doc = container.ingest.upload(pid, folder, jpeg_of_size(200_000, seed=i), taken_at=None, note=None, view=None)
        images.append((pid, doc))
    container.patient_keys.cache.clear()
    container.adapters.keys.unwraps = 0
    for n in range(1000):
        pid, doc = images[n % 10]
        for _ in container.images.open(pid, doc, "thumbnail").chunks:
            pass
    print(f"5. Key Vault unwraps per 1,000 image views over 10 patients: {container.adapters.keys.unwraps}"
          f"  (patient-key cache TTL {container.settings.patient_key_cache_seconds} s)")


def _patient(container, subject):
    from bench.fixtures import make_patient

    return make_patient(container, subject)


def bench_sharing() -> None:
    try:
        from bench import sharing
    except ImportError:
        sharing = None
    if sharing is not None:
        sharing.run()


def bench_scale() -> None:
    from bench import scale

    scale.run(cosmos="--cosmos" in sys.argv)


def bench_mixed() -> None:
    from bench import mixed

    mixed.run()


def bench_tracing() -> None:
    from bench import tracing

    tracing.run()


SECTIONS = {"import": bench_import, "requests": bench_requests, "ingest": bench_ingest, "rss": bench_rss,
            "unwraps": bench_unwraps, "sharing": bench_sharing, "scale": bench_scale, "tracing": bench_tracing}
SECTIONS["mixed"] = bench_mixed  # section 9, after the others: it starts a server of its own


def bench_profile() -> None:
    from bench import profile

    profile.run()


ON_REQUEST = {"profile": bench_profile}  # run only when named


def main() -> int:
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)
    chosen = [a for a in sys.argv[1:] if not a.startswith("--")]
    unknown = [a for a in chosen if a not in SECTIONS and a not in ON_REQUEST]
    if unknown:
        print(f"unknown section(s) {unknown}; choose from {list(SECTIONS) + list(ON_REQUEST)}", file=sys.stderr)
        return 2
    for name, section in SECTIONS.items():
        if not chosen or name in chosen:
            section()
    for name, section in ON_REQUEST.items():
        if name in chosen:
            section()
    return 0


if __name__ == "__main__":
    sys.exit(main())
