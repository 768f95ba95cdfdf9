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


class ClientSecret(Protocol):
    """A credential an adapter reads when it needs it (e.g. Graph's client secret from Key Vault).
    `invalidate` drops any cached copy, so the next read fetches it again: what a sender does when
    the identity provider refuses the secret (it may have been rotated)."""

    def __call__(self) -> str: ...

    def invalidate(self) -> None: ...
