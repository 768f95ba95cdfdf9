"""`python -m bench profile`: where a view's time goes, sampled in the running bench server.

The bench server (bench/server.py, the real API on uvicorn) is loaded by one keep-alive client, as
sections 2 and 6 load it, while py-spy (requirements-dev.txt) samples every thread of it from
outside: the event loop and the thread pool alike, which cProfile inside the process would not see;
only samples of a thread holding the GIL count (`--gil`), so waiting is not mistaken for work.
For each load it prints the frames that hold the most samples on their own (self) and the frames
most often on the stack (inclusive), as percentages of the samples taken. Not part of the default
`make bench` run: it measures no ratio."""
from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from bench.__main__ import start_server
from bench.fixtures import jpeg_of_size
from tests.support import steps

SECONDS = 6
TOP = 12
_ROOTS = ("threading.py", "asyncio/", "<frozen", "uvicorn/main.py", "uvicorn/server.py", "uvicorn/_compat.py",
          "bench/server.py", "anyio/_backends/_asyncio.py:11")


def _pyspy() -> str | None:
    local = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return local if os.path.exists(local) else shutil.which("py-spy")


def _frame(raw: str) -> str:
    """`name (path:line)` -> `name (short/path:line)`, the repository's or a library's path."""
    name, _, where = raw.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


def _report(title: str, collapsed: str) -> None:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    print(f"   {title}: {total} samples")
    print("     self  frame")
    for frame, n in own.most_common(TOP):
        print(f"   {100 * n / total:5.1f}%  {frame}")
    print("     incl  frame (our code and the libraries in the request path)")
    shown = 0
    for frame, n in inclusive.most_common():
        if frame.split(" (")[-1].startswith(_ROOTS):  # the event loop, the pool's threads, the server
            continue
        print(f"   {100 * n / total:5.1f}%  {frame}")
        shown += 1
        if shown == TOP * 2:
            break


def _profile(server_pid: int, load) -> str:
    out = tempfile.NamedTemporaryFile(suffix=".txt", delete=False).name
    spy = subprocess.Popen([_pyspy(), "record", "--pid", str(server_pid), "--duration", str(SECONDS), "--rate", "250",
                            "--format", "raw", "--output", out, "--nonblocking", "--gil"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached
    stop = threading.Event()
    worker = threading.Thread(target=load, args=(stop,))
    worker.start()
    spy.wait(SECONDS + 30)
    stop.set()
    worker.join()
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    return text


def run() -> None:
    if _pyspy() is None:
        print("profile: py-spy is not installed (pip install -r requirements-dev.txt)")
        return
    server, client = start_server()
    try:
        scene = steps.Scene(steps.Client(client), purposes=("clinical_care",), image_data=jpeg_of_size(300_000))
        own = f"/api/images/{scene.image['id']}/content"
        theirs = scene.image_url()
        auth = scene.alice
        for i in range(20):
            steps.folder(scene.api, auth, f"folder {i}")

        def hammer(path, headers):
            def load(stop):
                while not stop.is_set():
                    assert client.get(path, headers=headers).status_code == 200

            return load

        print(f"profile: py-spy, {SECONDS} s of one keep-alive client per load, every thread of the bench server")
        for title, path, headers in (("patient's own image view", own, scene.alice),
                                     ("clinician's image view", theirs, scene.cal),
                                     ("GET /api/folders (20)", "/api/folders", auth)):
            for _ in range(50):  # warm-up
                client.get(path, headers=headers)
            _report(title, _profile(server.pid, hammer(path, headers)))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run()
