"""In-memory MailSender, and MailOutbox (what `GET /api/dev/outbox` lists): keeps every e-mail it
is given, one entry per send (deduplication is the dispatcher's job, so a doubled entry here shows
a real bug). `faults` scripts refusals, e.g.
`mail.faults.fail("send", TransientMailError("throttled", retry_after=5))`."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from shared_code.clock import iso
from shared_code.ports.mail import Email
from tests.fakes.faults import Faults


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FakeMailSender:
    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self.sent: list[Email] = []
        self._sent_at: list[datetime] = []
        self._clock = clock
        self.faults = Faults()

    def send(self, email: Email) -> None:
        self.faults.before("send", email)
        self.sent.append(email)
        self._sent_at.append(self._clock())

    def to(self) -> list[str]:
        """The recipients, oldest first."""
        return [email.to for email in self.sent]

    def list(self, limit: int = 50) -> list[dict[str, str]]:
        """The newest first, as the local outbox lists them: {to, subject, text, html, sentAt, dedupeKey}."""
        newest = list(zip(self.sent, self._sent_at))[::-1][:limit]
        return [{"to": e.to, "subject": e.subject, "text": e.text, "html": e.html, "sentAt": iso(at),
                 "dedupeKey": e.dedupe_key} for e, at in newest]

    def check(self) -> None:
        self.faults.before("check")
