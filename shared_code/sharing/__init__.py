"""Sharing with clinics: clinics and their codes, memberships, share grants and consent, comments,
the audit trail, and the rate limit on clinic codes.

    records.py             the typed records, their enums and rules (grant status, purposes -> operations)
    repository.py          clinics, codes, listings and members (the `clinics` container and `directory`)
    grant_repository.py    both copies of a grant, the consent, the expiry timers' index
    comment_repository.py  comments, in the patient's partition
    audit.py               the append-only audit trail
    clinics.py, members.py, grants.py, comments.py   the services
    clinician.py           what a clinician sees through a checked grant (after shared_code/access.py)
    expiry.py              the timers: grants ending or ended, subscriptions ending
    fhir_export.py         the EPR Bundle
    codes.py, ratelimit.py, events.py, schemas.py

`Sharing` builds the services in dependency order; the Container holds one, and builds the access
gate (shared_code/access.py) and the clinician views on its repositories."""
from __future__ import annotations

from shared_code.clock import Clock
from shared_code.folders.repository import FolderRepository
from shared_code.images.contract import ImageReader
from shared_code.notifications.contract import Outbox
from shared_code.partitions import PatientPartition
from shared_code.ports.documents import DocumentStore
from shared_code.settings import Settings
from shared_code.sharing.audit import AuditLog
from shared_code.sharing.clinics import ClinicService
from shared_code.sharing.comment_repository import CommentRepository
from shared_code.sharing.comments import CommentService
from shared_code.sharing.grant_repository import ExpiryIndex, GrantRepository
from shared_code.sharing.grants import GrantService
from shared_code.sharing.members import MemberService
from shared_code.sharing.ratelimit import Limit, SharedRateLimiter
from shared_code.sharing.repository import ClinicRepository, MemberRepository


class Sharing:
    def __init__(self, documents: DocumentStore, patients: PatientPartition, folders: FolderRepository, clock: Clock,
                 settings: Settings, outbox: Outbox, images: ImageReader):
        # Repositories: the only code that reads and writes sharing's documents.
        self.clinic_records = ClinicRepository(documents)
        self.member_records = MemberRepository(documents)
        self.grant_records = GrantRepository(documents, patients)
        self.comment_records = CommentRepository(patients)
        self.audit = AuditLog(documents, clock)
        # Clinic-code attempts (lookups and shares), per patient and per client address, across instances.
        self.limiter = SharedRateLimiter(
            documents, clock, Limit(settings.clinic_code_attempts, settings.clinic_code_window_seconds),
            Limit(settings.clinic_code_address_attempts, settings.clinic_code_window_seconds),
            settings.trust_x_forwarded_for)
        self.members = MemberService(self.member_records, self.audit, clock, outbox, self.clinic_records)
        self.clinics = ClinicService(self.clinic_records, self.members, self.audit, clock, self.limiter)
        self.grants = GrantService(self.grant_records, ExpiryIndex(documents), folders, self.clinics, self.audit,
                                   clock, outbox)
        self.comments = CommentService(self.comment_records, folders, images, self.audit, clock, outbox)
