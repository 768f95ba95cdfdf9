"""The clinic side's documents as records: clinics (with their codes and the admin list's copy) and
memberships. The only code that reads or writes them; what it returns is a record (records.py).

Writes raise the port's errors (Conflict, PreconditionFailed, NotFound): what they mean to a caller
is the service's to say. A write that carries a notification takes the outbox's `event_id` and
stores it in the document's `events` list in the same write (notifications/outbox.record_event)."""
from __future__ import annotations

from typing import Iterator

from shared_code import paging
from shared_code.notifications.outbox import record_event
from shared_code.ports.documents import DocumentStore, Query, Stored
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.records import Record, read_record
from shared_code.settings import CLINICS, DIRECTORY
from shared_code.sharing.records import (
    Clinic, ClinicListing, CodeEntry, Member, MemberOid, MemberRole, member_id, oid_index_id,
)

CLINIC_DOC_ID = "clinic"
CODES_PARTITION = "clinic-codes"
LISTING_PARTITION = "clinics"
_BATCH = 100


def doc_of(record: Record, event_id: str | None = None) -> dict:
    """What a write sends: the record's document, with the event id when the write carries one."""
    doc = record.to_doc()
    return record_event(doc, event_id) if event_id else doc


class ClinicRepository:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def get(self, clinic_id: str) -> Clinic | None:
        return read_record(self._documents, CLINICS, clinic_id, CLINIC_DOC_ID, Clinic)

    def create(self, clinic: Clinic) -> None:
        self._documents.create(CLINICS, clinic.clinic_id, doc_of(clinic))

    def replace(self, clinic: Clinic, event_id: str | None = None) -> Stored:
        """If-match the version `clinic` was read at (PreconditionFailed if it changed since)."""
        return self._documents.replace(CLINICS, clinic.clinic_id, doc_of(clinic, event_id), if_match=clinic.etag)

    def save_listing(self, clinic: Clinic) -> None:
        self._documents.upsert(DIRECTORY, LISTING_PARTITION, doc_of(clinic.listing()))

    def listings(self, limit: int, continuation: str | None) -> tuple[list[ClinicListing], str | None]:
        """One client page, newest first."""
        page = paging.read_page(self._documents, DIRECTORY, Query(
            LISTING_PARTITION, {"type": "clinic-index"}, order_by="createdAt", descending=True, limit=limit,
            continuation=continuation))
        return [ClinicListing.from_stored(s) for s in page.items], page.continuation

    def listings_by_end(self) -> Iterator[ClinicListing]:
        """Every clinic, the subscription ending soonest first (the caller stops)."""
        query = Query(LISTING_PARTITION, {"type": "clinic-index"}, order_by="subscriptionEndsAt", limit=_BATCH)
        return (ClinicListing.from_stored(s) for s in paging.every(self._documents, DIRECTORY, query))

    # --- codes ---
    def code(self, code: str) -> CodeEntry | None:
        return read_record(self._documents, DIRECTORY, CODES_PARTITION, code, CodeEntry)

    def claim_code(self, entry: CodeEntry) -> bool:
        """False if another clinic holds the code."""
        try:
            self._documents.create(DIRECTORY, CODES_PARTITION, doc_of(entry))
        except Conflict:
            return False
        return True

    def retire_code(self, code: str, at: str) -> None:
        """Keep the entry (so no clinic can claim the code again), marked retired."""
        entry = self.code(code)
        if entry is not None and entry.retired_at is None:
            self._documents.replace(DIRECTORY, CODES_PARTITION, doc_of(entry.but(retired_at=at)), if_match=entry.etag)

    def release_code(self, code: str) -> None:
        """Only for a code claimed by a write that then failed: it was never in use."""
        try:
            self._documents.delete(DIRECTORY, CODES_PARTITION, code)
        except NotFound:
            pass


class MemberRepository:
    """Members are found by POINT READ only: by the id their e-mail gives, or through the index
    document their object id gives (two reads)."""

    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def get(self, clinic_id: str, mid: str) -> Member | None:
        return read_record(self._documents, CLINICS, clinic_id, mid, Member)

    def by_email(self, clinic_id: str, email: str) -> Member | None:
        member = self.get(clinic_id, member_id(clinic_id, email))
        return member if member is not None and member.email == email else None

    def by_object_id(self, clinic_id: str, object_id: str) -> Member | None:
        index = self._oid(clinic_id, object_id)
        member = self.get(clinic_id, index.member_id) if index is not None else None
        return member if member is not None and member.object_id == object_id else None

    def object_id_taken(self, clinic_id: str, object_id: str) -> bool:
        try:
            self._documents.read(CLINICS, clinic_id, oid_index_id(clinic_id, object_id))
        except NotFound:
            return False
        return True

    def _oid(self, clinic_id: str, object_id: str) -> MemberOid | None:
        return read_record(self._documents, CLINICS, clinic_id, oid_index_id(clinic_id, object_id), MemberOid)

    def create(self, member: Member, event_id: str | None = None) -> Stored:
        """Conflict if the e-mail address is a member already."""
        return self._documents.create(CLINICS, member.clinic_id, doc_of(member, event_id))

    def index_object_id(self, member: Member) -> None:
        self._documents.create(CLINICS, member.clinic_id, doc_of(MemberOid(
            id=oid_index_id(member.clinic_id, member.object_id), member_id=member.id)))

    def bind_object_id(self, member: Member, object_id: str) -> Member | None:
        """Binds an unbound member to `object_id`: the index entry (upserted: only called when no live
        member holds the object id), then the member, guarded by its etag. None when the member
        changed meanwhile (bound by another token, or removed)."""
        self._documents.upsert(CLINICS, member.clinic_id, doc_of(MemberOid(
            id=oid_index_id(member.clinic_id, object_id), member_id=member.id)))
        bound = member.but(object_id=object_id)
        try:
            stored = self._documents.replace(CLINICS, member.clinic_id, doc_of(bound), if_match=member.etag)
        except (PreconditionFailed, NotFound):
            current = self.get(member.clinic_id, member.id)
            return current if current is not None and current.object_id == object_id else None
        return bound.but(etag=stored.etag)

    def delete(self, member: Member) -> None:
        """The member first (every access check reads it), then its object-id index. NotFound if gone."""
        self._documents.delete(CLINICS, member.clinic_id, member.id)
        if member.object_id:
            try:
                self._documents.delete(CLINICS, member.clinic_id, oid_index_id(member.clinic_id, member.object_id))
            except NotFound:
                pass

    def page(self, clinic_id: str, limit: int, continuation: str | None) -> tuple[list[Member], str | None]:
        """One client page, by e-mail."""
        page = paging.read_page(self._documents, CLINICS, Query(clinic_id, {"type": "member"}, order_by="email",
                                                                limit=limit, continuation=continuation))
        return [Member.from_stored(s) for s in page.items], page.continuation

    def admins(self, clinic_id: str, limit: int) -> list[Member]:
        """Up to `limit` clinic_admins (one store page)."""
        page = self._documents.query(CLINICS, Query(clinic_id, {"type": "member", "role": MemberRole.CLINIC_ADMIN.value},
                                                    order_by="email", limit=limit))
        return [Member.from_stored(s) for s in page.items]
