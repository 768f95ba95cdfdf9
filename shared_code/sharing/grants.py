"""Share grants: a patient shares one folder with one clinic, for a time and for purposes.

Each grant is stored twice so that both sides use point reads (grant_repository.py): the clinic's
`Grant`, read by every access check, and the patient's `Share`, for the folder's share list and for
revocation. The `Consent` is written once and never changed: revoking sets `revokedAt` on both
copies (clinic side first: that is what access checks read) and leaves the consent as written, so
"what had the patient agreed to on date X" stays answerable.

Status is never stored: `GrantTerms.status_at(now)` computes it at every check, to the second. The
timers that tell the patient a share ends soon or has ended find grants by the `ExpiryEntry`
written here (expiry.py)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.errors import Busy, InvalidField, ShareNotFound
from shared_code.folders.repository import FolderRepository
from shared_code.ids import new_id
from shared_code.notifications.contract import SHARE_CREATED, Outbox, SourceRef
from shared_code.ports.errors import PreconditionFailed
from shared_code.settings import CLINICS, DIRECTORY, PATIENTS
from shared_code.sharing.audit import AuditLog, actor_of
from shared_code.sharing.clinics import ClinicService
from shared_code.sharing.events import emit
from shared_code.sharing.grant_repository import EXPIRY_PARTITION, ExpiryIndex, GrantRepository
from shared_code.sharing.records import Actor, Clinic, ClinicRef, Consent, RevokeReason, Share
from shared_code.sharing.schemas import MAX_SHARE_DAYS, GrantStatus, ShareIn

_MAX_QUERY_ROUNDS = 10  # a filtered worklist page stops after this many store pages (bounded cost)
_REVOKE_ATTEMPTS = 3    # fresh reads of the clinic's copy before answering Busy


class GrantService:
    def __init__(self, grants: GrantRepository, expiry_index: ExpiryIndex, folders: FolderRepository,
                 clinics: ClinicService, audit: AuditLog, clock: Clock, outbox: Outbox):
        self._grants = grants
        self._expiry_index = expiry_index
        self._folders = folders
        self._clinics = clinics
        self._audit = audit
        self._clock = clock
        self._outbox = outbox

    # --- patient side ---
    def create(self, principal: Principal, patient_id: str, folder_id: str, body: ShareIn) -> dict[str, Any]:
        self._folders.get(patient_id, folder_id)  # the patient's own folder, or FolderNotFound
        now = self._clock.now()
        expires = iso(_expiry(now, body))
        clinic = self._clinics.resolve_code(patient_id, body.clinicCode)
        grant_id, consent_id = new_id("g"), new_id("cs")
        # The share, its consent and its audit entry are one step (AuditLog.with_entry): the clinic's
        # copy, written last, says whether it happened; if not, every document it wrote goes.
        return self._audit.with_entry(
            lambda: self._create(patient_id, folder_id, body, clinic, grant_id, consent_id, now, expires),
            patient_id, "share.created", actor_of(principal, "patient"),
            written=SourceRef(CLINICS, clinic.clinic_id, grant_id),
            undo=[SourceRef(PATIENTS, patient_id, consent_id), SourceRef(PATIENTS, patient_id, grant_id),
                  SourceRef(DIRECTORY, EXPIRY_PARTITION, grant_id)],
            clinic=clinic.ref(), grant_id=grant_id, folder_id=folder_id, purposes=body.purposes, expires_at=expires,
            consent_version=body.consent.version)

    def _create(self, patient_id: str, folder_id: str, body: ShareIn, clinic: Clinic, grant_id: str,
                consent_id: str, now: datetime, expires: str) -> dict[str, Any]:
        created = iso(now)
        # 1. The consent, as given: never changed afterwards.
        consent = Consent(id=consent_id, grant_id=grant_id, folder_id=folder_id, clinic_id=clinic.clinic_id,
                          clinic_name=clinic.name, version=body.consent.version, accepted=True, purposes=body.purposes,
                          expires_at=expires, accepted_at=created)
        self._grants.create_consent(patient_id, consent)
        # 2. The expiry timers' entry before any copy of the grant, so no grant exists that they
        #    cannot find; an entry without a grant is dropped when reached.
        self._expiry_index.add(grant_id, clinic.clinic_id, patient_id, expires, created)
        # 3. The patient's copy before the clinic's, so no grant can exist that its patient cannot revoke.
        share = Share(id=grant_id, clinic_id=clinic.clinic_id, clinic_name=clinic.name, folder_id=folder_id,
                      purposes=body.purposes, expires_at=expires, created_at=created, consent_id=consent.id)
        self._grants.create_share(patient_id, share)
        grant = share.for_clinic(patient_id)
        try:
            emit(self._outbox, SHARE_CREATED, {"clinicId": clinic.clinic_id, "grantId": grant_id},
                 SourceRef(CLINICS, clinic.clinic_id, grant_id),
                 lambda event_id: self._grants.create_grant(grant, event_id))
        except Exception:
            self._grants.delete_share(patient_id, grant_id)
            self._expiry_index.remove(grant_id)
            raise
        return share.public(now)

    def list_for_folder(self, patient_id: str, folder_id: str, limit: int,
                        continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        self._folders.get(patient_id, folder_id)
        shares, continuation = self._grants.shares_page(patient_id, folder_id, limit, continuation)
        now = self._clock.now()
        return [share.public(now) for share in shares], continuation

    def revoke(self, principal: Principal, patient_id: str, grant_id: str) -> None:
        """Revoke at once; revoking a revoked share again is a no-op (204), not an error."""
        share = self._grants.share(patient_id, grant_id)
        if share is None:
            raise ShareNotFound(grant_id)
        self._revoke(patient_id, share, RevokeReason.PATIENT, actor_of(principal, "patient"))

    def revoke_folder(self, patient_id: str, folder_id: str) -> None:
        """The folders area's on-delete hook: a deleted folder's shares end with it."""
        for share in self._grants.shares(patient_id, folderId=folder_id):
            self._revoke(patient_id, share, RevokeReason.FOLDER_DELETED, Actor(role="patient"))

    def revoke_all(self, patient_id: str) -> None:
        """An erasure step: every share ends before anything else is erased."""
        for share in self._grants.shares(patient_id):
            self._revoke(patient_id, share, RevokeReason.ACCOUNT_ERASED, Actor(role="patient"))

    def _revoke(self, patient_id: str, share: Share, reason: RevokeReason, actor: Actor) -> None:
        if share.revoked_at:
            return
        now = iso(self._clock.now())
        # The clinic's copy ends access (every check reads it): its revocation and the audit entry are
        # one step (AuditLog.with_entry), proven by that copy holding this revokedAt.
        self._audit.with_entry(
            lambda: self._revoke_clinic_copy(share.clinic_id, share.id, reason, now), patient_id, "share.revoked",
            actor, written=SourceRef(CLINICS, share.clinic_id, share.id), written_holds=("revokedAt", now),
            clinic=ClinicRef(id=share.clinic_id, name=share.clinic_name), grant_id=share.id, folder_id=share.folder_id,
            reason=reason)
        try:
            self._grants.replace_share(patient_id, share.revoked_for(reason, now))
        except PreconditionFailed:
            current = self._grants.share(patient_id, share.id)
            if current is not None and not current.revoked_at:
                self._grants.replace_share(patient_id, current.revoked_for(reason, now))
        self._expiry_index.remove(share.id)  # a revoked grant is told nothing more

    def _revoke_clinic_copy(self, clinic_id: str, grant_id: str, reason: RevokeReason, at: str) -> None:
        for _ in range(_REVOKE_ATTEMPTS):
            grant = self._grants.grant(clinic_id, grant_id)
            if grant is None or grant.revoked_at:
                return
            try:
                self._grants.replace_grant(grant.revoked_for(reason, at))
                return
            except PreconditionFailed:
                continue
        raise Busy("The share is busy; try revoking again.", retry_after=1)

    # --- clinic side ---
    def worklist(self, clinic_id: str, status: GrantStatus | None, limit: int,
                 continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first. `revoked` is stored, so it filters in the query; active/expired depend on the
        clock, so they filter here, reading store pages until this page is full (each store page asks
        only for the rows still missing, so the continuation always follows the last row examined)."""
        revoked = None if status is None else status == "revoked"
        now = self._clock.now()
        items: list[dict[str, Any]] = []
        for _ in range(_MAX_QUERY_ROUNDS):
            grants, continuation = self._grants.worklist_page(clinic_id, revoked, limit - len(items), continuation)
            items += [grant.public(now) for grant in grants if status is None or grant.status_at(now) == status]
            if not continuation or len(items) >= limit:
                break
        return items, continuation


def _expiry(now: datetime, body: ShareIn) -> datetime:
    if body.durationDays is not None:
        return now + timedelta(days=body.durationDays)
    expires = body.expiresAt.replace(microsecond=0)  # status is exact to the second
    if expires <= now:
        raise InvalidField(("expiresAt", "must be in the future"))
    if expires > now + timedelta(days=MAX_SHARE_DAYS):
        raise InvalidField(("expiresAt", f"must be at most {MAX_SHARE_DAYS} days ahead"))
    return expires
