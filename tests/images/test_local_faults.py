"""Faults of the embedded (local) backends, where they exist only there: `make run` killed during an
upload and started again, a full disk, a data directory read-only for a moment or at start, the
`.part` files a killed write leaves, and who may read the files under LOCAL_DATA_DIR.

The crash tests run the real `make run` (scripts/serve_local.py) in a subprocess and kill it with
`os._exit` at the step (a hook installed by a small launcher, as a SIGKILL there would), then start
it again on the same data. The disk filling is an injected OSError(ENOSPC); a read-only SQLite file
is what SQLite does with a file it may not write (it opens it read-only), injected by opening the
connection `mode=ro` (the tests run as root, whom chmod does not stop)."""
from __future__ import annotations

import errno
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from shared_code.adapters.factory import build_adapters
from shared_code.adapters.local import sqlite_util
from shared_code.adapters.local.sqlite_documents import SqliteDocumentStore
from shared_code.adapters.local.sqlite_queue import SqliteQueue
from shared_code.container import Container
from shared_code.errors import StorageUnavailable
from shared_code.settings import INCOMING_CONTAINER, Settings
from tests.images.photos import phone_jpeg
from tests.support import steps
from tests.support.app import make_api
from tests.support.backends import local_family
from tests.support.emulators import free_port

REPO = Path(__file__).resolve().parents[2]

_LAUNCHER = """
import os, sys
sys.path.insert(0, {repo!r})
at = os.environ["TEST_KILL_AT"]
if at == "receiving":  # the PUT's bytes never reach the store: the client gets no answer
    from shared_code.adapters.local.spool import SpoolingBlobStore
    put = SpoolingBlobStore.put
    def dying_put(self, container, name, chunks, **kw):
        if container == "incoming":
            os._exit(137)
        return put(self, container, name, chunks, **kw)
    SpoolingBlobStore.put = dying_put
elif at == "storing":  # the bytes are sealed in `incoming` and claimed; the process dies storing them
    from shared_code.images.objects import ImageObjects
    def dying_store(self, *args, **kwargs):
        os._exit(137)
    ImageObjects.store = dying_store
from scripts.serve_local import main
sys.exit(main())
"""


class Service:
    """`make run` on a data directory and a port, started, killed and started again."""

    def __init__(self, tmp_path: Path):
        self.data = tmp_path / "data"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.launcher = tmp_path / "launch.py"
        self.launcher.write_text(_LAUNCHER.format(repo=str(REPO)))
        self.log = tmp_path / "serve.log"
        self.proc: subprocess.Popen | None = None

    def start(self, kill_at: str | None = None) -> steps.Client:
        env = {**os.environ, "APP_MODE": "local", "LOCAL_DATA_DIR": str(self.data), "PORT": str(self.port),
               "PUBLIC_BASE_URL": self.base}
        args = [sys.executable, "-m", "scripts.serve_local"]
        if kill_at:
            env["TEST_KILL_AT"] = kill_at
            args = [sys.executable, str(self.launcher)]
        self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        client = httpx.Client(base_url=self.base, timeout=30)
        for _ in range(600):
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if client.get("/api/health").status_code == 200:
                    return steps.Client(client)
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"make run did not answer: {self.log.read_text()}")

    def died(self) -> int:
        return self.proc.wait(30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture
def service(tmp_path):
    running = Service(tmp_path)
    yield running
    running.stop()


def _status_after_start(api: steps.Client, headers, image_id: str) -> str:
    """The image's status once the start-up re-drive has had its turn (it runs in the background)."""
    status = ""
    for _ in range(200):
        status = api.client.get(f"/api/images/{image_id}", headers=headers).json()["status"]
        if status != "pending":
            return status
        time.sleep(0.05)
    return status


def test_make_run_killed_while_storing_an_upload_finishes_it_when_started_again(service):
    api = service.start(kill_at="storing")
    headers = api.patient()
    folder = steps.folder(api, headers)
    ticket = steps.upload_ticket(api, headers, folder)
    with pytest.raises(httpx.TransportError):  # killed mid-request: the client never hears back
        api.client.put(ticket["uploadUrl"], content=phone_jpeg())
    assert service.died() == 137

    api = service.start()
    headers = api.patient()
    assert _status_after_start(api, headers, ticket["imageId"]) == "ready"  # was: pending for ever
    assert api.client.get(f"/api/folders/{folder}", headers=headers).json()["imageCount"] == 1
    content = api.client.get(f"/api/images/{ticket['imageId']}/content", headers=headers)
    assert content.status_code == 200 and content.content[:2] == b"\xff\xd8"


def test_a_put_never_acknowledged_because_make_run_died_can_be_sent_again(service):
    api = service.start(kill_at="receiving")
    headers = api.patient()
    folder = steps.folder(api, headers)
    ticket = steps.upload_ticket(api, headers, folder)
    with pytest.raises(httpx.TransportError):
        api.client.put(ticket["uploadUrl"], content=phone_jpeg())
    assert service.died() == 137

    api = service.start()
    headers = api.patient()
    again = api.client.put(ticket["uploadUrl"], content=phone_jpeg())
    assert again.status_code == 201, again.text
    image = api.client.get(f"/api/images/{ticket['imageId']}", headers=headers).json()
    assert image["status"] == "ready"


def _local_container(data: Path) -> Container:
    settings = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(data), PUBLIC_BASE_URL="http://testserver")
    return Container(settings, build_adapters(settings))


