"""Clinics: onboarding and subscriptions (platform_admin), clinic codes (lookup, rotation).

Documents:
- `clinics` / partition clinicId / id `clinic`: the clinic (name, current code, notificationEmail,
  subscriptionEndsAt). The notifications dispatcher reads `notificationEmail` and `name` here.
- `directory` / partition `clinic-codes` / id = normalised code: `{clinicId}`. A code resolves by
  one point read; the clinic document must still name that code, so a rotated-away code stops
  working the moment the clinic document changes, even before its directory entry is deleted.
- `directory` / partition `clinics` / id = clinicId: a copy of the public fields, so the admin list
  is a single-partition query instead of a cross-partition scan."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.ids import new_id
from shared_code.ports.documents import DocumentStore, Page
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.problems import Problem
from shared_code.settings import CLINICS, DIRECTORY
from shared_code.sharing import codes
from shared_code.sharing.audit import AuditLog, actor_of, clinic_partition
from shared_code.sharing.members import CLINIC_ADMIN, MemberService
from shared_code.sharing.ratelimit import TokenBucketLimiter
from shared_code.sharing.schemas import ClinicIn, ClinicPatch, MemberIn
from shared_code.sharing.store import parse_time, query_page

CLINIC_DOC_ID = "clinic"
CODES_PARTITION = "clinic-codes"
INDEX_PARTITION = "clinics"
_PUBLIC = ("name", "code", "notificationEmail", "subscriptionEndsAt", "createdAt", "updatedAt")


def subscription_active(clinic: dict[str, Any], now: datetime) -> bool:
    return now < parse_time(clinic["subscriptionEndsAt"])


def public_clinic(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"id": doc["clinicId"], **{k: doc[k] for k in _PUBLIC}, "subscriptionActive": subscription_active(doc, now)}


def code_not_found() -> Problem:
    # One answer for unknown, rotated-away and unsubscribed codes: a lookup reveals nothing else.
    return Problem(404, "clinic-code-not-found", "Unknown clinic code",
                   "No subscribed clinic has this code. Check the code in your letter.")


class ClinicService:
    def __init__(self, documents: DocumentStore, members: MemberService, audit: AuditLog, clock: Clock,
                 limiter: TokenBucketLimiter):
        self._documents = documents
        self._members = members
        self._audit = audit
        self._clock = clock
        self.limiter = limiter

    # --- reads ---
    def get(self, clinic_id: str) -> dict[str, Any] | None:
        """Point read of the clinic document."""
        try:
            return self._documents.read(CLINICS, clinic_id, CLINIC_DOC_ID).doc
        except NotFound:
            return None

    def list(self, limit: int, continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        page: Page = query_page(self._documents, DIRECTORY, INDEX_PARTITION, {"type": "clinic-index"},
                                order_by="createdAt", descending=True, limit=limit, continuation=continuation)
        now = self._clock.now()
        return [public_clinic(s.doc, now) for s in page.items], page.continuation

    # --- platform_admin ---
    def onboard(self, actor: Principal, body: ClinicIn) -> dict[str, Any]:
        clinic_id = new_id("cl")
        now = iso(self._clock.now())
        try:
            self._documents.create(DIRECTORY, CODES_PARTITION, {"id": body.code, "type": "clinic-code",
                                                                "clinicId": clinic_id, "createdAt": now})
        except Conflict:
            raise Problem(409, "clinic-code-taken", "Clinic code taken", "Another clinic already uses this code.") from None
        doc = {"id": CLINIC_DOC_ID, "type": "clinic", "clinicId": clinic_id, "name": body.name, "code": body.code,
               "notificationEmail": body.notificationEmail, "subscriptionEndsAt": iso(body.subscriptionEndsAt),
               "createdAt": now, "updatedAt": now}
        try:
            self._documents.create(CLINICS, clinic_id, doc)
        except Exception:
            self._documents.delete(DIRECTORY, CODES_PARTITION, body.code)  # free the code again
            raise
        self._index(doc)
        self._audit.record(clinic_partition(clinic_id), "clinic.created", actor_of(actor, "platform_admin"),
                           clinic={"id": clinic_id, "name": body.name})
        self._members.add(actor, "platform_admin", clinic_id, MemberIn(email=body.adminEmail, role=CLINIC_ADMIN))
        return public_clinic(doc, self._clock.now())

    def patch(self, actor: Principal, clinic_id: str, patch: ClinicPatch) -> dict[str, Any]:
        sent = patch.model_fields_set
        nulls = [f for f in sent if getattr(patch, f) is None]
        if nulls:
            raise Problem(422, detail="; ".join(f"{f}: cannot be null" for f in sorted(nulls)),
                          errors=[{"field": f, "message": "cannot be null"} for f in sorted(nulls)])
        try:
            stored = self._documents.read(CLINICS, clinic_id, CLINIC_DOC_ID)
        except NotFound:
            raise Problem(404, "clinic-not-found", "No such clinic", f"No clinic {clinic_id}.") from None
        doc = dict(stored.doc)
        for name in sent:
            value = getattr(patch, name)
            doc[name] = iso(value) if isinstance(value, datetime) else value
        doc["updatedAt"] = iso(self._clock.now())
        try:
            self._documents.replace(CLINICS, clinic_id, doc, if_match=stored.etag)
        except PreconditionFailed:
            raise Problem(409, "conflict", detail="The clinic changed at the same time; try again.") from None
        self._index(doc)
        self._audit.record(clinic_partition(clinic_id), "clinic.updated", actor_of(actor, "platform_admin"),
                           clinic={"id": clinic_id, "name": doc["name"]}, fields=sorted(sent))
        return public_clinic(doc, self._clock.now())

    def _index(self, doc: dict[str, Any]) -> None:
        self._documents.upsert(DIRECTORY, INDEX_PARTITION, {"id": doc["clinicId"], "type": "clinic-index",
                                                            "clinicId": doc["clinicId"],
                                                            **{k: doc[k] for k in _PUBLIC}})

    # --- codes ---
    def resolve_code(self, caller_key: str, code: str) -> dict[str, Any]:
        """The subscribed clinic a code names now, rate limited per caller; 404 otherwise."""
        self.limiter.take(caller_key)
        normalised = codes.normalise(code)
        if not codes.is_valid(normalised):
            raise code_not_found()
        try:
            entry = self._documents.read(DIRECTORY, CODES_PARTITION, normalised).doc
        except NotFound:
            raise code_not_found() from None
        clinic = self.get(entry["clinicId"])
        if clinic is None or clinic.get("code") != normalised or not subscription_active(clinic, self._clock.now()):
            raise code_not_found()
        return clinic

    def lookup(self, patient_id: str, code: str) -> dict[str, str]:
        clinic = self.resolve_code(patient_id, code)
        return {"clinicId": clinic["clinicId"], "name": clinic["name"]}

    def rotate_code(self, actor: Principal, clinic_id: str) -> str:
        try:
            stored = self._documents.read(CLINICS, clinic_id, CLINIC_DOC_ID)
        except NotFound:
            raise Problem(404, "clinic-not-found", "No such clinic", f"No clinic {clinic_id}.") from None
        old = stored.doc["code"]
        now = iso(self._clock.now())
        for _ in range(5):
            new = codes.rotated(old)
            try:
                self._documents.create(DIRECTORY, CODES_PARTITION, {"id": new, "type": "clinic-code",
                                                                    "clinicId": clinic_id, "createdAt": now})
                break
            except Conflict:
                continue
        else:
            raise Problem(503, detail="Could not find a free clinic code; try again.")
        doc = {**stored.doc, "code": new, "updatedAt": now}
        try:
            # From this write on the old code resolves to nothing (resolve_code compares with it).
            self._documents.replace(CLINICS, clinic_id, doc, if_match=stored.etag)
        except PreconditionFailed:
            self._documents.delete(DIRECTORY, CODES_PARTITION, new)
            raise Problem(409, "conflict", detail="The clinic changed at the same time; try again.") from None
        try:
            self._documents.delete(DIRECTORY, CODES_PARTITION, old)
        except NotFound:
            pass
        self._index(doc)
        self._audit.record(clinic_partition(clinic_id), "clinic.code_rotated", actor_of(actor, "clinician"),
                           clinic={"id": clinic_id, "name": doc["name"]})
        return new
