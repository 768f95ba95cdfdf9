"""Port, optional: a mail outbox that keeps what it was asked to send instead of sending it
(local mode; `GET /api/dev/outbox` lists it). Graph mail has none."""
from __future__ import annotations

from typing import Protocol


class MailOutbox(Protocol):
    def list(self, limit: int = 50) -> list[dict[str, str]]:
        """The newest first: {to, subject, text, html, sentAt, dedupeKey}."""

    def check(self) -> None:
        """Deep health check."""
