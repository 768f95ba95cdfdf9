"""Clinic memberships, kept by this service in the clinic's partition of the `clinics` container.

A token never makes anyone a member: a membership is a document here, matched on the token's
verified e-mail or its object id. Both are found by POINT READ, never by a query:
- the member's id is derived from (clinic, normalised e-mail): `m_` + sha256, so the caller's
  e-mail gives the id to read directly;
- a member added with an Entra object id also gets an index document `oid_` + sha256(clinic, oid)
  naming the member, so a token without an e-mail is matched in two point reads.
The clinic id is inside both hashes, so the same person's ids differ between clinics."""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.notifications.contract import MEMBER_ADDED, SourceRef
from shared_code.ports.documents import DocumentStore, Page
from shared_code.ports.errors import Conflict, NotFound
from shared_code.problems import Problem
from shared_code.settings import CLINICS
from shared_code.sharing.audit import AuditLog, actor_of, clinic_partition
from shared_code.sharing.events import OutboxProvider, emit, with_event
from shared_code.sharing.schemas import MemberIn
from shared_code.sharing.store import query_page

CLINIC_ADMIN = "clinic_admin"


def _hashed(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join((prefix, *parts)).encode()).digest()
    return f"{prefix}_" + base64.b32encode(digest[:20]).decode().lower()


def member_id(clinic_id: str, email: str) -> str:
    return _hashed("m", clinic_id, email.strip().lower())


def oid_index_id(clinic_id: str, object_id: str) -> str:
    return _hashed("oid", clinic_id, object_id)


def public_member(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("id", "email", "role", "objectId", "createdAt")}


def member_not_found(member_id: str) -> Problem:
    return Problem(404, "member-not-found", "No such member", f"No member {member_id} in this clinic.")


class MemberService:
    def __init__(self, documents: DocumentStore, audit: AuditLog, clock: Clock, outbox: OutboxProvider):
        self._documents = documents
        self._audit = audit
        self._clock = clock
        self._outbox = outbox

    def _read(self, clinic_id: str, doc_id: str) -> dict[str, Any] | None:
        try:
            return self._documents.read(CLINICS, clinic_id, doc_id).doc
        except NotFound:
            return None

    def find(self, clinic_id: str, principal: Principal) -> dict[str, Any] | None:
        """The caller's membership of the clinic, by point reads only (at most three)."""
        if principal.email:
            doc = self._read(clinic_id, member_id(clinic_id, principal.email))
            if doc and doc.get("type") == "member" and doc.get("email") == principal.email:
                return doc
        if principal.object_id:
            index = self._read(clinic_id, oid_index_id(clinic_id, principal.object_id))
            if index and index.get("type") == "member-oid":
                doc = self._read(clinic_id, index["memberId"])
                if doc and doc.get("type") == "member" and doc.get("objectId") == principal.object_id:
                    return doc
        return None

    def add(self, actor: Principal, actor_role: str, clinic_id: str, body: MemberIn) -> dict[str, Any]:
        mid = member_id(clinic_id, body.email)
        if body.objectId and self._read(clinic_id, oid_index_id(clinic_id, body.objectId)) is not None:
            raise Problem(409, "member-exists", "Already a member", "That object id already belongs to a member.")
        doc = {"id": mid, "type": "member", "clinicId": clinic_id, "email": body.email, "role": body.role,
               "objectId": body.objectId, "createdAt": iso(self._clock.now()), "addedBy": actor.subject}

        def write(event_id: str):
            return self._documents.create(CLINICS, clinic_id, with_event(doc, event_id))

        try:
            emit(self._outbox, MEMBER_ADDED, {"clinicId": clinic_id, "memberId": mid},
                 SourceRef(CLINICS, clinic_id, mid), write)
        except Conflict:
            raise Problem(409, "member-exists", "Already a member", "That e-mail address is already a member.") from None
        if body.objectId:
            self._documents.create(CLINICS, clinic_id, {"id": oid_index_id(clinic_id, body.objectId),
                                                        "type": "member-oid", "memberId": mid})
        self._audit.record(clinic_partition(clinic_id), "member.added", actor_of(actor, actor_role),
                           clinic={"id": clinic_id}, memberId=mid, role=body.role)
        return public_member(doc)

    def list(self, clinic_id: str, limit: int, continuation: str | None) -> Page:
        return query_page(self._documents, CLINICS, clinic_id, {"type": "member"}, order_by="email",
                          descending=False, limit=limit, continuation=continuation)

    def remove(self, actor: Principal, clinic_id: str, mid: str) -> None:
        doc = self._read(clinic_id, mid)
        if doc is None or doc.get("type") != "member":
            raise member_not_found(mid)
        if doc["role"] == CLINIC_ADMIN:
            admins = query_page(self._documents, CLINICS, clinic_id, {"type": "member", "role": CLINIC_ADMIN},
                                order_by="email", descending=False, limit=2, continuation=None)
            if len(admins.items) < 2:
                raise Problem(409, "last-clinic-admin", "Last clinic admin",
                              "A clinic keeps at least one clinic_admin: add another before removing this one.")
        # The member document first: every access check reads it, so access ends with this delete.
        try:
            self._documents.delete(CLINICS, clinic_id, mid)
        except NotFound:
            raise member_not_found(mid) from None
        if doc.get("objectId"):
            try:
                self._documents.delete(CLINICS, clinic_id, oid_index_id(clinic_id, doc["objectId"]))
            except NotFound:
                pass
        self._audit.record(clinic_partition(clinic_id), "member.removed", actor_of(actor, "clinician"),
                           clinic={"id": clinic_id}, memberId=mid)
