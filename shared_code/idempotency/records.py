"""The record of one Idempotency-Key of one caller.

What it holds, and why that is acceptable: the request's fingerprint (a SHA-256 digest of method,
path, query, the headers that carry meaning and the body; never the body) and, once answered, the
first 2xx response exactly as the caller was sent it (status, `Content-Type`, `Location`, `ETag`,
body). That body is the caller's own creation as the API shows it to them (a folder's label, their
comment's text, an upload URL valid for minutes): nothing beyond what the first response held, in
the same store and under the same protection as the created resource itself. It lives for
IDEMPOTENCY_KEY_HOURS (Cosmos DB TTL; the store that has no TTL treats an expired record as
absent), and a patient's records go with their account at erasure (`IdempotencyRepository.forget`)."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Literal

from shared_code.clock import iso, parse_time
from shared_code.records import Record


class KeyState(str, Enum):
    IN_FLIGHT = "in_flight"  # claimed by a request that has not answered yet
    DONE = "done"            # answered 2xx: the response below is replayed to every retry


class IdempotencyRecord(Record):
    id: str  # a digest of the key: the key itself is the client's and may say anything
    type: Literal["idempotency"] = "idempotency"
    state: KeyState
    claimed_at: str
    expires_at: str
    ttl: int  # seconds: Cosmos DB deletes the record itself
    fingerprint: str | None = None
    status: int | None = None
    headers: list[tuple[str, str]] | None = None
    body: str | None = None

    def expired(self, now: datetime) -> bool:
        return parse_time(self.expires_at) <= now

    def abandoned(self, now: datetime, in_flight_for: timedelta) -> bool:
        """In flight for longer than any request may run: its request died without answering."""
        return self.state == KeyState.IN_FLIGHT and parse_time(self.claimed_at) + in_flight_for <= now

    def answered(self, fingerprint: str, status: int, headers: list[tuple[str, str]], body: str) -> "IdempotencyRecord":
        return self.but(state=KeyState.DONE, fingerprint=fingerprint, status=status, headers=headers, body=body)


def new_claim(record_id: str, now: datetime, keep: timedelta) -> IdempotencyRecord:
    return IdempotencyRecord(id=record_id, state=KeyState.IN_FLIGHT, claimed_at=iso(now), expires_at=iso(now + keep),
                             ttl=int(keep.total_seconds()))
