"""Both copies of a grant, its consent, and the expiry timers' index, as records.

- the clinic's copy (`Grant`): `clinics` / clinicId / grantId, read by every access check;
- the patient's copy (`Share`) and the `Consent`: `patients` / patientId (shared_code/partitions.py);
- `ExpiryEntry`: `directory` / `grant-expiry` / grantId, ids and times only. The port has no range
  filters, so the timers read it ordered by `expiresAt`, ascending, and stop at the first entry past
  their window: the order is the bound.

Writes raise the port's errors (Conflict, PreconditionFailed, NotFound) for the service to read."""
from __future__ import annotations

import logging
from typing import Iterator

from shared_code import paging
from shared_code.partitions import PatientPartition
from shared_code.ports.documents import DocumentStore, Query, Stored
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import CLINICS, DIRECTORY
from shared_code.sharing.records import Consent, ExpiryEntry, Grant, Share
from shared_code.records import read_record
from shared_code.sharing.repository import doc_of

log = logging.getLogger(__name__)

EXPIRY_PARTITION = "grant-expiry"
_BATCH = 100


class GrantRepository:
    def __init__(self, documents: DocumentStore, patients: PatientPartition):
        self._documents = documents
        self._patients = patients

    # --- the clinic's copy ---
    def grant(self, clinic_id: str, grant_id: str) -> Grant | None:
        return read_record(self._documents, CLINICS, clinic_id, grant_id, Grant)

    def create_grant(self, grant: Grant, event_id: str | None = None) -> Stored:
        return self._documents.create(CLINICS, grant.clinic_id, doc_of(grant, event_id))

    def replace_grant(self, grant: Grant) -> None:
        """If-match the version read (PreconditionFailed if it changed since)."""
        self._documents.replace(CLINICS, grant.clinic_id, doc_of(grant), if_match=grant.etag)

    def worklist_page(self, clinic_id: str, revoked: bool | None, limit: int,
                      continuation: str | None) -> tuple[list[Grant], str | None]:
        """One page, newest first; `revoked` is stored, so it can filter in the query."""
        equals: dict = {"type": "grant"}
        if revoked is not None:
            equals["revoked"] = revoked
        page = paging.read_page(self._documents, CLINICS, Query(clinic_id, equals, order_by="createdAt",
                                                                descending=True, limit=limit,
                                                                continuation=continuation))
        return [Grant.from_stored(s) for s in page.items], page.continuation

    # --- the patient's copy and the consent ---
    def share(self, patient_id: str, grant_id: str) -> Share | None:
        return self._patients.find(patient_id, grant_id, Share)

    def create_share(self, patient_id: str, share: Share) -> None:
        self._patients.create(patient_id, doc_of(share))

    def delete_share(self, patient_id: str, grant_id: str) -> None:
        self._patients.delete(patient_id, grant_id)

    def replace_share(self, patient_id: str, share: Share, event_id: str | None = None) -> Stored:
        """If-match the version read (PreconditionFailed if it changed since, NotFound if gone)."""
        return self._patients.replace(patient_id, doc_of(share, event_id), if_match=share.etag)

    def shares(self, patient_id: str, **equals: str) -> list[Share]:
        """Every share of the patient (matching `equals`), read in full before the caller changes any."""
        return [Share.from_stored(s) for s in self._patients.all(patient_id, "share", **equals)]

    def shares_page(self, patient_id: str, folder_id: str, limit: int,
                    continuation: str | None) -> tuple[list[Share], str | None]:
        page = self._patients.list(patient_id, "share", order_by="createdAt", descending=True, limit=limit,
                                   continuation=continuation, folderId=folder_id)
        return [Share.from_stored(s) for s in page.items], page.continuation

    def create_consent(self, patient_id: str, consent: Consent) -> None:
        self._patients.create(patient_id, doc_of(consent))

    def consent(self, patient_id: str, consent_id: str) -> Consent | None:
        return self._patients.find(patient_id, consent_id, Consent)


class ExpiryIndex:
    """The `directory` / `grant-expiry` entries: written before any copy of its grant (so no grant
    exists that the timers cannot find), deleted on revocation and once the expiry is handled."""

    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def add(self, grant_id: str, clinic_id: str, patient_id: str, expires_at: str, created_at: str) -> None:
        entry = ExpiryEntry(id=grant_id, grant_id=grant_id, clinic_id=clinic_id, patient_id=patient_id,
                            expires_at=expires_at, created_at=created_at)
        try:
            self._documents.create(DIRECTORY, EXPIRY_PARTITION, doc_of(entry))
        except Conflict:
            pass  # grant ids are new: only a retried create of the same grant gets here

    def remove(self, grant_id: str) -> None:
        """Best effort: a left-over entry is dropped by the next job run that reaches it."""
        try:
            self._documents.delete(DIRECTORY, EXPIRY_PARTITION, grant_id)
        except NotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - the grant's own documents already say what happened
            log.warning("grant expiry entry not deleted: grant=%s error=%s", grant_id, type(exc).__name__)

    def by_expiry(self, *, unwarned_only: bool = False) -> Iterator[ExpiryEntry]:
        """Entries expiring soonest first, one single-partition query page by page (the caller stops)."""
        equals: dict = {"type": "grant-expiry"}
        if unwarned_only:
            equals["expiringNotified"] = False
        query = Query(EXPIRY_PARTITION, equals, order_by="expiresAt", limit=_BATCH)
        return (ExpiryEntry.from_stored(s) for s in paging.every(self._documents, DIRECTORY, query))

    def mark_warned(self, entry: ExpiryEntry) -> None:
        """Changed or gone meanwhile: left alone, the next run reads the grant again and settles it."""
        try:
            self._documents.replace(DIRECTORY, EXPIRY_PARTITION, doc_of(entry.but(expiring_notified=True)),
                                    if_match=entry.etag)
        except (PreconditionFailed, NotFound):
            pass