def test_bytes_waiting_in_incoming_are_sealed_and_still_readable_after_a_restart(tmp_path):
    from shared_code.accounts.schemas import AccountIn
    from shared_code.folders.schemas import FolderIn

    first = _local_container(tmp_path / "data")
    patient_id = "p_" + "a" * 32
    first.accounts.put(patient_id, AccountIn(displayName="Alice"))
    folder = first.folders.create(patient_id, FolderIn(label="rash")).id
    ticket = first.ingest.start_upload(patient_id, folder, taken_at=None, note=None, view=None)
    blob = f"{patient_id}/{ticket['imageId']}"
    photo = phone_jpeg()
    first.adapters.blobs.put(INCOMING_CONTAINER, blob, [photo])  # received; the process dies here
    on_disk = b"".join(p.read_bytes() for p in (tmp_path / "data" / "blobs" / INCOMING_CONTAINER).iterdir())
    assert photo[100:164] not in on_disk  # nothing plaintext at rest

    restarted = _local_container(tmp_path / "data")  # a new process: a new spool store, same files
    assert restarted.upload_redrive.recover() == {"ready": 1}  # was: unreadable, pending for ever
    assert restarted.image_repository.find(patient_id, ticket["imageId"]).ready


# --- leftovers --------------------------------------------------------------------------------------
def test_part_files_of_killed_writes_are_swept_once_old_enough(tmp_path):
    container = _local_container(tmp_path / "data")
    blobs_dir = tmp_path / "data" / "blobs" / "images"
    blobs_dir.mkdir(parents=True)
    old = blobs_dir / ".p_x~i_y~o_z~original.0123abcd.part"  # what a write killed half-way leaves
    young = blobs_dir / ".p_x~i_y~o_z~thumbnail.4567ef01.part"  # a write still under way
    old.write_bytes(b"half a ciphertext")
    young.write_bytes(b"a write in progress")
    long_ago = time.time() - container.settings.leftover_sweep_minutes * 60 - 5
    os.utime(old, (long_ago, long_ago))
    assert container.upload_redrive.sweep_leftovers() == {"objects": 0, "partials": 1}
    assert not old.exists() and young.exists()
    assert container.upload_redrive.sweep_leftovers() == {"objects": 0, "partials": 0}


