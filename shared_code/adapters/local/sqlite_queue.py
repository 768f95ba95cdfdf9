"""Embedded durable queue with Azure Storage Queue semantics, on SQLite (WAL).

A received message becomes invisible until its visibility timeout passes and comes back with a
higher dequeue count unless deleted with its pop receipt, so the same idempotent handlers and poison
rules apply locally as in Azure."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Callable

from shared_code.adapters.local.sqlite_util import SqliteDatabase
from shared_code.ports.errors import NotFound
from shared_code.ports.queues import Message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at REAL NOT NULL,
    dequeue_count INTEGER NOT NULL DEFAULT 0,
    pop_receipt TEXT,
    inserted_at REAL NOT NULL,
    PRIMARY KEY (queue, id)
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at);
"""


class SqliteQueue:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self._db = SqliteDatabase(path, _SCHEMA, "queue")
        self._clock = clock

    def single_attempt(self) -> "SqliteQueue":
        """A local write never retries: the same queue."""
        return self

    def send(self, queue: str, body: str, *, visibility_timeout: int = 0) -> None:
        now = self._clock()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO messages (queue, id, body, visible_at, inserted_at) VALUES (?,?,?,?,?)",
                (queue, uuid.uuid4().hex, body, now + visibility_timeout, now),
            )

    def receive(self, queue: str, *, max_messages: int = 16, visibility_timeout: int = 30) -> list[Message]:
        now = self._clock()
        taken: list[Message] = []
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, body, dequeue_count FROM messages WHERE queue=? AND visible_at<=? "
                "ORDER BY inserted_at LIMIT ?",
                (queue, now, max_messages),
            ).fetchall()
            for id, body, count in rows:
                receipt = uuid.uuid4().hex
                conn.execute(
                    "UPDATE messages SET visible_at=?, dequeue_count=?, pop_receipt=? WHERE queue=? AND id=?",
                    (now + visibility_timeout, count + 1, receipt, queue, id),
                )
                taken.append(Message(id, receipt, body, count + 1))
        return taken

    def delete(self, queue: str, message: Message) -> None:
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM messages WHERE queue=? AND id=? AND pop_receipt=?", (queue, message.id, message.pop_receipt)
            )
            if cursor.rowcount == 0:
                # As Azure: the receipt is stale (the message was received again) or it is gone.
                raise NotFound(message.id)

    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        rows = self._db.connect().execute(
            "SELECT id, body, dequeue_count FROM messages WHERE queue=? AND visible_at<=? ORDER BY inserted_at LIMIT ?",
            (queue, self._clock(), max_messages),
        ).fetchall()
        return [Message(id, "", body, count) for id, body, count in rows]

    def check(self) -> None:
        self._db.check()
