"""Re-wraps every patient key under the newest KEK version.

Only the wrapped patient keys change (one small write per patient); no DEK and no image byte is
touched. Resumable by construction: a patient whose key is already under the current version is
skipped, so a run stopped half way is simply run again. Old KEK versions keep unwrapping meanwhile:
disable them only after a run reports nothing left to do."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterator

from shared_code.crypto import unwrap_patient_key, wrapped_key_from_dict, wrapped_key_to_dict
from shared_code.ports.documents import Query
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.services.accounts import PATIENT_INDEX
from shared_code.settings import DIRECTORY

log = logging.getLogger(__name__)




@dataclass
class RotationReport:
    current_kid: str
    total: int = 0
    rewrapped: int = 0
    already_current: int = 0
    gone: int = 0
    failed: list[str] = field(default_factory=list)


def patient_ids(documents) -> Iterator[str]:
    continuation = None
    while True:
        page = documents.query(DIRECTORY, Query(PATIENT_INDEX, limit=200, continuation=continuation))
        for stored in page.items:
            yield stored.doc["id"]
        if not page.continuation:
            return
        continuation = page.continuation


def rotate_patient_keys(container, *, dry_run: bool = False,
                        progress: Callable[[Iterator[str]], Iterator[str]] = lambda ids: ids) -> RotationReport:
    keys, patients = container.adapters.keys, container.patients
    report = RotationReport(current_kid=keys.current_kid())
    for patient_id in progress(patient_ids(container.adapters.documents)):
        report.total += 1
        stored = patients.account(patient_id)
        if stored is None or not stored.doc.get("patientKey"):
            report.gone += 1
            continue
        wrapped = wrapped_key_from_dict(stored.doc["patientKey"])
        if wrapped.kid == report.current_kid:
            report.already_current += 1
            continue
        if dry_run:
            report.rewrapped += 1
            continue
        try:
            key = unwrap_patient_key(keys, wrapped)
            doc = {**stored.doc, "patientKey": wrapped_key_to_dict(keys.wrap(key))}
            patients.replace(patient_id, doc, if_match=stored.etag)
            report.rewrapped += 1
        except (PreconditionFailed, NotFound):
            report.failed.append(patient_id)  # changed meanwhile: the next run takes it
        except Exception as exc:  # noqa: BLE001 - one patient's failure must not stop the run
            log.error("re-wrap failed: %s", type(exc).__name__)
            report.failed.append(patient_id)
    return report
