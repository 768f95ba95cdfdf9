"""Local mode's mail sender: every e-mail is kept in a SQLite table under LOCAL_DATA_DIR instead of
being sent, and `GET /api/dev/outbox` shows them. It records what it is given, one row per send
(deduplication is the dispatcher's job: a doubled row here would show a real bug)."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from shared_code.adapters.local.sqlite_util import SqliteDatabase
from shared_code.ports.mail import Email

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent_mail (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""


class LocalOutboxMail:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self._db = SqliteDatabase(path, _SCHEMA, "mail outbox")
        self._clock = clock

    def send(self, email: Email) -> None:
        sent_at = datetime.fromtimestamp(self._clock(), timezone.utc).isoformat(timespec="milliseconds")
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO sent_mail (recipient, subject, text, html, dedupe_key, sent_at) VALUES (?,?,?,?,?,?)",
                (email.to, email.subject, email.text, email.html, email.dedupe_key, sent_at.replace("+00:00", "Z")),
            )

    def list(self, limit: int = 50) -> list[dict[str, str]]:
        """The newest first: {to, subject, text, html, sentAt, dedupeKey}."""
        rows = self._db.connect().execute(
            "SELECT recipient, subject, text, html, sent_at, dedupe_key FROM sent_mail ORDER BY seq DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [{"to": r[0], "subject": r[1], "text": r[2], "html": r[3], "sentAt": r[4], "dedupeKey": r[5]}
                for r in rows]

    def count(self) -> int:
        return self._db.connect().execute("SELECT COUNT(*) FROM sent_mail").fetchone()[0]

    def check(self) -> None:
        self._db.check()
