"""Patient accounts: create or update, read, and erase everything.

Erasure order matters: the account is first marked `erasing` (every later request is refused),
then the patient key is destroyed (so every image is unreadable at once, backups included), then
shares are revoked, blobs deleted, and finally the partition itself. A crash at any step leaves the
account `erasing`, and the next DELETE resumes."""
from __future__ import annotations

import logging
from typing import Callable

from shared_code.clock import Clock, iso
from shared_code.ports.errors import NotFound
from shared_code.problems import Problem
from shared_code.repositories.patients import ACCOUNT_ID, PatientRepository
from shared_code.schemas import Account, AccountIn
from shared_code.settings import DIRECTORY

log = logging.getLogger(__name__)

ErasureStep = Callable[[str], None]
PATIENT_INDEX = "patients"  # directory partition listing every patient (see services/key_rotation.py)


class AccountService:
    def add_erasure_step(self, step: ErasureStep) -> None:
        self._erasure_steps.append(step)

    def __init__(self, patients: PatientRepository, clock: Clock,
                 on_create: Callable[[dict], None] | None = None,
                 erasure_steps: list[ErasureStep] | None = None):
        self._patients = patients
        self._clock = clock
        # Hooks for the image and sharing areas: create the patient key; revoke, destroy, delete.
        self._on_create = on_create
        self._erasure_steps = erasure_steps or []

    def get(self, patient_id: str) -> Account:
        return Account.model_validate({**self.require(patient_id), "id": patient_id})

    def require(self, patient_id: str) -> dict:
        """The caller's account document, or a problem: none yet, or being erased."""
        stored = self._patients.account(patient_id)
        if stored is None:
            raise Problem(404, "account-not-found", "No account", "Create the account first with PUT /api/me.")
        if stored.doc.get("status") == "erasing":
            raise Problem(404, "account-not-found", "No account", "This account is being erased.")
        return stored.doc

    def put(self, patient_id: str, data: AccountIn) -> tuple[Account, bool]:
        now = iso(self._clock.now())
        stored = self._patients.account(patient_id)
        fields = data.model_dump(mode="json")
        if stored is None:
            doc = {"id": ACCOUNT_ID, "type": "account", "patientId": patient_id, "status": "active",
                   "createdAt": now, "updatedAt": now, **fields}
            if self._on_create:
                self._on_create(doc)
            # The index of patients lets KEK rotation visit every account (one partition query).
            self._patients.documents.upsert(DIRECTORY, PATIENT_INDEX, {"id": patient_id, "createdAt": now})
            self._patients.create(patient_id, doc)
            log.info("account created")
            return Account.model_validate({**doc, "id": patient_id}), True
        if stored.doc.get("status") == "erasing":
            raise Problem(409, "account-erasing", "Account being erased",
                          "This account is being erased; try again when erasure has finished.")
        doc = {**stored.doc, **fields, "updatedAt": now}
        self._patients.replace(patient_id, doc, if_match=stored.etag)
        return Account.model_validate({**doc, "id": patient_id}), False

    def erase(self, patient_id: str) -> None:
        stored = self._patients.account(patient_id)
        if stored is None:
            raise Problem(404, "account-not-found", "No account", "There is no account to erase.")
        if stored.doc.get("status") != "erasing" or stored.doc.get("patientKey"):
            # One write: the account is closed to every request AND its wrapped patient key is gone,
            # so every image of the patient is unreadable from this instant, backups included.
            erasing = {**stored.doc, "status": "erasing", "erasingSince": iso(self._clock.now())}
            erasing.pop("patientKey", None)
            self._patients.replace(patient_id, erasing, if_match=stored.etag)
        for step in self._erasure_steps:
            step(patient_id)
        count = self._patients.erase_partition(patient_id)
        try:
            self._patients.documents.delete(DIRECTORY, PATIENT_INDEX, patient_id)
        except NotFound:
            pass
        log.info("account erased", extra={"event": "account.erased", "documents": count})
