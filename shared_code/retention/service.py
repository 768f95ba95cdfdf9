"""The retention timer's run, and the account activity it decides on.

One run (daily; idempotent, so two at once or a rerun change nothing more):
1. inactive accounts: an account unused for RETENTION_INACTIVE_ACCOUNT_DAYS is sent a notice (through
   the outbox, ids only); RETENTION_INACTIVE_NOTICE_DAYS later, still unused, it is erased by
   AccountService.erase (the wrapped patient key goes first, so every image is unreadable at once);
   using the account again at any time cancels the notice;
2. audit trails: an erased patient's audit partition is deleted RETENTION_AUDIT_DAYS after erasure;
3. outbox markers older than RETENTION_OUTBOX_DAYS and notification dedupe records older than
   RETENTION_DEDUPE_DAYS are deleted (ids only; no patient is held by them);
4. the run is audited (`audit` / `retention`) with its counts.
A legal hold on a patient stops 1 and 2 for that patient. Uploads left in `incoming` go after
INCOMING_SWEEP_HOURS (shared_code/images/redrive.py, its own timer)."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from shared_code.accounts.records import AccountRecord
from shared_code.accounts.repository import AccountRepository
from shared_code.accounts.service import AccountService
from shared_code.clock import Clock, iso, parse_time
from shared_code.ids import new_id
from shared_code.notifications.contract import ACCOUNT_INACTIVE, Outbox, SourceRef
from shared_code.notifications.outbox import OUTBOX_PARTITION, record_event
from shared_code.notifications.sent import SENT_PARTITION
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.retention.holds import LegalHolds
from shared_code.retention.records import ActivityEntry, AuditDue, RetentionRun
from shared_code.retention.repository import ACTIVITY, AUDIT_DUE, RetentionRepository
from shared_code.settings import DIRECTORY, Settings
from shared_code.sharing.records import sort_key

log = logging.getLogger(__name__)


class AccountActivity:
    """When each account was last used, written at most once a day per account (the account record
    says the day, so the check costs nothing), and what an erasure leaves for retention to do."""

    def __init__(self, repository: RetentionRepository, accounts: AccountRepository, clock: Clock, settings: Settings):
        self._repository = repository
        self._accounts = accounts
        self._clock = clock
        self._audit_kept = timedelta(days=settings.retention_audit_days)

    def seen(self, account: AccountRecord) -> AccountRecord:
        now = iso(self._clock.now())
        if account.erasing or (account.last_active_at or "")[:10] == now[:10]:
            return account
        # A fresh entry has no notice: coming back cancels a pending erasure.
        self._repository.put_activity(ActivityEntry(id=account.patient_id, patient_id=account.patient_id,
                                                    last_active_at=now))
        try:
            return self._accounts.replace(account.but(last_active_at=now))
        except (PreconditionFailed, NotFound):
            return account  # changed meanwhile: the entry says today already, and tomorrow tries again

    def after_erasure(self, patient_id: str) -> None:
        """An erasure step: the audit trail outlives the account by RETENTION_AUDIT_DAYS."""
        now = self._clock.now()
        self._repository.put_audit_due(AuditDue(id=patient_id, patient_id=patient_id, erased_at=iso(now),
                                                delete_after=iso(now + self._audit_kept)))
        self._repository.delete(DIRECTORY, ACTIVITY, patient_id)


class RetentionJobs:
    def __init__(self, repository: RetentionRepository, holds: LegalHolds, accounts: AccountService,
                 account_records: AccountRepository, outbox: Outbox, clock: Clock, settings: Settings):
        self._repository = repository
        self._holds = holds
        self._accounts = accounts
        self._account_records = account_records
        self._outbox = outbox
        self._clock = clock
        self._settings = settings

    def run(self) -> dict[str, int]:
        now = self._clock.now()
        s = self._settings
        counts: Counter[str] = Counter()
        held: set[str] = set()
        self._inactive_accounts(now, counts, held)
        self._audit_trails(now, counts, held)
        for name, partition, doc_type, field, days in (
                ("outbox_markers_deleted", OUTBOX_PARTITION, "outbox", "createdAt", s.retention_outbox_days),
                ("dedupe_records_deleted", SENT_PARTITION, "notification", "claimedAt", s.retention_dedupe_days)):
            due = self._repository.due(DIRECTORY, partition, doc_type, field, now - timedelta(days=days))
            counts[name] += sum(self._repository.delete(DIRECTORY, partition, d.doc["id"]) for d in due)
        counts["patients_on_hold_skipped"] = len(held)
        run = RetentionRun(id=new_id("rr"), at=iso(now), sort_key=sort_key(now), counts=dict(sorted(counts.items())))
        self._repository.record_run(run)
        log.info("retention run", extra={"event": "retention.run", **run.counts})
        return run.counts

    def _inactive_accounts(self, now, counts: Counter, held: set[str]) -> None:
        cutoff = now - timedelta(days=self._settings.retention_inactive_account_days)
        for stored in self._repository.due(DIRECTORY, ACTIVITY, "account-activity", "lastActiveAt", cutoff):
            entry = ActivityEntry.from_stored(stored)
            if self._holds.held(entry.patient_id):
                held.add(entry.patient_id)
            elif entry.notice_sent_at is None:
                counts["inactive_notices_sent"] += self._notify(entry, now)
            elif now >= parse_time(entry.erase_after or entry.notice_sent_at):
                counts["inactive_accounts_erased"] += self._erase(entry, cutoff)

    def _notify(self, entry: ActivityEntry, now) -> int:
        erase_after = iso(now + timedelta(days=self._settings.retention_inactive_notice_days))
        noticed = entry.but(notice_sent_at=iso(now), erase_after=erase_after)

        def write(event_id: str) -> None:
            self._repository.replace_activity(record_event(noticed.to_doc(), event_id), entry.etag)

        try:
            self._outbox.emit(ACCOUNT_INACTIVE, {"patientId": entry.patient_id, "eraseAfter": erase_after},
                              SourceRef(DIRECTORY, ACTIVITY, entry.patient_id), write,
                              dedupe_key=f"inactive.{entry.patient_id}.{entry.last_active_at}")
        except (PreconditionFailed, NotFound):
            return 0  # used again (or noticed by another run) meanwhile
        return 1

    def _erase(self, entry: ActivityEntry, cutoff) -> int:
        account = self._account_records.find(entry.patient_id)
        if account is None:  # erased by the patient meanwhile
            self._repository.delete(DIRECTORY, ACTIVITY, entry.patient_id)
            return 0
        if account.last_active_at and parse_time(account.last_active_at) > cutoff and not account.erasing:
            return 0  # used again: its entry is fresh already
        self._accounts.erase(entry.patient_id)
        return 1

    def _audit_trails(self, now, counts: Counter, held: set[str]) -> None:
        for stored in self._repository.due(DIRECTORY, AUDIT_DUE, "audit-due", "deleteAfter", now):
            due = AuditDue.from_stored(stored)
            if self._holds.held(due.patient_id):
                held.add(due.patient_id)
                continue
            counts["audit_entries_deleted"] += self._repository.delete_audit_partition(due.patient_id)
            counts["audit_trails_deleted"] += self._repository.delete(DIRECTORY, AUDIT_DUE, due.patient_id)
