"""The only code that reads and writes idempotency records (`directory` / `idem:<caller>` / digest).

Every write is guarded (create, or replace/delete if-match the version read), so of two requests
with the same key exactly one holds the claim; the other sees Conflict or PreconditionFailed."""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from shared_code.auth.principal import Principal
from shared_code.clock import Clock
from shared_code.idempotency.records import IdempotencyRecord, new_claim
from shared_code.ports.documents import DocumentStore
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import DIRECTORY, Settings

log = logging.getLogger(__name__)

PARTITION_PREFIX = "idem:"


def caller_partition(principal: Principal) -> str:
    # The same digest of (issuer, subject) as a patient id: a patient's partition is found again at
    # erasure from the patient id alone, and nobody's subject is written in clear.
    return PARTITION_PREFIX + principal.patient_id


def record_id(key: str) -> str:
    return "k_" + hashlib.sha256(key.encode()).hexdigest()


class IdempotencyRepository:
    def __init__(self, documents: DocumentStore, clock: Clock, settings: Settings):
        self._documents = documents
        self._clock = clock
        self._keep = timedelta(hours=settings.idempotency_key_hours)
        self._in_flight_for = timedelta(seconds=settings.idempotency_in_flight_seconds)

    def find(self, partition: str, key: str) -> IdempotencyRecord | None:
        try:
            return IdempotencyRecord.from_stored(self._documents.read(DIRECTORY, partition, record_id(key)))
        except NotFound:
            return None

    def usable(self, record: IdempotencyRecord | None) -> IdempotencyRecord | None:
        """The record if it still binds the key: an expired or abandoned one may be claimed anew."""
        now = self._clock.now()
        if record is None or record.expired(now) or record.abandoned(now, self._in_flight_for):
            return None
        return record

    def claim(self, partition: str, key: str, stale: IdempotencyRecord | None) -> IdempotencyRecord | None:
        """Claim the key (taking over `stale`, the expired or abandoned record read, if any); None
        when another request claimed it first."""
        claim = new_claim(record_id(key), self._clock.now(), self._keep)
        try:
            if stale is None:
                stored = self._documents.create(DIRECTORY, partition, claim.to_doc())
            else:
                stored = self._documents.replace(DIRECTORY, partition, claim.to_doc(), if_match=stale.etag)
        except (Conflict, PreconditionFailed, NotFound):
            return None
        return IdempotencyRecord.from_stored(stored)

    def complete(self, partition: str, claim: IdempotencyRecord, fingerprint: str, status: int,
                 headers: list[tuple[str, str]], body: str) -> None:
        answered = claim.answered(fingerprint, status, headers, body)
        self._documents.replace(DIRECTORY, partition, answered.to_doc(), if_match=claim.etag)

    def release(self, partition: str, claim: IdempotencyRecord) -> None:
        """The request was refused or failed: nothing to replay, so a retry runs it again."""
        try:
            self._documents.delete(DIRECTORY, partition, claim.id, if_match=claim.etag)
        except (NotFound, PreconditionFailed):
            pass
        except Exception as exc:  # noqa: BLE001 - the claim is taken over once abandoned
            log.warning("idempotency claim not released: error=%s", type(exc).__name__)

    def forget(self, patient_id: str) -> None:
        """An erasure step: the patient's remembered responses go with the account."""
        self._documents.delete_partition(DIRECTORY, PARTITION_PREFIX + patient_id)
