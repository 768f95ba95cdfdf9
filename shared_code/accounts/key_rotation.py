"""Re-wraps every owner key under the newest KEK version: each patient's key (on the account
record) and each referral's key (`Referral.referral_key`, wrapping that referral's images).

Only the wrapped keys change (one small ETag-guarded write per owner); no DEK and no image byte is
touched. Resumable by construction: a key already under the current version is skipped, so a run
stopped half way is simply run again. Old KEK versions keep unwrapping meanwhile: disable them only
after a run reports nothing left to do.

Referrals are found without a cross-partition query: the clinics' listing (`directory` /
`clinics`) names every clinic, and a clinic's referrals are one single-partition query in its own
partition (a referral lives in its service's partition, drafts included). A referral changed by
its users while we worked loses the write (PreconditionFailed) and is counted failed: run again."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from shared_code.accounts.repository import AccountRepository
from shared_code.crypto import unwrap_patient_key, wrapped_key_from_dict, wrapped_key_to_dict
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.ports.keys import KeyWrapper
from shared_code.referrals.records import Referral
from shared_code.referrals.repository import ReferralRepository
from shared_code.sharing.repository import ClinicRepository

log = logging.getLogger(__name__)


@dataclass
class ReferralCounts:
    total: int = 0
    rewrapped: int = 0
    already_current: int = 0
    without_key: int = 0  # no image yet, or shredded: nothing to re-wrap


@dataclass
class RotationReport:
    current_kid: str
    total: int = 0
    rewrapped: int = 0
    already_current: int = 0
    gone: int = 0
    referrals: ReferralCounts = field(default_factory=ReferralCounts)
    # Patient ids, and `referral:<id>` for referrals: changed meanwhile or failed; the next run takes them.
    failed: list[str] = field(default_factory=list)


class KeyRotation:
    def __init__(self, accounts: AccountRepository, keys: KeyWrapper, clinics: ClinicRepository,
                 referrals: ReferralRepository):
        self._accounts = accounts
        self._keys = keys
        self._clinics = clinics
        self._referrals = referrals

    def run(self, *, dry_run: bool = False,
            progress: Callable[[Iterator[str]], Iterator[str]] = lambda ids: ids) -> RotationReport:
        """Visits every patient of the index, then every referral of every clinic; `progress` wraps
        the ids (a progress bar), once for the patients and once for the clinics."""
        report = RotationReport(current_kid=self._keys.current_kid())
        for patient_id in progress(self._accounts.patient_ids()):
            report.total += 1
            self._rotate_one(patient_id, report, dry_run)
        clinic_ids = [listing.clinic_id for listing in self._clinics.listings_by_end()]
        for clinic_id in progress(iter(clinic_ids)):
            # Collected first: the writes below must not disturb the query's paging.
            for referral in list(self._referrals.of_service(clinic_id)):
                self._rotate_referral(referral, report, dry_run)
        return report

    def _rotate_one(self, patient_id: str, report: RotationReport, dry_run: bool) -> None:
        account = self._accounts.find(patient_id)
        if account is None or not account.patient_key:
            report.gone += 1
            return
        self._rewrap(account.patient_key, report, report, dry_run, patient_id,
                     lambda wrapped: self._accounts.replace(account.but(patient_key=wrapped)))

    def _rotate_referral(self, referral: Referral, report: RotationReport, dry_run: bool) -> None:
        counts = report.referrals
        counts.total += 1
        if not referral.referral_key:
            counts.without_key += 1
            return
        # If-match the version just read: an image upload or a state change meanwhile wins, and the
        # next run re-wraps the key it left (the key itself never changes, only its wrapping).
        self._rewrap(referral.referral_key, counts, report, dry_run, f"referral:{referral.id}",
                     lambda wrapped: self._referrals.replace(referral.but(referral_key=wrapped)))

    def _rewrap(self, stored: dict[str, Any], counts: RotationReport | ReferralCounts, report: RotationReport,
                dry_run: bool, name: str, write: Callable[[dict[str, Any]], Any]) -> None:
        """One wrapped key: counted in `counts` as already current or re-wrapped (would be, in a dry
        run), or `name` added to the report's failures."""
        wrapped = wrapped_key_from_dict(stored)
        if wrapped.kid == report.current_kid:
            counts.already_current += 1
            return
        try:
            if not dry_run:
                write(wrapped_key_to_dict(self._keys.wrap(unwrap_patient_key(self._keys, wrapped))))
            counts.rewrapped += 1
            return
        except (PreconditionFailed, NotFound):
            pass  # changed meanwhile: the next run takes it
        except Exception as exc:  # noqa: BLE001 - one owner's failure must not stop the run
            log.error("re-wrap failed: %s", type(exc).__name__)
        report.failed.append(name)
