"""The referral documents as records (where each lives: shared_code/referrals/records.py). The only
code that reads or writes them.

Writes raise the port's errors (Conflict, PreconditionFailed, NotFound) for the services to read.
A write that carries a notification takes the outbox's `event_id` (sharing/repository.doc_of)."""
from __future__ import annotations

from typing import Iterator

from shared_code import paging
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import NotFound
from shared_code.records import read_record
from shared_code.referrals.records import Referral, ReferralStatus, SentReferral
from shared_code.settings import CLINICS
from shared_code.sharing.repository import doc_of


class ReferralRepository:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def get(self, service_clinic_id: str, referral_id: str) -> Referral | None:
        return read_record(self._documents, CLINICS, service_clinic_id, referral_id, Referral)

    def sent(self, referring_clinic_id: str, referral_id: str) -> SentReferral | None:
        """The referring clinic's pointer (None: not a referral this clinic sent)."""
        return read_record(self._documents, CLINICS, referring_clinic_id, referral_id, SentReferral)

    def create(self, referral: Referral) -> Referral:
        """The referral, then the referring clinic's pointer to it. A referral whose pointer was never
        written is a draft no one can reach (the service never sees drafts)."""
        stored = self._documents.create(CLINICS, referral.service_clinic_id, doc_of(referral))
        self._documents.create(CLINICS, referral.referring_clinic_id, doc_of(SentReferral.of(referral)))
        return Referral.from_stored(stored)

    def point(self, referral: Referral) -> None:
        """The referring clinic's pointer brought in step with `referral` as written (its status)."""
        self._documents.upsert(CLINICS, referral.referring_clinic_id, doc_of(SentReferral.of(referral)))

    def replace(self, referral: Referral, event_id: str | None = None) -> Referral:
        """If-match the version `referral` was read at (PreconditionFailed if it changed since)."""
        stored = self._documents.replace(CLINICS, referral.service_clinic_id, doc_of(referral, event_id),
                                         if_match=referral.etag)
        return Referral.from_stored(stored)

    def received_page(self, service_clinic_id: str, status: ReferralStatus | None, limit: int,
                      continuation: str | None) -> tuple[list[Referral], str | None]:
        """The service's worklist: one single-partition page, soonest `reviewDueBy` first. Drafts are
        never in it (a draft is the referring clinic's until it is submitted)."""
        equals: dict = {"type": "referral", "received": True}
        if status is not None:
            equals["status"] = status.value
        page = paging.read_page(self._documents, CLINICS, Query(service_clinic_id, equals, order_by="reviewDueBy",
                                                                limit=limit, continuation=continuation))
        return [Referral.from_stored(s) for s in page.items], page.continuation

    def delete(self, service_clinic_id: str, referring_clinic_id: str, referral_id: str) -> bool:
        """The referral, then the referring clinic's pointer (retention, shared_code/retention/referrals.py,
        once its images are shredded). True if this call deleted the referral; either may be gone already."""
        deleted = [self._delete(clinic_id, referral_id) for clinic_id in (service_clinic_id, referring_clinic_id)]
        return deleted[0]

    def _delete(self, clinic_id: str, doc_id: str) -> bool:
        try:
            self._documents.delete(CLINICS, clinic_id, doc_id)
            return True
        except NotFound:
            return False

    def of_service(self, service_clinic_id: str) -> Iterator[Referral]:
        """Every referral (drafts too) kept in one clinic's partition, oldest first: one
        single-partition query, page by page (operations: KEK rotation, shared_code/accounts/key_rotation.py)."""
        query = Query(service_clinic_id, {"type": "referral"}, order_by="createdAt", limit=paging.MAX_LIMIT)
        return (Referral.from_stored(s) for s in paging.every(self._documents, CLINICS, query))

    def sent_page(self, referring_clinic_id: str, status: ReferralStatus | None, limit: int,
                  continuation: str | None) -> tuple[list[Referral], str | None]:
        """The referring clinic's referrals, newest first [in `status`]: its pointers (one
        single-partition page, filtered in the query), then each referral by a point read. A pointer
        whose status lags its referral's (its write after the change failed, writes.py) is left out
        rather than shown under a status the referral no longer has."""
        equals: dict = {"type": "referral-sent"}
        if status is not None:
            equals["status"] = status.value
        page = paging.read_page(self._documents, CLINICS, Query(referring_clinic_id, equals, order_by="createdAt",
                                                                descending=True, limit=limit,
                                                                continuation=continuation))
        pointers = [SentReferral.from_stored(s) for s in page.items]
        found = (self.get(p.service_clinic_id, p.referral_id) for p in pointers)
        return [r for r in found if r is not None and (status is None or r.status is status)], page.continuation
