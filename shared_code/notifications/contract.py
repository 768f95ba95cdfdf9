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
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

SHARE_CREATED = "share.created"
COMMENT_CREATED = "comment.created"
GRANT_EXPIRING = "grant.expiring"
GRANT_EXPIRED = "grant.expired"
UPLOAD_REJECTED = "upload.rejected"
MEMBER_ADDED = "member.added"
SUBSCRIPTION_ENDING = "subscription.ending"
EVENT_KINDS = (SHARE_CREATED, COMMENT_CREATED, GRANT_EXPIRING, GRANT_EXPIRED, UPLOAD_REJECTED, MEMBER_ADDED,
               SUBSCRIPTION_ENDING)


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
