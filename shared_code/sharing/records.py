"""The sharing area's records, and the rules that belong to them.

Where each lives (container / partition / id):
- Clinic          clinics / clinicId / `clinic`
- ClinicListing   directory / `clinics` / clinicId          (the admin list's copy of the public fields)
- CodeEntry       directory / `clinic-codes` / the code     (a code resolves by one point read)
- Member          clinics / clinicId / `m_` + hash(clinic, e-mail)  (bound to an object id on first use)
- MemberOid       clinics / clinicId / `oid_` + hash(clinic, object id)   (names the member)
- Grant           clinics / clinicId / grantId              (the clinic's copy: every access check reads it)
- Share           patients / patientId / grantId            (the patient's copy: their list, revocation)
- Consent         patients / patientId / `cs_...`           (as given; never changed)
- Comment         patients / patientId / `cm_...`
- AuditEntry      audit / patientId, `clinic:<id>` or `referral:<id>` / `a_...`
- ExpiryEntry     directory / `grant-expiry` / grantId      (what the expiry timers find grants by)

Times are kept as stored (RFC 3339 text) and read with `clock.parse_time`. A grant's status is
never stored: `status_at(now)` computes it, to the second; `revoked` wins over `expired`. An
optional field that is None is left out of the stored document: absent and null read the same,
and a document says only what has happened to it (no `expiredNotifiedAt` until the patient is told)."""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from datetime import datetime
from enum import Enum
from typing import Any, Iterable, Literal

from shared_code.clock import iso, parse_time
from shared_code.records import Record
from shared_code.referrals.records import ReferralService


class Purpose(str, Enum):
    CLINICAL_CARE = "clinical_care"
    MEDICAL_RECORD = "medical_record"
    TEACHING = "teaching"
    RESEARCH = "research"


class Operation(str, Enum):
    VIEW = "view"              # the grant's detail, an image, a thumbnail
    COMMENT = "comment"
    EXPORT_EPR = "export_epr"  # the FHIR Bundle for the hospital record


# What each purpose allows (the reasons are in shared_code/access.py and the README).
PURPOSE_OPERATIONS: dict[Purpose, frozenset[Operation]] = {
    Purpose.CLINICAL_CARE: frozenset({Operation.VIEW, Operation.COMMENT}),
    Purpose.MEDICAL_RECORD: frozenset({Operation.VIEW, Operation.COMMENT, Operation.EXPORT_EPR}),
    Purpose.TEACHING: frozenset({Operation.VIEW}),
    Purpose.RESEARCH: frozenset({Operation.VIEW}),
}


# The purposes under which a clinician learns who the patient is (name, NHS number, date of birth).
# Teaching and research consent is to look at the photographs, not to know whose they are (GMC:
# recordings for teaching and research are used anonymised where possible): those grants show a
# pseudonym instead.
IDENTIFYING_PURPOSES = frozenset({Purpose.CLINICAL_CARE, Purpose.MEDICAL_RECORD})


def shows_identity(purposes: Iterable[str]) -> bool:
    return any(p in IDENTIFYING_PURPOSES for p in purposes)


def pseudonym(grant_id: str) -> str:
    """The patient's name under one grant that does not show identity: stable for the grant, and
    unlinkable between grants. No key is needed: the grant id is random and the clinician already
    holds it, so the pseudonym tells them nothing the grant id does not (a keyed hash would add
    nothing), while a fresh grant for the same patient gets an unrelated one."""
    digest = hashlib.sha256(f"pseudonym\x00{grant_id}".encode()).digest()
    letters = base64.b32encode(digest[:5]).decode()  # 8 characters of A-Z2-7
    return f"Patient {letters[:4]}-{letters[4:]}"


def allowed_operations(purposes: Iterable[str]) -> list[Operation]:
    """The operations any of `purposes` allows, in Operation order."""
    allowed = set().union(*(PURPOSE_OPERATIONS.get(p, frozenset()) for p in purposes))
    return [op for op in Operation if op in allowed]


class MemberRole(str, Enum):
    CLINICIAN = "clinician"
    CLINIC_ADMIN = "clinic_admin"


