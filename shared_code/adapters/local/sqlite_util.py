"""One SQLite connection per thread, in WAL mode, so the embedded backends survive restarts and
take concurrent readers while a writer works.

A connection is not kept for ever whatever happens to it: SQLite opens a file it may not write
(a data directory read-only for a moment) read-only and keeps it so, which left every later write
on that thread failing while other threads wrote. A write that fails because the connection cannot
write (read-only, I/O error, file gone) drops the thread's connection, so the next operation opens
a fresh one: a store that recovers is used again without a restart. The failed write itself changes
nothing and raises StorageUnavailable (StorageFull when the disk is full), which the HTTP edge
answers as 503 / 507 with Retry-After, naming the storage."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from shared_code.adapters.local.private import private_file, storage_error

log = logging.getLogger(__name__)

# Result codes (and their extended forms, e.g. SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE) after
# which this connection is not trusted again.
_STALE = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_FULL")


# One write lock per database file in this process (see _Transaction).
_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.RLock:
    key = os.path.abspath(path)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.RLock())


class SqliteDatabase:
    def __init__(self, path: Path, schema: str, storage: str = "documents"):
        self._path = path
        self._storage = storage
        self._local = threading.local()
        self.write_lock = _write_lock(path)
        try:
            private_file(path)
            self.connect().executescript(schema)
        except (OSError, sqlite3.Error) as exc:
            log.error("cannot open the %s store at %s: %s", storage, path,
                      os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else exc)
            raise storage_error(exc, storage) or exc from exc

    @property
    def path(self) -> Path:
        return self._path

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def forget(self) -> None:
        """Drops this thread's connection: the next operation opens a new one."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def failed(self, exc: BaseException) -> Exception | None:
        """After `exc` from this database: forget a connection that can no longer be trusted, and
        the domain error to raise instead (None: re-raise `exc`)."""
        if isinstance(exc, OSError) or (isinstance(exc, sqlite3.Error)
                                        and str(getattr(exc, "sqlite_errorname", "")).startswith(_STALE)):
            log.warning("%s store at %s failed (%s): reconnecting on next use", self._storage, self._path,
                        getattr(exc, "sqlite_errorname", type(exc).__name__))
            self.forget()
        return storage_error(exc, self._storage)

    def transaction(self) -> "_Transaction":
        return _Transaction(self)

    def check(self) -> None:
        """A write transaction (taken and rolled back): a read-only file or connection fails here."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS _health_probe (x)")
            finally:
                conn.execute("ROLLBACK")
        except (sqlite3.Error, OSError) as exc:
            raise self.failed(exc) or exc from exc


class _Transaction:
    """`BEGIN IMMEDIATE` so read-modify-write sequences (ETag checks) are serialised.

    Writers of this process first queue on a lock of the database file: SQLite makes a writer that
    finds the file locked sleep and retry (1, 2, 5, ... 100 ms), long after the other transaction
    ended, so under concurrent writes every writer paid those sleeps (16 clients on `make run`:
    notes took a second). The lock hands the file to the next writer as the last one commits; the
    busy timeout is left for writers of other processes."""

    def __init__(self, db: SqliteDatabase):
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.write_lock.acquire()
        try:
            self.conn = self._db.connect()
            self.conn.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, OSError) as exc:
            self._db.write_lock.release()
            raise self._db.failed(exc) or exc from exc
        except BaseException:
            self._db.write_lock.release()
            raise
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            return self._end(exc_type, exc)
        finally:
            self._db.write_lock.release()

    def _end(self, exc_type, exc) -> bool:
        try:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        except (sqlite3.Error, OSError) as ended:
            if exc is None:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise self._db.failed(ended) or ended from ended
        if isinstance(exc, (sqlite3.Error, OSError)):
            mapped = self._db.failed(exc)
            if mapped is not None:
                raise mapped from exc
        return False
