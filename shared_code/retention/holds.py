"""Legal holds: a platform admin stops every retention action for one patient (python -m
shared_code.cli legal-hold ...). Setting and clearing are audited in the patient's audit partition,
which the hold itself keeps from deletion. A hold does not stop an erasure the patient asks for:
that is their right under UK GDPR Art. 17, decided outside this code (the DPO may refuse it under
Art. 17(3)(e) before anyone calls DELETE /api/me)."""
from __future__ import annotations

from shared_code.clock import Clock, iso
from shared_code.retention.records import LegalHold
from shared_code.retention.repository import HOLDS, RetentionRepository
from shared_code.settings import DIRECTORY
from shared_code.sharing.audit import AuditLog
from shared_code.sharing.records import Actor


class LegalHolds:
    def __init__(self, repository: RetentionRepository, audit: AuditLog, clock: Clock):
        self._repository = repository
        self._audit = audit
        self._clock = clock

    def held(self, patient_id: str) -> bool:
        return self._repository.hold(patient_id) is not None

    def set(self, patient_id: str, reason: str, by: str) -> LegalHold:
        """`reason`: a case reference (no clinical text); `by`: the admin's name or object id."""
        hold = LegalHold(id=patient_id, patient_id=patient_id, reason=reason, set_by=by, set_at=iso(self._clock.now()))
        self._repository.put_hold(hold)
        self._audit.record(patient_id, "legal_hold.set", _admin(by))
        return hold

    def clear(self, patient_id: str, by: str) -> bool:
        """False when there was no hold (nothing is audited then)."""
        if not self._repository.delete(DIRECTORY, HOLDS, patient_id):
            return False
        self._audit.record(patient_id, "legal_hold.cleared", _admin(by))
        return True

    def list(self) -> list[LegalHold]:
        return self._repository.holds()


def _admin(by: str) -> Actor:
    return Actor(role="platform_admin", subject=by)
