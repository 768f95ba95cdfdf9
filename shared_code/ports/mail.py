"""Port: sending one e-mail. Graph sendMail in Azure, a local outbox in local mode."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    dedupe_key: str


class TransientMailError(Exception):
    """Try again later (throttled, 5xx, network). `retry_after` in seconds when the server said."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentMailError(Exception):
    """The message will never be accepted (bad recipient, 4xx other than 429)."""


class MailSender(Protocol):
    def send(self, email: Email) -> None: ...
