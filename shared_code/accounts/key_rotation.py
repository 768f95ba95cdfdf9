"""Re-wraps every patient key under the newest KEK version.

Only the wrapped patient keys change (one small write per patient); no DEK and no image byte is
touched. Resumable by construction: a patient whose key is already under the current version is
skipped, so a run stopped half way is simply run again. Old KEK versions keep unwrapping meanwhile:
disable them only after a run reports nothing left to do."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterator

from shared_code.accounts.repository import AccountRepository
from shared_code.crypto import unwrap_patient_key, wrapped_key_from_dict, wrapped_key_to_dict
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.ports.keys import KeyWrapper

log = logging.getLogger(__name__)


@dataclass
class RotationReport:
    current_kid: str
    total: int = 0
    rewrapped: int = 0
    already_current: int = 0
    gone: int = 0
    failed: list[str] = field(default_factory=list)


class KeyRotation:
    def __init__(self, accounts: AccountRepository, keys: KeyWrapper):
        self._accounts = accounts
        self._keys = keys

    def run(self, *, dry_run: bool = False,
            progress: Callable[[Iterator[str]], Iterator[str]] = lambda ids: ids) -> RotationReport:
        """Visits every patient of the index; `progress` wraps the ids (a progress bar)."""
        report = RotationReport(current_kid=self._keys.current_kid())
        for patient_id in progress(self._accounts.patient_ids()):
            report.total += 1
            self._rotate_one(patient_id, report, dry_run)
        return report

    def _rotate_one(self, patient_id: str, report: RotationReport, dry_run: bool) -> None:
        account = self._accounts.find(patient_id)
        if account is None or not account.patient_key:
            report.gone += 1
            return
        wrapped = wrapped_key_from_dict(account.patient_key)
        if wrapped.kid == report.current_kid:
            report.already_current += 1
            return
        if dry_run:
            report.rewrapped += 1
            return
        try:
            key = unwrap_patient_key(self._keys, wrapped)
            self._accounts.replace(account.but(patient_key=wrapped_key_to_dict(self._keys.wrap(key))))
            report.rewrapped += 1
        except (PreconditionFailed, NotFound):
            report.failed.append(patient_id)  # changed meanwhile: the next run takes it
        except Exception as exc:  # noqa: BLE001 - one patient's failure must not stop the run
            log.error("re-wrap failed: %s", type(exc).__name__)
            report.failed.append(patient_id)
