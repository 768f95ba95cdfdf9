"""The retention records' repository, and the one way retention finds what is due: a single-partition
query ordered by a time, oldest first, stopped at the first item not yet due (no scan, no
cross-partition query). It also deletes, by id, the notification documents whose period is over
(outbox markers, dedupe records), which it finds the same way."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared_code import paging
from shared_code.clock import parse_time
from shared_code.ports.documents import DocumentStore, Query, Stored
from shared_code.ports.errors import NotFound
from shared_code.retention.records import ActivityEntry, AuditDue, LegalHold, RetentionRun
from shared_code.settings import AUDIT, DIRECTORY

HOLDS = "legal-holds"
ACTIVITY = "account-activity"
AUDIT_DUE = "audit-due"
RUNS = "retention"
# At most this many items of one kind per run: the timer is idempotent, the next run takes the rest.
BATCH = 1000


class RetentionRepository:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    # --- finding what is due ---
    def due(self, container: str, partition: str, doc_type: str, time_field: str, cutoff: datetime,
            limit: int = BATCH) -> list[Stored]:
        """Documents of one partition whose `time_field` is at or before `cutoff`, oldest first.
        Collected before anything is deleted, so deleting never disturbs the paging."""
        query = Query(partition, {"type": doc_type}, order_by=time_field, limit=min(limit, paging.MAX_LIMIT))
        found: list[Stored] = []
        for stored in paging.every(self._documents, container, query):
            if len(found) >= limit or not _at_or_before(stored.doc.get(time_field), cutoff):
                break
            found.append(stored)
        return found

    def delete(self, container: str, partition: str, doc_id: str) -> bool:
        """True if this call deleted it (False: gone already, e.g. a second run at the same time)."""
        try:
            self._documents.delete(container, partition, doc_id)
            return True
        except NotFound:
            return False

    def delete_audit_partition(self, patient_id: str) -> int:
        return self._documents.delete_partition(AUDIT, patient_id)

    # --- legal holds ---
    def hold(self, patient_id: str) -> LegalHold | None:
        return self._find(HOLDS, patient_id, LegalHold)

    def put_hold(self, hold: LegalHold) -> None:
        self._documents.upsert(DIRECTORY, HOLDS, hold.to_doc())

    def holds(self) -> list[LegalHold]:
        query = Query(HOLDS, {"type": "legal-hold"}, order_by="setAt", limit=paging.MAX_LIMIT)
        return [LegalHold.from_stored(s) for s in paging.every(self._documents, DIRECTORY, query)]

    # --- activity ---
    def activity(self, patient_id: str) -> ActivityEntry | None:
        return self._find(ACTIVITY, patient_id, ActivityEntry)

    def put_activity(self, entry: ActivityEntry) -> None:
        self._documents.upsert(DIRECTORY, ACTIVITY, entry.to_doc())

    def replace_activity(self, doc: dict[str, Any], etag: str | None) -> None:
        """Guarded: PreconditionFailed if the patient came back (or another run wrote) meanwhile."""
        self._documents.replace(DIRECTORY, ACTIVITY, doc, if_match=etag)

    # --- audit trails of erased patients ---
    def put_audit_due(self, due: AuditDue) -> None:
        self._documents.upsert(DIRECTORY, AUDIT_DUE, due.to_doc())

    # --- runs ---
    def record_run(self, run: RetentionRun) -> None:
        self._documents.create(AUDIT, RUNS, run.to_doc())

    def runs(self, limit: int = 20) -> list[RetentionRun]:
        page = self._documents.query(AUDIT, Query(RUNS, {"type": "retention-run"}, order_by="sortKey",
                                                  descending=True, limit=limit))
        return [RetentionRun.from_stored(s) for s in page.items]

    def _find(self, partition: str, doc_id: str, record: type):
        try:
            return record.from_stored(self._documents.read(DIRECTORY, partition, doc_id))
        except NotFound:
            return None


def _at_or_before(value: Any, cutoff: datetime) -> bool:
    """An unreadable time is due: a record we cannot date is not kept for ever by accident."""
    try:
        return parse_time(value) <= cutoff
    except (TypeError, ValueError, AttributeError):
        return True
