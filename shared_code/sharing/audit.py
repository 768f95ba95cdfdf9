"""The audit trail: append-only `AuditEntry` records in the `audit` container.

Every entry is created once and never replaced or deleted by this code (`create`, not `upsert`).
Partitioning: entries about a patient's data live in the patient's partition (patient id), so the
patient's access log is a single-partition query; clinic administration lives in `clinic:<id>`.
An entry says who (role, issuer, subject, name, e-mail), what (action), when, and on what (clinic,
grant, folder, image, purposes) — never image bytes, never comment text, never an NHS number.

Entries outlive account erasure on purpose: who looked at a patient's data is the organisation's
accountability record (retained under its records policy), and it holds no clinical content.

A change and its entry are one logical step (`with_entry`), like the outbox
(shared_code/notifications/outbox.py):

    1. marker   directory / audit-pending / <entryId>  {the entry, `written`: the document the change
                creates, `undo`: every document the change may leave behind}
    2. change() the domain write(s)
    3. the entry, created under the id fixed in 1 (so writing it twice is harmless)
    4. delete the marker

The marker cannot be written: nothing is changed (the request fails first). The change is refused
(a domain or store error): the `undo` documents and the marker are deleted, nothing is left. The
entry cannot be written after the change: the request still succeeds, and `sweep` writes the entry
from the marker. A crash, or an error that may hide a write (a timeout): `sweep` decides from the
`written` document, once the marker is older than SWEEP_MIN_AGE: there, the entry is written; still
absent after PENDING_ABANDON_AFTER, the change never happened and its leftovers are deleted. So an
acknowledged change is always audited, and a refused one leaves nothing."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence, TypeVar

from shared_code import paging
from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso, parse_time
from shared_code.ids import new_id
from shared_code.notifications.contract import SourceRef
from shared_code.notifications.outbox import DEFINITELY_NOT_WRITTEN, MARKER_ABANDON_AFTER, SWEEP_MIN_AGE
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import Conflict, NotFound
from shared_code.records import Record
from shared_code.settings import AUDIT, DIRECTORY
from shared_code.sharing.records import Actor, AuditEntry, ClinicRef, sort_key
from shared_code.sharing.repository import doc_of

log = logging.getLogger(__name__)
T = TypeVar("T")

PENDING_PARTITION = "audit-pending"
# The outbox's timing: a younger marker may belong to a request still in flight; a marker whose
# `written` document is still absent after PENDING_ABANDON_AFTER belongs to a change that never happened.
PENDING_ABANDON_AFTER = MARKER_ABANDON_AFTER


class DocRef(Record):
    """A document, and what it looks like once the change it proves has happened: present (the
    default), absent (`absent`), or holding `value` in `field`."""
    container: str
    partition_key: str
    id: str
    absent: bool = False
    field: str | None = None
    value: Any = None


class PendingAudit(Record):
    """An audit entry waiting for its change (see the module docstring): ids, like the entry."""
    id: str  # the entry's id
    type: Literal["audit-pending"] = "audit-pending"
    partition: str
    entry: dict[str, Any]
    written: DocRef
    undo: list[DocRef] = []
    created_at: str


@dataclass
class AuditSweep:
    confirmed: int = 0
    withdrawn: int = 0
    waiting: int = 0
    failed: int = 0


def _ref(source: SourceRef, *, absent: bool = False, holds: tuple[str, Any] | None = None) -> DocRef:
    field, value = holds if holds is not None else (None, None)
    return DocRef(container=source.container, partition_key=source.partition_key, id=source.id, absent=absent,
                  field=field, value=value)


def clinic_partition(clinic_id: str) -> str:
    return f"clinic:{clinic_id}"


def actor_of(principal: Principal | None, role: str) -> Actor:
    if principal is None:
        return Actor(role=role)
    return Actor(role=role, issuer=principal.issuer, subject=principal.subject, name=principal.name,
                 email=principal.email)


class AuditLog:
    def __init__(self, documents: DocumentStore, clock: Clock):
        self._documents = documents
        self._clock = clock

    def record(self, partition: str, action: str, actor: Actor, *, clinic: ClinicRef | None = None,
               **about: Any) -> AuditEntry:
        """`about`: ids and non-clinical facts only (AuditEntry's fields: grant_id, folder_id, ...)."""
        entry = self._entry(action, actor, clinic, about)
        self._documents.create(AUDIT, partition, doc_of(entry))
        return entry

    def with_entry(self, change: Callable[[], T], partition: str, action: str, actor: Actor, *, written: SourceRef,
                   written_absent: bool = False, written_holds: tuple[str, Any] | None = None,
                   undo: Sequence[SourceRef] = (), clinic: ClinicRef | None = None, **about: Any) -> T:
        """`change()` and its audit entry as one logical step (the module docstring): `written` is the
        document that shows whether the change happened: it exists (a creation), it is gone
        (`written_absent`: a removal), or it holds `written_holds` = (field, value) (an update);
        `undo`, documents only this change creates (new ids), deleted if it did not. `change` raises a
        domain or store error only when `written` was not written: a step after that write belongs
        after this call."""
        entry = self._entry(action, actor, clinic, about)
        marker = PendingAudit(id=entry.id, partition=partition, entry=doc_of(entry),
                              written=_ref(written, absent=written_absent, holds=written_holds),
                              undo=[_ref(ref) for ref in undo], created_at=entry.at)
        self._documents.create(DIRECTORY, PENDING_PARTITION, doc_of(marker))
        try:
            result = change()
        except DEFINITELY_NOT_WRITTEN:
            try:
                self._withdraw(marker)
            except Exception as exc:  # noqa: BLE001 - the refusal is the answer; the sweeper finishes this
                log.warning("audit marker not withdrawn: entry=%s error=%s", entry.id, type(exc).__name__)
            raise
        # Any other error may hide a change that happened: the marker stays for the sweeper.
        try:
            self._confirm(marker)
        except Exception as exc:  # noqa: BLE001 - the change is made: answer it; the sweeper writes the entry
            log.warning("audit entry deferred to the sweeper: action=%s entry=%s error=%s", action, entry.id,
                        type(exc).__name__)
        return result

    def sweep(self, *, batch: int = 100) -> AuditSweep:
        """Complete what a crash interrupted: write the entries of changes that happened, delete the
        leftovers of changes that never did."""
        now = self._clock.now()
        result = AuditSweep()
        query = Query(PENDING_PARTITION, {"type": "audit-pending"}, order_by="createdAt", limit=batch)
        for stored in paging.every(self._documents, DIRECTORY, query):
            marker = PendingAudit.from_stored(stored)
            age = now - parse_time(marker.created_at)
            if age < SWEEP_MIN_AGE:
                result.waiting += 1
                break  # oldest first: every later marker is younger still
            try:
                if self._happened(marker.written):
                    self._confirm(marker)
                    result.confirmed += 1
                elif age >= PENDING_ABANDON_AFTER:
                    self._withdraw(marker)
                    result.withdrawn += 1
                else:
                    result.waiting += 1
            except Exception as exc:  # noqa: BLE001 - one marker's failure never stops the others
                result.failed += 1
                log.warning("audit marker not settled: entry=%s error=%s", marker.id, type(exc).__name__)
        if result.confirmed or result.withdrawn or result.failed:
            log.info("audit swept: confirmed=%d withdrawn=%d failed=%d waiting=%d", result.confirmed,
                     result.withdrawn, result.failed, result.waiting)
        return result

    def _entry(self, action: str, actor: Actor, clinic: ClinicRef | None, about: dict[str, Any]) -> AuditEntry:
        now = self._clock.now()
        return AuditEntry(id=new_id("a"), at=iso(now), sort_key=sort_key(now), action=action, actor=actor,
                          actor_role=actor.role, clinic=clinic, **about)

    def _confirm(self, marker: PendingAudit) -> None:
        try:
            self._documents.create(AUDIT, marker.partition, marker.entry)
        except Conflict:
            pass  # written before, by the request or an earlier sweep
        self._delete(DocRef(container=DIRECTORY, partition_key=PENDING_PARTITION, id=marker.id))

    def _withdraw(self, marker: PendingAudit) -> None:
        """The change did not happen: what it may have left goes, then the marker (last, so a failure
        part-way leaves the marker for the sweeper to finish)."""
        for ref in marker.undo:
            self._delete(ref)
        self._delete(DocRef(container=DIRECTORY, partition_key=PENDING_PARTITION, id=marker.id))

    def _happened(self, ref: DocRef) -> bool:
        try:
            doc = self._documents.read(ref.container, ref.partition_key, ref.id).doc
        except NotFound:
            return ref.absent
        return not ref.absent and (ref.field is None or doc.get(ref.field) == ref.value)

    def _delete(self, ref: DocRef) -> None:
        try:
            self._documents.delete(ref.container, ref.partition_key, ref.id)
        except NotFound:
            pass

    def clinician_actions(self, patient_id: str, limit: int, continuation: str | None) -> tuple[list[AuditEntry], str | None]:
        """What clinicians did with this patient's data, newest first (one partition)."""
        page = paging.read_page(self._documents, AUDIT, Query(patient_id, {"type": "audit", "actorRole": "clinician"},
                                                              order_by="sortKey", descending=True, limit=limit,
                                                              continuation=continuation))
        return [AuditEntry.from_stored(s) for s in page.items], page.continuation

    def access_log(self, principal: Principal, patient_id: str, limit: int,
                   continuation: str | None) -> tuple[list[AuditEntry], str | None]:
        """The patient reading their access log (which is itself recorded)."""
        page = self.clinician_actions(patient_id, limit, continuation)
        self.record(patient_id, "access_log.read", actor_of(principal, "patient"))
        return page
