"""Who looked at a referral: views, thumbnails and exports of a referral's data, as append-only
`AuditEntry` records in the `audit` container, partition `referral:<referralId>` (one partition
per referral, so a referral's access history is a single-partition query, and it outlives the
referral's images like a patient's access log outlives their account).

State changes are not recorded here: they are the referral's own `log` (ReferralEvent), written in
the same document write as the change, so a change and its record can never part.

An entry names the member, their clinic and the referral/image ids: never the patient, an NHS
number or clinical text (sharing/audit.py's AuditEntry rules)."""
from __future__ import annotations

from shared_code import paging
from shared_code.access import ReferralAccess
from shared_code.ports.documents import DocumentStore, Query
from shared_code.settings import AUDIT
from shared_code.sharing.audit import AuditLog, actor_of
from shared_code.sharing.records import AuditEntry


def referral_partition(referral_id: str) -> str:
    return f"referral:{referral_id}"


class ReferralAudit:
    def __init__(self, log: AuditLog, documents: DocumentStore):
        self._log = log
        self._documents = documents

    def record(self, access: ReferralAccess, action: str, image_id: str | None = None) -> AuditEntry:
        """`action`: e.g. `referral.viewed`, `referral.image_viewed`, `referral.thumbnail_viewed`,
        `referral.exported`. Written before the data is answered: an unaudited view is not served."""
        return self._log.record(referral_partition(access.referral.id), action,
                                actor_of(access.principal, "clinician"), clinic=access.clinic.ref(),
                                referral_id=access.referral.id, member_id=access.member.id, image_id=image_id)

    def entries(self, referral_id: str, limit: int = 200) -> list[AuditEntry]:
        """The referral's access entries, oldest first (for tests and investigations)."""
        query = Query(referral_partition(referral_id), {"type": "audit"}, order_by="sortKey", limit=limit)
        return [AuditEntry.from_stored(s) for s in paging.every(self._documents, AUDIT, query)]
