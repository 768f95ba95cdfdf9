"""The retention records. Where each lives (container / partition / id):

- LegalHold      directory / `legal-holds` / patient id      (set and cleared by a platform admin)
- ActivityEntry  directory / `account-activity` / patient id (when the account was last used; the notice)
- AuditDue       directory / `audit-due` / patient id        (an erased patient's audit trail, and when it goes;
                                                             or `referral:<id>`, a deleted referral's access log)
- ReferralRetention directory / `referral-retention` / referral id (a closed or cancelled referral, and when it goes)
- RetentionRun   audit / `retention` / `rr_...`              (each run of the timer, with its counts)

Ids, times and counts only; a hold's `reason` is a case reference, never clinical text."""
from __future__ import annotations

from typing import Literal

from shared_code.records import Record


class LegalHold(Record):
    id: str  # the patient id
    type: Literal["legal-hold"] = "legal-hold"
    patient_id: str
    reason: str
    set_by: str
    set_at: str


class ActivityEntry(Record):
    id: str  # the patient id
    type: Literal["account-activity"] = "account-activity"
    patient_id: str
    last_active_at: str
    # Set when the inactivity notice is emitted; the account may be erased `notice days` after it.
    notice_sent_at: str | None = None
    erase_after: str | None = None
    events: list[str] = []


class AuditDue(Record):
    id: str  # the patient id (its audit partition), or `referral:<id>` (referrals/audit.referral_partition)
    type: Literal["audit-due"] = "audit-due"
    patient_id: str
    erased_at: str
    delete_after: str


class ReferralRetention(Record):
    """A closed or cancelled referral (written at the change, retention/referrals.py): where it is
    and from when it may be deleted. Ids and times only."""
    id: str  # the referral id
    type: Literal["referral-retention"] = "referral-retention"
    referral_id: str
    service_clinic_id: str
    referring_clinic_id: str
    ended_at: str
    delete_after: str


class RetentionRun(Record):
    """One run of the retention timer: what it found and did, as counts."""
    id: str
    type: Literal["retention-run"] = "retention-run"
    at: str
    sort_key: str
    counts: dict[str, int]