class GrantStatus(str, Enum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class RevokeReason(str, Enum):
    PATIENT = "patient"
    FOLDER_DELETED = "folder-deleted"
    ACCOUNT_ERASED = "account-erased"


class AuthorRole(str, Enum):
    PATIENT = "patient"
    CLINICIAN = "clinician"


def sort_key(at: datetime) -> str:
    """Orders documents written within the same second (the clock's resolution): the time, then a
    monotonic nanosecond counter, then randomness so two workers never tie."""
    return f"{iso(at)}|{time.time_ns():020d}|{secrets.token_hex(4)}"


def _hashed(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join((prefix, *parts)).encode()).digest()
    return f"{prefix}_" + base64.b32encode(digest[:20]).decode().lower()


def member_id(clinic_id: str, email: str) -> str:
    """A member's id, derived from (clinic, normalised e-mail): the caller's e-mail gives the id to
    read. The clinic id is inside the hash, so one person's ids differ between clinics."""
    return _hashed("m", clinic_id, email.strip().lower())


def oid_index_id(clinic_id: str, object_id: str) -> str:
    return _hashed("oid", clinic_id, object_id)


# --- clinics ---
class ClinicRef(Record):
    """A clinic as other records name it."""
    id: str
    name: str | None = None


class ClinicFacts(Record):
    """The public fields of a clinic, on the clinic itself and on its listing."""
    clinic_id: str
    name: str
    code: str
    notification_email: str
    subscription_ends_at: str
    created_at: str
    updated_at: str
    # As a dermatology service of the GP-referred pathway (referrals/records.py): a new clinic
    # accepts no referrals until a platform admin says so.
    referral_service: ReferralService = ReferralService()

    def subscription_active(self, now: datetime) -> bool:
        return now < parse_time(self.subscription_ends_at)

    def public(self, now: datetime) -> dict[str, Any]:
        return {"id": self.clinic_id, "name": self.name, "code": self.code,
                "notificationEmail": self.notification_email, "subscriptionEndsAt": self.subscription_ends_at,
                "createdAt": self.created_at, "updatedAt": self.updated_at,
                "subscriptionActive": self.subscription_active(now),
                "referralService": self.referral_service.to_doc()}


class Clinic(ClinicFacts):
    id: Literal["clinic"] = "clinic"
    type: Literal["clinic"] = "clinic"
    # The subscriptionEndsAt value its admins have been warned about (expiry.py).
    subscription_ending_notified_for: str | None = None
    # The clinic_admins' member ids. The last-admin rule is decided on this one document with an
    # ETag-guarded write (members.py), so two admins removing themselves at once cannot both pass it.
    # None on a clinic onboarded before it was kept: filled from the members on the first change.
    admin_ids: list[str] | None = None
    events: list[str] = []

    def ref(self) -> ClinicRef:
        return ClinicRef(id=self.clinic_id, name=self.name)

    def listing(self) -> "ClinicListing":
        return ClinicListing(id=self.clinic_id, **{f: getattr(self, f) for f in ClinicFacts.model_fields
                                                   if f != "etag"})

    def lookup(self) -> dict[str, str]:
        """What a patient may learn from a code: which clinic it is."""
        return {"clinicId": self.clinic_id, "name": self.name}


class ClinicListing(ClinicFacts):
    id: str
    type: Literal["clinic-index"] = "clinic-index"


class CodeEntry(Record):
    """A code's directory entry. A rotated-away code keeps its entry, marked retired, for good: a code
    once printed on a clinic's letters must never lead a patient to another clinic."""
    id: str  # the normalised code
    type: Literal["clinic-code"] = "clinic-code"
    clinic_id: str
    created_at: str
    retired_at: str | None = None


# --- members ---
class Member(Record):
    id: str
    type: Literal["member"] = "member"
    clinic_id: str
    email: str
    role: MemberRole
    object_id: str | None = None
    created_at: str
    added_by: str | None = None
    events: list[str] = []

    @property
    def is_admin(self) -> bool:
        return self.role is MemberRole.CLINIC_ADMIN

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "role": self.role.value, "objectId": self.object_id,
                "createdAt": self.created_at}


class MemberOid(Record):
    id: str
    type: Literal["member-oid"] = "member-oid"
    member_id: str


