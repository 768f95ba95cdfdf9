"""The embedded SQLite store's writers queue on one lock per database file (sqlite_util._Transaction):
held for exactly one transaction, released when it commits and when it fails, so a failed write
never leaves the store unwritable for the other threads of the process."""
import threading

import pytest

from shared_code.adapters.local.sqlite_documents import SqliteDocumentStore
from shared_code.ports.documents import Query
from shared_code.ports.errors import Conflict


def _held_elsewhere(lock) -> bool:
    """Whether another thread holds `lock` (it is re-entrant for its owner): a probe thread tries it."""
    got = []

    def probe():
        got.append(lock.acquire(blocking=False))
        if got[0]:
            lock.release()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return not got[0]


def test_a_write_holds_the_file_lock_only_while_it_runs(tmp_path):
    store = SqliteDocumentStore(tmp_path / "documents.db")
    lock = store._db.write_lock
    with store._db.transaction():
        assert _held_elsewhere(lock)
    assert not _held_elsewhere(lock)


def test_a_failed_write_releases_the_lock_and_the_next_writer_of_another_thread_succeeds(tmp_path):
    store = SqliteDocumentStore(tmp_path / "documents.db")
    store.create("c", "p", {"id": "a"})
    with pytest.raises(Conflict):
        store.create("c", "p", {"id": "a"})
    assert not _held_elsewhere(store._db.write_lock)
    errors = []

    def write(n):
        try:
            store.create("c", "p", {"id": f"b{n}"})
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert errors == []
    assert {s.doc["id"] for s in store.query("c", Query("p", {}, limit=50)).items} == {"a", *(f"b{n}" for n in range(8))}


def test_two_stores_on_one_file_share_the_lock(tmp_path):
    one, two = SqliteDocumentStore(tmp_path / "d.db"), SqliteDocumentStore(tmp_path / "d.db")
    assert one._db.write_lock is two._db.write_lock


def test_a_stored_string_with_a_lone_surrogate_reads_back_unchanged(tmp_path):
    store = SqliteDocumentStore(tmp_path / "documents.db")
    store.create("c", "p", {"id": "s", "text": "\ud800 and more"})
    assert store.read("c", "p", "s").doc["text"] == "\ud800 and more"
