"""Changing and destroying images: the note and time, deletion (one image, a folder's, a patient's
blobs) and the folder's overlay template.

Deletion destroys the DEK first (the record is rewritten without it), so the ciphertext is
unreadable at once, even from a backup; then the objects, then the record."""
from __future__ import annotations

from shared_code.clock import iso
from shared_code.errors import ImageNotFound, ImageNotReady
from shared_code.folders.repository import FolderRepository
from shared_code.images.objects import ImageObjects
from shared_code.images.records import ImageRecord, ImageStatus
from shared_code.images.repository import ImageRepository, PendingUploads
from shared_code.images.schemas import ImagePatch
from shared_code.ports.blobs import BlobStore
from shared_code.settings import INCOMING_CONTAINER


class ImageEdits:
    def __init__(self, images: ImageRepository, pending: PendingUploads, objects: ImageObjects,
                 folders: FolderRepository, blobs: BlobStore):
        self._images = images
        self._pending = pending
        self._objects = objects
        self._folders = folders
        self._blobs = blobs

    def patch(self, patient_id: str, image_id: str, patch: ImagePatch) -> ImageRecord:
        """Merge patch of `note` and `takenAt` (only the fields sent; null clears)."""
        image = self._images.get(patient_id, image_id)
        changes: dict = {}
        if "note" in patch.model_fields_set:
            changes["note"] = patch.note
        if "takenAt" in patch.model_fields_set:
            taken_at = iso(patch.takenAt) if patch.takenAt else None
            changes.update(taken_at=taken_at, sort_key=f"{taken_at or image.uploaded_at}|{image_id}")
        return self._images.replace(patient_id, image.but(**changes))

    def delete(self, patient_id: str, image_id: str, *, update_folder: bool = True) -> None:
        image = self._images.get(patient_id, image_id)
        self.destroy(patient_id, image)
        if update_folder and image.ready:
            self._folders.update(patient_id, image.folder_id, lambda folder: folder.with_image_removed(
                image_id, lambda: self._images.first_ready(patient_id, image.folder_id)))

    def destroy(self, patient_id: str, image: ImageRecord) -> None:
        """The key first (the record rewritten without its DEK), then the objects, the bytes still
        waiting in `incoming` and their index entry, then the record."""
        self._images.upsert(patient_id, image.but(status=ImageStatus.DELETING, wrapped_dek=None))
        self._objects.delete(image)
        if image.upload_blob:
            self._blobs.delete(INCOMING_CONTAINER, image.upload_blob)
            self._pending.remove(image.upload_blob)
        self._images.delete(patient_id, image.id)

    def delete_folder_images(self, patient_id: str, folder_id: str) -> None:
        """The folder cascade: every image of a folder that is going (the folder keeps no count)."""
        for image in list(self._images.in_folder(patient_id, folder_id)):
            if image.visible:
                self.delete(patient_id, image.id, update_folder=False)

    def delete_patient_blobs(self, patient_id: str) -> None:
        """An erasure step: every stored and waiting blob of the patient, and the pending-upload
        index entries that name the patient (the index is outside the patient's partition)."""
        self._objects.delete_owner(patient_id)
        self._pending.remove_patient(patient_id)

    def template(self, patient_id: str, folder_id: str) -> ImageRecord | None:
        """The folder's overlay template: by default its first ready image; None if none (or gone)."""
        folder = self._folders.get(patient_id, folder_id)
        if not folder.template_image_id:
            return None
        try:
            return self._images.get(patient_id, folder.template_image_id)
        except ImageNotFound:
            return None

    def set_template(self, patient_id: str, folder_id: str, image_id: str | None) -> ImageRecord | None:
        """The patient's choice: a ready image of this folder, or None for no template."""
        self._folders.get(patient_id, folder_id)
        image = None
        if image_id is not None:
            image = self._images.get(patient_id, image_id)
            if image.folder_id != folder_id:
                raise ImageNotFound(image_id)
            if not image.ready:
                raise ImageNotReady("Only a ready image can be the template.")
        self._folders.update(patient_id, folder_id, lambda folder: folder.with_template(image_id))
        return image
