"""One SQLite connection per thread, in WAL mode, so the embedded backends survive restarts and
take concurrent readers while a writer works."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SqliteDatabase:
    def __init__(self, path: Path, schema: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._local = threading.local()
        with self.connect() as conn:
            conn.executescript(schema)

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def transaction(self) -> "_Transaction":
        return _Transaction(self.connect())


class _Transaction:
    """`BEGIN IMMEDIATE` so read-modify-write sequences (ETag checks) are serialised."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
