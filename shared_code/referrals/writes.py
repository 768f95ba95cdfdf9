"""The one write loop of a referral: read -> change -> ETag-guarded replace -> on a conflict re-read
and apply the change again (a few times, then 503 Busy), as sharing does.

`change(current)` is pure and may raise a domain error (a 409 from the state table, a 422): it is
applied to the FRESH referral on every attempt, so a rule is always checked against what is stored,
and two reviewers sending outcomes at once cannot both pass `awaiting_review`.

A write that notifies goes through the outbox (`Notice`): the event id is stored in the referral in
the same write, so the notification is sent if and only if the change happened. Its dedupe key
names the referral and the length of its log, so a second submission (after information was
requested) is a second notification, and a retried one is not.

After each successful write the review clock's index is kept (`Deadlines.track`): the timers find
referrals through it; and the referring clinic's pointer takes the referral's status (its sent list
filters on it). A failure there is logged, not answered: the change has happened, and answering 500
would invite a retry that the state table then refuses; the next change of the referral repairs both."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from shared_code.errors import Busy, ReferralNotFound
from shared_code.notifications.contract import Outbox, SourceRef
from shared_code.ports.errors import PreconditionFailed
from shared_code.referrals.records import Referral
from shared_code.referrals.repository import ReferralRepository
from shared_code.settings import CLINICS

log = logging.getLogger(__name__)
_ATTEMPTS = 4  # fresh reads before answering Busy: contention on one referral is a handful of people


class Deadlines(Protocol):
    """shared_code/referrals/deadlines.py (the review clock's index)."""

    def track(self, referral: Referral) -> None: ...


@dataclass(frozen=True)
class Notice:
    kind: str
    data: dict[str, Any]


class ReferralWrites:
    def __init__(self, records: ReferralRepository, outbox: Outbox, deadlines: Deadlines):
        self._records = records
        self._outbox = outbox
        self._deadlines = deadlines

    def update(self, referral: Referral, change: Callable[[Referral], Referral],
               notice: Callable[[Referral], Notice] | None = None) -> Referral:
        """`change` applied to `referral` (re-read on a conflict) and written; the stored referral."""
        current = referral
        for _ in range(_ATTEMPTS):
            updated = change(current)
            try:
                written = self._write(updated, notice(updated) if notice else None)
            except PreconditionFailed:
                current = self._records.get(referral.service_clinic_id, referral.id)
                if current is None:
                    raise ReferralNotFound(referral.id) from None
                continue
            self.track(written)
            return written
        raise Busy("The referral is being changed by someone else; try again.", retry_after=1)

    def track(self, referral: Referral) -> None:
        for index, keep in (("referral clock", self._deadlines.track), ("sent pointer", self._records.point)):
            try:
                keep(referral)
            except Exception as exc:  # noqa: BLE001 - see the module docstring
                log.warning("%s not kept: referral=%s error=%s", index, referral.id, type(exc).__name__)

    def _write(self, referral: Referral, notice: Notice | None) -> Referral:
        if notice is None:
            return self._records.replace(referral)
        source = SourceRef(CLINICS, referral.service_clinic_id, referral.id)
        return self._outbox.emit(notice.kind, notice.data, source,
                                 lambda event_id: self._records.replace(referral, event_id),
                                 dedupe_key=f"{notice.kind}:{referral.id}:{len(referral.log)}")
