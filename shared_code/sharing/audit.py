"""The audit trail: append-only documents in the `audit` container.

Every entry is created once and never replaced or deleted by this code (`create`, not `upsert`).
Partitioning: entries about a patient's data live in the patient's partition (patient id), so the
patient's access log is a single-partition query; clinic administration lives in `clinic:<id>`.
An entry says who (role, issuer, subject, name, e-mail), what (action), when, and on what (clinic,
grant, folder, image, purposes) — never image bytes, never comment text, never an NHS number.

Entries outlive account erasure on purpose: who looked at a patient's data is the organisation's
accountability record (retained under its records policy), and it holds no clinical content."""
from __future__ import annotations

from typing import Any

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.ids import new_id
from shared_code.ports.documents import DocumentStore, Page
from shared_code.settings import AUDIT
from shared_code.sharing.store import query_page, sort_key

# Actions a patient sees in the access log (everything a clinician did with their data).
CLINICIAN_ACTIONS = ("share.viewed", "image.viewed", "image.thumbnail_viewed", "image.exported", "comment.created")


def clinic_partition(clinic_id: str) -> str:
    return f"clinic:{clinic_id}"


def actor_of(principal: Principal | None, role: str) -> dict[str, Any]:
    if principal is None:
        return {"role": role}
    return {"role": role, "issuer": principal.issuer, "subject": principal.subject, "name": principal.name,
            "email": principal.email}


class AuditLog:
    def __init__(self, documents: DocumentStore, clock: Clock):
        self._documents = documents
        self._clock = clock

    def record(self, partition: str, action: str, actor: dict[str, Any], *, clinic: dict[str, Any] | None = None,
               **about: Any) -> dict[str, Any]:
        """`about`: ids and non-clinical facts only (grantId, folderId, imageId, purposes, reason, fields...)."""
        entry = {"id": new_id("a"), "type": "audit", "at": iso(self._clock.now()), "sortKey": sort_key(self._clock),
                 "action": action, "actor": actor, "actorRole": actor.get("role"), "clinic": clinic,
                 **{k: v for k, v in about.items() if v is not None}}
        self._documents.create(AUDIT, partition, entry)
        return entry

    def clinician_actions(self, patient_id: str, limit: int, continuation: str | None) -> Page:
        """What clinicians did with this patient's data, newest first (one partition)."""
        return query_page(self._documents, AUDIT, patient_id, {"type": "audit", "actorRole": "clinician"},
                          order_by="sortKey", descending=True, limit=limit, continuation=continuation)
