"""Which accounts hold an NHS number: `directory` / `nhs-numbers` / `n_` + hash(number), one entry per
number listing the patient ids that hold it, so "is this number on another account too?" is one
point read (shown to clinicians as `nhsNumberShared`).

The id is a hash so that the number never appears as a document id (ids reach logs, metrics and
diagnostics). It is not a secret: ten digits with a check digit can be enumerated, and the account
itself keeps the number in the same database; it only keeps the number out of places ids go.
Updates are ETag-guarded read-modify-writes, retried, so two accounts claiming a number at once both
end up listed."""
from __future__ import annotations

import base64
import hashlib

from shared_code.ports.documents import DocumentStore
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import DIRECTORY

NHS_NUMBER_PARTITION = "nhs-numbers"
_ATTEMPTS = 5


def entry_id(nhs_number: str) -> str:
    digest = hashlib.sha256(f"nhs-number\x00{nhs_number}".encode()).digest()
    return "n_" + base64.b32encode(digest[:20]).decode().lower()


class NhsNumberIndex:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def holders(self, nhs_number: str) -> list[str]:
        try:
            return list(self._documents.read(DIRECTORY, NHS_NUMBER_PARTITION, entry_id(nhs_number)).doc["patientIds"])
        except NotFound:
            return []

    def shared(self, nhs_number: str, patient_id: str) -> bool:
        """True when an account other than `patient_id` holds the number."""
        return any(holder != patient_id for holder in self.holders(nhs_number))

    def add(self, nhs_number: str, patient_id: str) -> None:
        self._update(nhs_number, lambda ids: ids if patient_id in ids else [*ids, patient_id])

    def remove(self, nhs_number: str, patient_id: str) -> None:
        self._update(nhs_number, lambda ids: [i for i in ids if i != patient_id])

    def _update(self, nhs_number: str, change) -> None:
        key = entry_id(nhs_number)
        for _ in range(_ATTEMPTS):
            try:
                stored = self._documents.read(DIRECTORY, NHS_NUMBER_PARTITION, key)
            except NotFound:
                ids = change([])
                if not ids:
                    return
                try:
                    self._documents.create(DIRECTORY, NHS_NUMBER_PARTITION,
                                           {"id": key, "type": "nhs-number", "patientIds": ids})
                    return
                except Conflict:
                    continue
            ids = change(list(stored.doc["patientIds"]))
            if ids == stored.doc["patientIds"]:
                return
            try:
                if ids:
                    self._documents.replace(DIRECTORY, NHS_NUMBER_PARTITION, {**stored.doc, "patientIds": ids},
                                            if_match=stored.etag)
                else:
                    self._documents.delete(DIRECTORY, NHS_NUMBER_PARTITION, key, if_match=stored.etag)
                return
            except (PreconditionFailed, NotFound):
                continue
        raise PreconditionFailed("the NHS number index kept changing")
