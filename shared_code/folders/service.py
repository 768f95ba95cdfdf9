"""Folders: one per skin problem, owned by one patient, listed newest first.

A folder's photo reminder is set (from the latest photo, or from now) and removed here; reminders.py
is the timer that tells the patient, repository.py keeps its index entry.

Deleting a folder runs its cascades first (the container passes them: its shares are revoked, then
its images destroyed), then removes the folder itself."""
from __future__ import annotations

from typing import Callable

from shared_code.clock import Clock, iso
from shared_code.errors import FolderNotFound, InvalidField, StaleVersion
from shared_code.folders.records import BodySiteRecord, FolderRecord
from shared_code.folders.repository import FolderRepository
from shared_code.folders.schemas import BodySiteIn, FolderIn, FolderPatch, ReminderIn
from shared_code.ids import new_id

FolderCascade = Callable[[str, str], None]  # (patient_id, folder_id)


def _body_site(value: BodySiteIn | None) -> BodySiteRecord | None:
    return BodySiteRecord.of(value.code, value.laterality) if value is not None else None


class FolderService:
    def __init__(self, folders: FolderRepository, clock: Clock, on_delete: list[FolderCascade]):
        self._folders = folders
        self._clock = clock
        self._on_delete = on_delete

    def create(self, patient_id: str, data: FolderIn) -> FolderRecord:
        now = iso(self._clock.now())
        folder = FolderRecord(id=new_id("f"), label=data.label, body_site=_body_site(data.bodySite),
                              condition=data.condition, created_at=now, updated_at=now)
        return self._folders.create(patient_id, folder)

    def get(self, patient_id: str, folder_id: str) -> FolderRecord:
        return self._folders.get(patient_id, folder_id)

    def list(self, patient_id: str, limit: int, continuation: str | None) -> tuple[list[FolderRecord], str | None]:
        return self._folders.page(patient_id, limit, continuation)

    def patch(self, patient_id: str, folder_id: str, patch: FolderPatch, if_match: str | None = None) -> FolderRecord:
        folder = self._folders.get(patient_id, folder_id)
        if if_match is not None and if_match != folder.etag:
            raise StaleVersion("The folder changed since you read it.")
        sent = patch.model_fields_set
        if "label" in sent and patch.label is None:
            raise InvalidField(("label", "cannot be null"))
        changes: dict = {"updated_at": iso(self._clock.now())}
        if "label" in sent:
            changes["label"] = patch.label
        if "bodySite" in sent:
            changes["body_site"] = _body_site(patch.bodySite)
        if "condition" in sent:
            changes["condition"] = patch.condition
        return self._folders.replace(patient_id, folder.but(**changes))

    def delete(self, patient_id: str, folder_id: str) -> None:
        self._folders.get(patient_id, folder_id)
        for cascade in self._on_delete:
            cascade(patient_id, folder_id)
        self._folders.delete(patient_id, folder_id)

    # Retried on a lost race: an upload finishing in the same folder is normal, not the caller's conflict.
    def set_reminder(self, patient_id: str, folder_id: str, data: ReminderIn) -> FolderRecord:
        now = iso(self._clock.now())
        folder = self._folders.update(patient_id, folder_id, lambda f: f.with_reminder(data.everyDays, now))
        if folder is None:
            raise FolderNotFound(folder_id)
        return folder

    def remove_reminder(self, patient_id: str, folder_id: str) -> None:
        now = iso(self._clock.now())
        folder = self._folders.update(patient_id, folder_id,
                                      lambda f: f.with_reminder(None, now) if f.reminder is not None else f)
        if folder is None:
            raise FolderNotFound(folder_id)
        self._folders.reminders.remove(folder_id)
