"""Who is calling, as proven by a validated token."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cached_property

PATIENT = "patient"
CLINICIAN = "clinician"
PLATFORM_ADMIN = "platform_admin"
TOKEN_ROLES = frozenset({PATIENT, CLINICIAN, PLATFORM_ADMIN})


@dataclass(frozen=True)
class Principal:
    issuer: str
    subject: str
    roles: frozenset[str]
    name: str | None = None
    # Only set when the issuer vouches for it (verified e-mail); used to match clinic memberships.
    email: str | None = None
    object_id: str | None = None
    issuer_name: str = field(default="", compare=False)

    def has(self, role: str) -> bool:
        return role in self.roles

    @cached_property  # a hash, asked for several times a request
    def patient_id(self) -> str:
        """A patient's id is derived from (issuer, subject): stable, opaque, and it needs no lookup."""
        digest = hashlib.sha256(f"{self.issuer}\x00{self.subject}".encode()).digest()
        return "p_" + base64.b32encode(digest[:20]).decode().lower()
