"""Section 4: peak memory (issue 12 point 4).

In a fresh process, through the ingest service: one 40 MB upload, and a hostile 95 KB PNG whose
7000x7000 16-bit pixels would take 98 MB (refused before decoding). The JPEG is made in another
process and arrives on stdin; before each upload the kernel's peak-RSS mark is reset (Linux:
/proc/self/clear_refs), so what is reported is the upload's own peak over the memory in use just
before it (the body, held once).

Then on the bench server (bench/server.py), over HTTP, the server's peak RSS over its RSS just before
(its mark reset the same way), each figure on a server of its own: one 39 MiB and one 8 MiB upload
alone, then 16 concurrent 8 MiB uploads, each on its own connection, twice, with
MAX_CONCURRENT_UPLOADS at its default and at 16 (as good as none). The bound: the limit times one
upload's peak (shared_code/images/admission.py). The stated figure for the service is the limit
times the peak of the largest upload allowed, checked with 16 concurrent uploads of that size.

glibc's malloc raises its mmap threshold (up to 32 MiB) after a large buffer is freed, so buffers of
smaller uploads then come from the heap, which keeps what it freed: concurrent 8 MiB uploads peak
above the limit times one upload's peak (measured: ~1.45x; ~1.0x with MALLOC_MMAP_THRESHOLD_=131072
in the server's environment). Uploads over 32 MiB are always mapped and given back when freed."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter

from bench.fixtures import jpeg_of_size, local_container

SIZE = 38 * 1024 * 1024  # the JPEG comes out near 40 MiB, within the default MAX_UPLOAD_BYTES
CONCURRENT, CONCURRENT_SIZE = 16, 8 * 1024 * 1024
# The largest upload the bench server takes (its MAX_UPLOAD_BYTES is the default, 40 MiB).
SERVER_LARGE_SIZE = 37 * 1024 * 1024
MiB = 1 << 20


def _kib(field: str, pid: str = "self") -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak(pid: str = "self") -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to the current RSS


def _peak_growth(upload) -> tuple[object, float]:
    _reset_peak()
    before = _kib("VmRSS")
    outcome = upload()
    return outcome, (_kib("VmHWM") - before) / 1024


def in_process() -> None:
    from shared_code.errors import DomainError
    from tests.imaging.test_memory import grey16_png

    data = subprocess.run([sys.executable, "-m", "bench.rss", "make"], capture_output=True, check=True).stdout
    bomb = grey16_png(7000, 7000)
    container, pid, folder = local_container()
    container.ingest.upload(pid, folder, jpeg_of_size(100_000), taken_at=None, note=None, view=None)  # warm up

    def upload(body):
        def run():
            try:
                return container.ingest.upload(pid, folder, body, taken_at=None, note=None, view=None).status.value
            except DomainError as exc:
                return f"refused: {type(exc).__name__} {getattr(exc, 'reason', '')}".strip()

        return run

    _, growth = _peak_growth(upload(data))
    mb = len(data) / MiB
    print(f"   one {mb:.0f} MiB upload: peak RSS +{growth:.0f} MiB over the RSS just before it"
          f" ({growth / mb:.2f}x the upload; target <= 1.5x; the body itself was already in memory)")
    outcome, growth = _peak_growth(upload(bomb))
    print(f"   a {len(bomb) / 1024:.0f} KiB PNG of 7000x7000 16-bit pixels (98 MiB decoded): {outcome};"
          f" peak RSS +{growth:.1f} MiB (target <= 64 MiB)")


class _Server:
    """A fresh bench server (MAX_CONCURRENT_UPLOADS=`limit`; None: the default), warmed up with one
    upload of `warm_up`, whose peak RSS over its RSS just before a run is measured. A client refused 503 sends
    again after Retry-After, as the app does; `answers` counts every answer."""

    def __init__(self, limit: int | None, warm_up: bytes):
        from bench.__main__ import start_server
        from tests.support import steps

        if limit is not None:
            os.environ["MAX_CONCURRENT_UPLOADS"] = str(limit)
        try:
            self.process, self.client = start_server()
        finally:
            os.environ.pop("MAX_CONCURRENT_UPLOADS", None)
        api = steps.Client(self.client)
        self.auth = api.patient("bench", "Bench")
        self.folder = steps.folder(api, self.auth, "uploads")
        self.pid = str(self.process.pid)
        self.answers: Counter = Counter()
        self.post(warm_up)  # every code path and buffer pool once
        self.answers.clear()

    def post(self, data: bytes) -> None:
        import httpx

        with httpx.Client(base_url=self.client.base_url, timeout=120) as own:
            for _ in range(20):
                try:
                    answer = own.post(f"/api/folders/{self.folder}/images", content=data,
                                      headers={**self.auth, "content-type": "image/jpeg"})
                except httpx.TransportError:  # refused before its body was read, and the connection closed
                    self.answers["closed"] += 1
                    time.sleep(1)
                    continue
                self.answers[answer.status_code] += 1
                if answer.status_code != 503:
                    return
                time.sleep(float(answer.headers.get("retry-after", "1")))

    def peak_of(self, run) -> float:
        """MiB: the server's peak RSS during `run()` over its RSS just before."""
        before = _kib("VmRSS", self.pid)
        _reset_peak(self.pid)
        run()
        return (_kib("VmHWM", self.pid) - before) / 1024

    def together(self, data: bytes, rounds: int = 2) -> None:
        for _ in range(rounds):
            threads = [threading.Thread(target=self.post, args=(data,)) for _ in range(CONCURRENT)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _on_a_fresh_server(limit: int | None, run) -> tuple[float, float, dict]:
    """`run(server)` on a server of its own, warmed up with a small upload only (a large warm-up
    would leave freed memory for the measured upload to reuse, hiding part of its peak): the
    server's idle RSS, its peak over that, and the answers."""
    server = _Server(limit, jpeg_of_size(100_000, seed=11))
    try:
        idle = _kib("VmRSS", server.pid) / 1024
        peak = server.peak_of(lambda: run(server))
        return idle, peak, dict(sorted(server.answers.items(), key=str))
    finally:
        server.stop()


def concurrent() -> None:
    from shared_code.settings import Settings

    limit = Settings.model_fields["max_concurrent_uploads"].default
    large = jpeg_of_size(SERVER_LARGE_SIZE, seed=3)
    assert len(large) <= Settings.model_fields["max_upload_bytes"].default, "the bench server would refuse it"
    small = jpeg_of_size(CONCURRENT_SIZE, seed=7)
    mb, large_mb = len(small) / MiB, len(large) / MiB
    flight = CONCURRENT * mb
    _, one_large, _ = _on_a_fresh_server(None, lambda server: server.post(large))
    _, one, _ = _on_a_fresh_server(None, lambda server: server.post(small))
    print(f"   one upload alone, the bench server's peak over idle (body included): {large_mb:.0f} MiB +{one_large:.0f} MiB,"
          f" {mb:.0f} MiB +{one:.0f} MiB")
    for label, setting in ((f"MAX_CONCURRENT_UPLOADS={limit} (the default)", None),
                           (f"MAX_CONCURRENT_UPLOADS={CONCURRENT} (as good as no limit)", CONCURRENT)):
        idle, peak, answers = _on_a_fresh_server(setting, lambda server: server.together(small))
        admitted = limit if setting is None else setting
        bound = admitted * one
        print(f"   {CONCURRENT} concurrent {mb:.0f} MiB uploads (twice), {label}: idle {idle:.0f} MiB,"
              f" peak +{peak:.0f} MiB ({peak / flight:.2f}x the {flight:.0f} MiB sent); bound {admitted} x one"
              f" {mb:.0f} MiB upload's peak = {bound:.0f} MiB, peak/bound {peak / bound:.2f}; answers {answers}")
    # The largest upload allowed is MAX_UPLOAD_BYTES; its peak, from the near-largest one's (peaks
    # grow with the size: the body, its sanitised copy, the ciphertext).
    max_mb = Settings.model_fields["max_upload_bytes"].default / MiB
    per_upload = one_large * max_mb / large_mb
    stated = limit * per_upload
    idle, peak, answers = _on_a_fresh_server(None, lambda server: server.together(large, rounds=1))
    print(f"   stated figure: at most {limit} uploads processed at once, each at most the peak of a {max_mb:.0f} MiB"
          f" upload (+{per_upload:.0f} MiB, from the {large_mb:.1f} MiB one's +{one_large:.0f}): {limit} x"
          f" {per_upload:.0f} = {stated:.0f} MiB over idle, however many arrive; {CONCURRENT} concurrent"
          f" {large_mb:.0f} MiB uploads: peak +{peak:.0f} MiB, {peak / stated:.2f}x the figure; answers {answers}")


def main() -> None:
    if sys.argv[1:] == ["make"]:
        sys.stdout.buffer.write(jpeg_of_size(SIZE))
        return
    in_process()


if __name__ == "__main__":
    sys.exit(main())
