"""Sharing with clinics: clinics and their codes, memberships, share grants, comments, the audit
trail, and the rate limit on clinic codes. `Sharing` wires them; the Container holds one."""
from __future__ import annotations

from typing import Callable

from shared_code.clock import Clock
from shared_code.ports.documents import DocumentStore
from shared_code.repositories.patients import PatientRepository
from shared_code.services.images_contract import ImageReader
from shared_code.sharing.audit import AuditLog
from shared_code.sharing.clinics import ClinicService
from shared_code.sharing.comments import CommentService
from shared_code.sharing.events import OutboxProvider
from shared_code.sharing.grants import GrantService
from shared_code.sharing.members import MemberService
from shared_code.sharing.ratelimit import TokenBucketLimiter


class Sharing:
    def __init__(self, documents: DocumentStore, patients: PatientRepository, clock: Clock,
                 outbox: OutboxProvider, images: Callable[[], ImageReader]):
        from shared_code.access import AccessPolicy
        from shared_code.sharing.clinician import ClinicianService

        self.audit = AuditLog(documents, clock)
        # Clinic-code attempts (lookups and shares), 10 per caller per minute with bursts of 10.
        self.limiter = TokenBucketLimiter(capacity=10, per_seconds=60)
        self.members = MemberService(documents, self.audit, clock, outbox)
        self.clinics = ClinicService(documents, self.members, self.audit, clock, self.limiter)
        self.grants = GrantService(documents, patients, self.clinics, self.audit, clock, outbox)
        self.comments = CommentService(patients, images, self.audit, clock, outbox)
        self.access = AccessPolicy(self.clinics, self.members, self.grants, images, clock)
        self.clinician = ClinicianService(patients, images, self.audit, clock)