# --- a full disk ------------------------------------------------------------------------------------
def test_a_full_disk_answers_507_naming_the_storage_and_the_deep_check_reports_it(tmp_path, monkeypatch):
    api = make_api(local_family(tmp_path / "family"), tmp_path / "data")
    headers = api.patient()
    admin = steps.admin(api)
    folder = steps.folder(api, headers)
    fsync = os.fsync

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    refused = steps.post_image(api, headers, folder, phone_jpeg())
    assert refused.status_code == 507, refused.text  # was: 500 internal-error
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert steps.problem_type(refused) == "storage-full" and refused.json()["storage"] == "blobs"
    assert int(refused.headers["retry-after"]) > 0
    deep = api.client.get("/api/health", params={"deep": 1}, headers=admin)
    assert deep.status_code == 503 and deep.json()["checks"]["blobs"]["status"] == "failing (StorageFull)"

    monkeypatch.setattr(os, "fsync", fsync)  # space again
    assert steps.post_image(api, headers, folder, phone_jpeg()).status_code == 201
    assert api.client.get("/api/health", params={"deep": 1}, headers=admin).status_code == 200
    listed = api.client.get(f"/api/folders/{folder}/images", headers=headers).json()["items"]
    assert len(listed) == 1  # the refused upload left nothing


# --- a read-only moment -------------------------------------------------------------------------------
@pytest.mark.parametrize("store", ["documents", "queue"])
def test_a_connection_opened_while_the_file_was_read_only_is_not_kept(tmp_path, monkeypatch, store):
    path = tmp_path / f"{store}.sqlite3"
    opened = SqliteDocumentStore(path) if store == "documents" else SqliteQueue(path)
    connect = sqlite3.connect
    read_only = threading.Event()

    def connect_as_sqlite_would(database, *args, **kwargs):
        if read_only.is_set():  # SQLite opens a file it may not write read-only, and keeps it so
            return connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)
        return connect(database, *args, **kwargs)

    monkeypatch.setattr(sqlite_util.sqlite3, "connect", connect_as_sqlite_would)

    def write(n: int) -> None:
        if store == "documents":
            opened.upsert("patients", "p_1", {"id": f"d{n}"})
        else:
            opened.send("notifications", f"message {n}")

    outcomes: list[str] = []

    def worker() -> None:  # one thread, as a trigger's: its connection is opened in the moment
        read_only.set()
        try:
            write(1)
            outcomes.append("written")
        except StorageUnavailable as exc:
            outcomes.append(f"refused {exc.extensions['storage']}")
        except sqlite3.OperationalError:
            outcomes.append("refused raw")
        read_only.clear()  # the moment passes
        try:
            write(2)
            outcomes.append("written")
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            outcomes.append(f"failed: {exc}")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert outcomes == [f"refused {store}", "written"]  # was: ["refused raw", "failed: ... readonly ..."]


def test_starting_on_a_read_only_data_directory_exits_with_one_line_naming_it(tmp_path, monkeypatch, capsys):
    from scripts import serve_local

    data = tmp_path / "data"
    data.mkdir()
    write_bytes = Path.write_bytes

    def read_only(self, content):
        if self.parent == data:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return write_bytes(self, content)

    monkeypatch.setattr(Path, "write_bytes", read_only)
    monkeypatch.setenv("LOCAL_DATA_DIR", str(data))
    monkeypatch.setenv("APP_MODE", "local")
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("served on a read-only data directory"))
    assert serve_local.main() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"cannot start: LOCAL_DATA_DIR {data.resolve()} is not writable (Read-only file system)"]


# --- who may read local data ----------------------------------------------------------------------------
def test_local_data_files_are_0600_and_directories_0700(tmp_path):
    old = os.umask(0o022)
    try:
        api_data = tmp_path / "data"
        container = _local_container(api_data)
        from shared_code.accounts.schemas import AccountIn
        from shared_code.folders.schemas import FolderIn

        patient_id = "p_" + "b" * 32
        container.accounts.put(patient_id, AccountIn(displayName="Bob"))
        folder = container.folders.create(patient_id, FolderIn(label="mole")).id
        container.ingest.upload(patient_id, folder, phone_jpeg(), taken_at=None, note=None, view=None)
        ticket = container.ingest.start_upload(patient_id, folder, taken_at=None, note=None, view=None)
        container.adapters.blobs.put(INCOMING_CONTAINER, f"{patient_id}/{ticket['imageId']}", [phone_jpeg()])
        container.adapters.queue.send("notifications", "{}")
    finally:
        os.umask(old)
    loose = []
    for path in [api_data, *api_data.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(tmp_path)} {mode:o}")
    assert loose == []
