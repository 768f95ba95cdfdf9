"""Folders: one per skin problem, owned by one patient, listed newest first."""
from __future__ import annotations

from typing import Callable

from shared_code.clock import Clock, iso
from shared_code.domain.body_sites import BODY_SITES
from shared_code.ids import new_id
from shared_code.ports.documents import Page
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.problems import Problem
from shared_code.repositories.patients import PatientRepository
from shared_code.schemas import BodySiteIn, Folder, FolderIn, FolderPatch

FolderCascade = Callable[[str, str], None]  # (patient_id, folder_id)


def _body_site(value: BodySiteIn | None) -> dict | None:
    if value is None:
        return None
    return {"system": "http://snomed.info/sct", "code": value.code, "display": BODY_SITES[value.code],
            "laterality": value.laterality}


def folder_not_found(folder_id: str) -> Problem:
    return Problem(404, "folder-not-found", "No such folder", f"No folder {folder_id} in this account.")


class FolderService:
    def __init__(self, patients: PatientRepository, clock: Clock, on_delete: list[FolderCascade] | None = None):
        self._patients = patients
        self._clock = clock
        # Hooks for images (destroy their keys, delete blobs) and shares (revoke) of a deleted folder.
        self._on_delete = on_delete or []

    def add_on_delete(self, cascade: FolderCascade) -> None:
        self._on_delete.append(cascade)

    def create(self, patient_id: str, data: FolderIn) -> Folder:
        now = iso(self._clock.now())
        doc = {"id": new_id("f"), "type": "folder", "label": data.label, "bodySite": _body_site(data.bodySite),
               "condition": data.condition, "imageCount": 0, "templateImageId": None, "templateChosen": False,
               "createdAt": now, "updatedAt": now}
        self._patients.create(patient_id, doc)
        return Folder.model_validate(doc)

    def get_doc(self, patient_id: str, folder_id: str):
        try:
            return self._patients.get(patient_id, folder_id, "folder")
        except NotFound:
            raise folder_not_found(folder_id) from None

    def get(self, patient_id: str, folder_id: str) -> Folder:
        return Folder.model_validate(self.get_doc(patient_id, folder_id).doc)

    def list(self, patient_id: str, limit: int, continuation: str | None) -> tuple[list[Folder], str | None]:
        page: Page = self._patients.list(patient_id, "folder", order_by="createdAt", descending=True,
                                         limit=limit, continuation=continuation)
        return [Folder.model_validate(s.doc) for s in page.items], page.continuation

    def patch(self, patient_id: str, folder_id: str, patch: FolderPatch, if_match: str | None = None) -> Folder:
        stored = self.get_doc(patient_id, folder_id)
        if if_match is not None and if_match != stored.etag:
            raise Problem(412, detail="The folder changed since you read it.")
        sent = patch.model_fields_set
        if "label" in sent and patch.label is None:
            raise Problem(422, detail="label: cannot be null", errors=[{"field": "label", "message": "cannot be null"}])
        doc = dict(stored.doc)
        if "label" in sent:
            doc["label"] = patch.label
        if "bodySite" in sent:
            doc["bodySite"] = _body_site(patch.bodySite)
        if "condition" in sent:
            doc["condition"] = patch.condition
        doc["updatedAt"] = iso(self._clock.now())
        self._patients.replace(patient_id, doc, if_match=stored.etag)
        return Folder.model_validate(doc)

    # ----- kept in step by the image service -----
    def _update(self, patient_id: str, folder_id: str, change: Callable[[dict], None]) -> None:
        """Read-modify-write with the ETag, retried: concurrent uploads to one folder are normal."""
        for _ in range(10):
            try:
                stored = self._patients.get(patient_id, folder_id, "folder")
            except NotFound:
                return  # the folder was deleted meanwhile
            doc = dict(stored.doc)
            change(doc)
            try:
                self._patients.replace(patient_id, doc, if_match=stored.etag)
                return
            except PreconditionFailed:
                continue
        raise Problem(409, "concurrent-update", "Concurrent update", "The folder is busy; try again.")

    def image_ready(self, patient_id: str, folder_id: str, image_id: str) -> None:
        def change(doc: dict) -> None:
            doc["imageCount"] = doc.get("imageCount", 0) + 1
            # By default the template is the first image uploaded, unless the patient chose.
            if not doc.get("templateChosen") and not doc.get("templateImageId"):
                doc["templateImageId"] = image_id

        self._update(patient_id, folder_id, change)

    def image_removed(self, patient_id: str, folder_id: str, image_id: str, first_ready: Callable[[], str | None]) -> None:
        def change(doc: dict) -> None:
            doc["imageCount"] = max(0, doc.get("imageCount", 0) - 1)
            if doc.get("templateImageId") == image_id:
                doc["templateImageId"] = first_ready()
                doc["templateChosen"] = False

        self._update(patient_id, folder_id, change)

    def set_template(self, patient_id: str, folder_id: str, image_id: str | None) -> None:
        def change(doc: dict) -> None:
            doc["templateImageId"] = image_id
            doc["templateChosen"] = True

        self._update(patient_id, folder_id, change)

    def delete(self, patient_id: str, folder_id: str) -> None:
        self.get_doc(patient_id, folder_id)
        for cascade in self._on_delete:
            cascade(patient_id, folder_id)
        try:
            self._patients.delete(patient_id, folder_id)
        except NotFound:
            pass
