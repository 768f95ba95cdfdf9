"""Share grants: a patient shares one folder with one clinic, for a time and for purposes.

Each grant is stored twice so that both sides use point reads:
- `clinics` / partition clinicId / id grantId (`type: grant`): the clinician side, read by every
  access check (shared_code/access.py); carries the patient id needed to reach the images;
- `patients` / partition patientId / id grantId (`type: share`): the patient side, for the folder's
  share list and for revocation.
The consent itself is a separate `type: consent` document in the patient's partition, written once
and never changed: version, acceptance, purposes, expiry, the clinic name shown, and when. Revoking
sets `revokedAt` on both grant copies (clinic side first: that is what access checks read) and
leaves the consent as written, so "what had the patient agreed to on date X" stays answerable.

Status is never stored: it is computed against the clock at every check, to the second
(`expired` when now >= expiresAt; `revoked` wins over `expired`). The timers that tell the patient
a share ends soon or has ended find grants by a `directory` / `grant-expiry` entry written here
(shared_code/sharing/expiry.py)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.ids import new_id
from shared_code.notifications.contract import SHARE_CREATED, SourceRef
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.problems import Problem
from shared_code.repositories import paging
from shared_code.repositories.patients import PatientRepository
from shared_code.services.folders import folder_not_found
from shared_code.settings import CLINICS
from shared_code.sharing.audit import AuditLog, actor_of
from shared_code.sharing.clinics import ClinicService
from shared_code.sharing.events import OutboxProvider, emit, with_event
from shared_code.sharing.expiry import ExpiryIndex
from shared_code.sharing.schemas import MAX_SHARE_DAYS, ShareIn
from shared_code.sharing.store import parse_time

_MAX_QUERY_ROUNDS = 10  # a filtered worklist page stops after this many store pages (bounded cost)


def grant_status(doc: dict[str, Any], now: datetime) -> str:
    if doc.get("revokedAt"):
        return "revoked"
    return "expired" if now >= parse_time(doc["expiresAt"]) else "active"


def public_grant(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"id": doc["id"], "clinicId": doc["clinicId"], "clinicName": doc["clinicName"], "folderId": doc["folderId"],
            "purposes": doc["purposes"], "expiresAt": doc["expiresAt"], "status": grant_status(doc, now),
            "createdAt": doc["createdAt"], "revokedAt": doc.get("revokedAt")}


def share_not_found(grant_id: str) -> Problem:
    return Problem(404, "share-not-found", "No such share", f"No share {grant_id} in this account.")


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, detail=f"{field}: {message}", errors=[{"field": field, "message": message}])


class GrantService:
    def __init__(self, documents: DocumentStore, patients: PatientRepository, clinics: ClinicService,
                 audit: AuditLog, clock: Clock, outbox: OutboxProvider):
        self._documents = documents
        self._patients = patients
        self._clinics = clinics
        self._audit = audit
        self._clock = clock
        self._outbox = outbox
        self._expiry_index = ExpiryIndex(documents)  # what the expiry timers find grants by (expiry.py)

    # --- patient side ---
    def _require_folder(self, patient_id: str, folder_id: str) -> dict[str, Any]:
        try:
            return self._patients.get(patient_id, folder_id, "folder").doc
        except NotFound:
            raise folder_not_found(folder_id) from None

    def _expiry(self, now: datetime, body: ShareIn) -> datetime:
        if body.durationDays is not None:
            return now + timedelta(days=body.durationDays)
        expires = body.expiresAt.replace(microsecond=0)  # status is exact to the second
        if expires <= now:
            raise _invalid("expiresAt", "must be in the future")
        if expires > now + timedelta(days=MAX_SHARE_DAYS):
            raise _invalid("expiresAt", f"must be at most {MAX_SHARE_DAYS} days ahead")
        return expires

    def create(self, principal: Principal, patient_id: str, folder_id: str, body: ShareIn) -> dict[str, Any]:
        self._require_folder(patient_id, folder_id)
        now = self._clock.now()
        expires = iso(self._expiry(now, body))
        clinic = self._clinics.resolve_code(patient_id, body.clinicCode)
        clinic_id, grant_id, created = clinic["clinicId"], new_id("g"), iso(now)
        # 1. The consent, as given: never changed afterwards.
        consent_id = new_id("cs")
        self._patients.create(patient_id, {
            "id": consent_id, "type": "consent", "grantId": grant_id, "folderId": folder_id, "clinicId": clinic_id,
            "clinicName": clinic["name"], "version": body.consent.version, "accepted": True,
            "purposes": body.purposes, "expiresAt": expires, "acceptedAt": created})
        # 2. The expiry timers' index entry (ids and times only) before any copy of the grant, so no
        #    grant exists that they cannot find; an entry without a grant is dropped when reached.
        self._expiry_index.add(grant_id, clinic_id, patient_id, expires, created)
        # 3. The patient's copy before the clinic's, so no grant can exist that its patient cannot revoke.
        share = {"id": grant_id, "type": "share", "clinicId": clinic_id, "clinicName": clinic["name"],
                 "folderId": folder_id, "purposes": body.purposes, "expiresAt": expires, "createdAt": created,
                 "revoked": False, "revokedAt": None, "consentId": consent_id}
        self._patients.create(patient_id, share)
        grant = {**share, "type": "grant", "patientId": patient_id}
        try:
            emit(self._outbox, SHARE_CREATED, {"clinicId": clinic_id, "grantId": grant_id},
                 SourceRef(CLINICS, clinic_id, grant_id),
                 lambda event_id: self._documents.create(CLINICS, clinic_id, with_event(grant, event_id)))
        except Exception:
            self._patients.delete(patient_id, grant_id)
            self._expiry_index.remove(grant_id)
            raise
        self._audit.record(patient_id, "share.created", actor_of(principal, "patient"),
                           clinic={"id": clinic_id, "name": clinic["name"]}, grantId=grant_id, folderId=folder_id,
                           purposes=body.purposes, expiresAt=expires, consentVersion=body.consent.version)
        return public_grant(share, now)

    def list_for_folder(self, patient_id: str, folder_id: str, limit: int,
                        continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        self._require_folder(patient_id, folder_id)
        page = self._patients.list(patient_id, "share", order_by="createdAt", descending=True, limit=limit,
                                   continuation=continuation, folderId=folder_id)
        now = self._clock.now()
        return [public_grant(s.doc, now) for s in page.items], page.continuation

    def revoke(self, principal: Principal, patient_id: str, grant_id: str) -> None:
        """Revoke at once; revoking a revoked share again is a no-op (204), not an error."""
        try:
            stored = self._patients.get(patient_id, grant_id, "share")
        except NotFound:
            raise share_not_found(grant_id) from None
        self._revoke(patient_id, stored, "patient", actor_of(principal, "patient"))

    def revoke_folder(self, patient_id: str, folder_id: str) -> None:
        """FolderService on_delete hook: a deleted folder's shares end with it."""
        for stored in list(self._patients.all(patient_id, "share", folderId=folder_id)):
            self._revoke(patient_id, stored, "folder-deleted", {"role": "patient"})

    def revoke_all(self, patient_id: str) -> None:
        """AccountService erasure step: every share ends before anything else is erased."""
        for stored in list(self._patients.all(patient_id, "share")):
            self._revoke(patient_id, stored, "account-erased", {"role": "patient"})

    def _revoke(self, patient_id: str, stored, reason: str, actor: dict[str, Any]) -> None:
        doc = stored.doc
        if doc.get("revokedAt"):
            return
        now = iso(self._clock.now())
        revoked = {"revoked": True, "revokedAt": now, "revokedReason": reason}
        self._update_clinic_side(doc["clinicId"], doc["id"], revoked)
        try:
            self._patients.replace(patient_id, {**doc, **revoked}, if_match=stored.etag)
        except PreconditionFailed:
            current = self._patients.get(patient_id, doc["id"], "share")
            if not current.doc.get("revokedAt"):
                self._patients.replace(patient_id, {**current.doc, **revoked}, if_match=current.etag)
        self._expiry_index.remove(doc["id"])  # a revoked grant is told nothing more
        self._audit.record(patient_id, "share.revoked", actor, clinic={"id": doc["clinicId"], "name": doc["clinicName"]},
                           grantId=doc["id"], folderId=doc["folderId"], reason=reason)

    def _update_clinic_side(self, clinic_id: str, grant_id: str, revoked: dict[str, Any]) -> None:
        for _ in range(3):
            try:
                stored = self._documents.read(CLINICS, clinic_id, grant_id)
            except NotFound:
                return
            if stored.doc.get("revokedAt"):
                return
            try:
                self._documents.replace(CLINICS, clinic_id, {**stored.doc, **revoked}, if_match=stored.etag)
                return
            except PreconditionFailed:
                continue
        raise Problem(503, detail="The share is busy; try revoking again.", headers={"Retry-After": "1"})

    # --- clinic side ---
    def clinic_grant(self, clinic_id: str, grant_id: str) -> dict[str, Any] | None:
        """Point read of the clinic's copy of a grant."""
        try:
            doc = self._documents.read(CLINICS, clinic_id, grant_id).doc
        except NotFound:
            return None
        return doc if doc.get("type") == "grant" else None

    def worklist(self, clinic_id: str, status: str | None, limit: int,
                 continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first. `revoked` is stored, so it filters in the query; active/expired depend on the
        clock, so they filter here, reading store pages until this page is full (each store page asks
        only for the rows still missing, so the continuation always follows the last row examined)."""
        equals: dict[str, Any] = {"type": "grant"}
        if status is not None:
            equals["revoked"] = status == "revoked"
        now = self._clock.now()
        items: list[dict[str, Any]] = []
        token = paging.from_client(continuation)
        for _ in range(_MAX_QUERY_ROUNDS):
            try:
                page = self._documents.query(CLINICS, Query(clinic_id, equals, order_by="createdAt", descending=True,
                                                            limit=limit - len(items), continuation=token))
            except ValueError:
                raise Problem(400, "invalid-continuation", "Invalid continuation token",
                              "The continuation token is not one this API issued.") from None
            items += [public_grant(s.doc, now) for s in page.items
                      if status is None or grant_status(s.doc, now) == status]
            token = page.continuation
            if not token or len(items) >= limit:
                break
        return items, paging.to_client(token)
