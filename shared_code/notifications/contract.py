"""What the rest of the domain needs to know about notifications: the event kinds, their data, and
the outbox through which a change and its notification are written in one logical step.

Events carry ids only (never an e-mail address, a name, an NHS number or clinical text): the
dispatcher resolves recipients when it sends, from the documents below, so the queue holds nothing
personal and a changed e-mail address is honoured.

| kind                  | data                                   | recipient (resolved at send time)                    |
|-----------------------|----------------------------------------|------------------------------------------------------|
| share.created         | clinicId, grantId                      | clinic doc `notificationEmail` (clinics/<clinicId>/clinic) |
| comment.created       | patientId, folderId, commentId         | patient account `email` if preferences.comments      |
| grant.expiring        | patientId, grantId                     | patient account `email` if preferences.shareExpiring |
| grant.expired         | patientId, grantId                     | patient account `email` if preferences.shareExpiring |
| upload.rejected       | patientId, imageId, reason             | patient account `email` if preferences.uploadRejected|
| member.added          | clinicId, memberId                     | member doc `email` (clinics/<clinicId>/<memberId>)   |
| subscription.ending   | clinicId, endsAt                       | every member with role clinic_admin                  |
| reminder.due          | patientId, folderId                    | patient account `email` if preferences.reminders and the folder is there |
| account.inactive      | patientId, eraseAfter                  | patient account `email` (a notice before erasure: no preference) |
| referral.submitted    | clinicId, referringClinicId, referralId, priority, reviewDueBy | the service clinic's `notificationEmail` |
| referral.outcome      | clinicId, serviceClinicId, referralId, priority | the referring clinic's `notificationEmail` |
| referral.due_today    | clinicId, day                          | the service's `notificationEmail`; the count from its `referral-digest` |
| referral.overdue      | clinicId, referralId                   | every clinic_admin of the service (clinicId) while it awaits review |
| referral.no_outcome   | clinicId, referralId                   | the referring member (`createdBy`), else the referring clinic's `notificationEmail` |
| referral.unacknowledged | clinicId, referralId                 | as referral.no_outcome, while the outcome is unacknowledged |

Every patient recipient also needs `emailVerified` on the account (accounts/service.py says why).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Protocol

SHARE_CREATED = "share.created"
COMMENT_CREATED = "comment.created"
GRANT_EXPIRING = "grant.expiring"
GRANT_EXPIRED = "grant.expired"
UPLOAD_REJECTED = "upload.rejected"
MEMBER_ADDED = "member.added"
SUBSCRIPTION_ENDING = "subscription.ending"
REMINDER_DUE = "reminder.due"
ACCOUNT_INACTIVE = "account.inactive"
# The referral pathway: a referral submitted (to the service), an outcome sent (to the referrer).
# Ids, the priority code and the due time only: never the patient, never clinical text.
REFERRAL_SUBMITTED = "referral.submitted"
REFERRAL_OUTCOME = "referral.outcome"
# The review clock's timers (referrals/deadlines.py); clinicId is the service's, where the referral lives.
REFERRAL_DUE_TODAY = "referral.due_today"
REFERRAL_OVERDUE = "referral.overdue"
REFERRAL_NO_OUTCOME = "referral.no_outcome"
REFERRAL_UNACKNOWLEDGED = "referral.unacknowledged"
EVENT_KINDS = (SHARE_CREATED, COMMENT_CREATED, GRANT_EXPIRING, GRANT_EXPIRED, UPLOAD_REJECTED, MEMBER_ADDED,
               SUBSCRIPTION_ENDING, REMINDER_DUE, ACCOUNT_INACTIVE, REFERRAL_SUBMITTED, REFERRAL_OUTCOME,
               REFERRAL_DUE_TODAY, REFERRAL_OVERDUE, REFERRAL_NO_OUTCOME, REFERRAL_UNACKNOWLEDGED)

# The data each kind carries (the table above): ids and codes only, never anything personal.
EVENT_DATA: dict[str, frozenset[str]] = {
    SHARE_CREATED: frozenset({"clinicId", "grantId"}),
    COMMENT_CREATED: frozenset({"patientId", "folderId", "commentId"}),
    GRANT_EXPIRING: frozenset({"patientId", "grantId"}),
    GRANT_EXPIRED: frozenset({"patientId", "grantId"}),
    UPLOAD_REJECTED: frozenset({"patientId", "imageId", "reason"}),
    MEMBER_ADDED: frozenset({"clinicId", "memberId"}),
    SUBSCRIPTION_ENDING: frozenset({"clinicId", "endsAt"}),
    REMINDER_DUE: frozenset({"patientId", "folderId"}),
    ACCOUNT_INACTIVE: frozenset({"patientId", "eraseAfter"}),
    REFERRAL_SUBMITTED: frozenset({"clinicId", "referringClinicId", "referralId", "priority", "reviewDueBy"}),
    REFERRAL_OUTCOME: frozenset({"clinicId", "serviceClinicId", "referralId", "priority"}),
    REFERRAL_DUE_TODAY: frozenset({"clinicId", "day"}),
    REFERRAL_OVERDUE: frozenset({"clinicId", "referralId"}),
    REFERRAL_NO_OUTCOME: frozenset({"clinicId", "referralId"}),
    REFERRAL_UNACKNOWLEDGED: frozenset({"clinicId", "referralId"}),
}
assert set(EVENT_DATA) == set(EVENT_KINDS)

# Ids, codes and RFC 3339 times: no spaces, no '@', nothing that could be a name or an address.
_DATA_VALUE = re.compile(r"^[A-Za-z0-9_.:+\-]{1,128}$")


def validate_event(kind: str, data: dict[str, Any]) -> None:
    """Raises ValueError unless `data` is exactly the fields of `kind`, each an id-like string."""
    if kind not in EVENT_DATA:
        raise ValueError(f"unknown notification kind {kind!r}")
    if set(data) != EVENT_DATA[kind]:
        raise ValueError(f"{kind} carries exactly {sorted(EVENT_DATA[kind])}")
    for name, value in data.items():
        # All digits is no id of ours, but it could be an NHS number or a phone number.
        if not isinstance(value, str) or not _DATA_VALUE.match(value) or value.replace(" ", "").isdigit():
            raise ValueError(f"{kind}.{name} must be an id, a code or a time")


@dataclass(frozen=True)
class SourceRef:
    """The document whose write the event belongs to: (container, partition key, id)."""

    container: str
    partition_key: str
    id: str


class Outbox(Protocol):
    def emit(self, kind: str, data: dict[str, Any], source: SourceRef,
             write: Callable[[str], Any], *, dedupe_key: str | None = None) -> Any:
        """Record `kind` with `data`, then call `write(event_id)`, which must perform the domain write
        of `source` and store `event_id` in that document's `events` list (same write). Returns what
        `write` returned. The notification is queued after the write succeeds; if the process dies in
        between, a sweeper queues it later; if `write` never happened, nothing is ever sent.
        Never raises because of the queue: a notification never fails the request that caused it."""
