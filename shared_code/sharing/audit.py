"""The audit trail: append-only `AuditEntry` records in the `audit` container.

Every entry is created once and never replaced or deleted by this code (`create`, not `upsert`).
Partitioning: entries about a patient's data live in the patient's partition (patient id), so the
patient's access log is a single-partition query; clinic administration lives in `clinic:<id>`.
An entry says who (role, issuer, subject, name, e-mail), what (action), when, and on what (clinic,
grant, folder, image, purposes) — never image bytes, never comment text, never an NHS number.

Entries outlive account erasure on purpose: who looked at a patient's data is the organisation's
accountability record (retained under its records policy), and it holds no clinical content."""
from __future__ import annotations

from typing import Any

from shared_code import paging
from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.ids import new_id
from shared_code.ports.documents import DocumentStore, Query
from shared_code.settings import AUDIT
from shared_code.sharing.records import Actor, AuditEntry, ClinicRef, sort_key
from shared_code.sharing.repository import doc_of


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
        now = self._clock.now()
        entry = AuditEntry(id=new_id("a"), at=iso(now), sort_key=sort_key(now), action=action, actor=actor,
                           actor_role=actor.role, clinic=clinic, **about)
        self._documents.create(AUDIT, partition, doc_of(entry))
        return entry

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