# --- grants ---
class GrantTerms(Record):
    """What both copies of a grant say: which folder, to which clinic, until when, for what."""
    id: str
    clinic_id: str
    clinic_name: str
    folder_id: str
    purposes: list[Purpose]
    expires_at: str
    created_at: str
    revoked: bool = False
    revoked_at: str | None = None
    revoked_reason: RevokeReason | None = None
    consent_id: str | None = None
    events: list[str] = []

    def status_at(self, now: datetime) -> GrantStatus:
        if self.revoked_at:
            return GrantStatus.REVOKED
        return GrantStatus.EXPIRED if now >= parse_time(self.expires_at) else GrantStatus.ACTIVE

    def allowed_operations(self) -> list[Operation]:
        return allowed_operations(self.purposes)

    def allows(self, operation: Operation | str) -> bool:
        return operation in self.allowed_operations()

    def revoked_for(self, reason: RevokeReason, at: str):
        return self.but(revoked=True, revoked_at=at, revoked_reason=reason)

    def public(self, now: datetime) -> dict[str, Any]:
        return {"id": self.id, "clinicId": self.clinic_id, "clinicName": self.clinic_name, "folderId": self.folder_id,
                "purposes": [p.value for p in self.purposes], "expiresAt": self.expires_at,
                "status": self.status_at(now).value, "createdAt": self.created_at, "revokedAt": self.revoked_at}


class Share(GrantTerms):
    """The patient's copy; the expiry timers mark on it what the patient has been told."""
    type: Literal["share"] = "share"
    expiring_notified_at: str | None = None
    expired_notified_at: str | None = None

    def for_clinic(self, patient_id: str) -> "Grant":
        terms = self.model_dump(include=set(GrantTerms.model_fields) - {"etag", "events"})
        return Grant(patient_id=patient_id, **terms)


class Grant(GrantTerms):
    """The clinic's copy, read by every access check; it names the patient whose images it opens."""
    type: Literal["grant"] = "grant"
    patient_id: str

    @property
    def shows_identity(self) -> bool:
        return shows_identity(self.purposes)

    @property
    def pseudonym(self) -> str:
        return pseudonym(self.id)

    def public(self, now: datetime) -> dict[str, Any]:
        """As the clinic sees it (the worklist): a grant that does not show identity names its
        patient by the grant's pseudonym; one that does leaves identity to the grant's detail."""
        patient = None if self.shows_identity else {"pseudonym": self.pseudonym}
        return {**super().public(now), "patient": patient}


class Consent(Record):
    id: str
    type: Literal["consent"] = "consent"
    grant_id: str
    folder_id: str
    clinic_id: str
    clinic_name: str
    version: str
    accepted: bool
    purposes: list[Purpose]
    expires_at: str
    accepted_at: str


class ExpiryEntry(Record):
    """Ids and times only: where the expiry timers look, never what they decide on."""
    id: str  # the grant id
    type: Literal["grant-expiry"] = "grant-expiry"
    grant_id: str
    clinic_id: str
    patient_id: str
    expires_at: str
    created_at: str
    expiring_notified: bool = False


# --- comments ---
class Comment(Record):
    id: str
    type: Literal["comment"] = "comment"
    folder_id: str
    image_id: str | None = None
    text: str
    author_role: AuthorRole
    author_name: str
    clinic: ClinicRef | None = None
    created_at: str
    sort_key: str
    grant_id: str | None = None
    events: list[str] = []

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "folderId": self.folder_id, "imageId": self.image_id, "text": self.text,
                "authorRole": self.author_role.value, "authorName": self.author_name,
                "clinic": self.clinic.to_doc() if self.clinic else None, "createdAt": self.created_at}


# --- the audit trail ---
class Actor(Record):
    role: str  # patient, clinician or platform_admin
    issuer: str | None = None
    subject: str | None = None
    name: str | None = None
    email: str | None = None


class AuditEntry(Record):
    """Who did what, when, on what: ids and non-clinical facts only."""
    id: str
    type: Literal["audit"] = "audit"
    at: str
    sort_key: str
    action: str
    actor: Actor
    actor_role: str
    clinic: ClinicRef | None = None
    grant_id: str | None = None
    folder_id: str | None = None
    image_id: str | None = None
    referral_id: str | None = None
    comment_id: str | None = None
    member_id: str | None = None
    role: MemberRole | None = None
    purposes: list[Purpose] | None = None
    reason: RevokeReason | None = None
    fields: list[str] | None = None
    expires_at: str | None = None
    consent_version: str | None = None
    format: str | None = None

    def public(self) -> dict[str, Any]:
        """The patient's access log entry."""
        return {"id": self.id, "at": self.at, "action": self.action,
                "actor": {"role": self.actor.role, "name": self.actor.name, "email": self.actor.email},
                "clinic": self.clinic.to_doc() if self.clinic else None, "grantId": self.grant_id,
                "folderId": self.folder_id, "imageId": self.image_id}
