"""Images: ingest (direct and through an upload URL), encrypted storage, authenticated reads,
the folder template, deletion.

Each image has a DEK wrapped by the patient key (AAD = patient id + image id); its sanitised
original and its thumbnail are each an object of `shared_code.crypto`'s streaming format in the
`images` container, under a name that includes a fresh object-set id (so a concurrent second
processing can never overwrite the blobs a record points at). The record keeps each object's header
digest, length and blob ETag; a read that does not match all three fails closed."""
from __future__ import annotations

import base64
import logging
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

from shared_code.clock import Clock, iso
from shared_code.crypto import (
    DecryptionError,
    ObjectContext,
    PatientKeyCache,
    decrypt_object,
    encrypt_object,
    new_dek,
    new_patient_key,
    unwrap_dek,
    unwrap_patient_key,
    verify_object,
    wrapped_key_from_dict,
    wrapped_key_to_dict,
)
from shared_code.ids import looks_like_id, new_id
from shared_code.imaging import ImageRejected, ProcessedImage, process_image
from shared_code.notifications.contract import UPLOAD_REJECTED, SourceRef
from shared_code.ports.blobs import BlobStore
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.ports.keys import KeyUnavailable, KeyWrapper
from shared_code.ports.upload_urls import UploadUrls
from shared_code.problems import Problem
from shared_code.repositories.patients import PatientRepository
from shared_code.services.images_contract import ImageStream, Variant
from shared_code.ports.documents import Query
from shared_code.settings import DIRECTORY, IMAGES_CONTAINER, INCOMING_CONTAINER, PATIENTS, Settings

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
# Objects up to this size are decrypted once, into memory, after full authentication; larger ones
# are authenticated in a first streaming pass and decrypted in a second, pinned to the same ETag.
_SINGLE_PASS_MAX = 4 << 20
PUBLIC_FIELDS = ("id", "folderId", "status", "rejectedReason", "takenAt", "uploadedAt", "note", "view", "width",
                 "height", "contentType", "sizeBytes", "sha256")
# How long a claimed (processing) upload may sit before the re-drive timer takes it back.
STUCK_AFTER = timedelta(minutes=15)


PENDING_UPLOADS = "pending-uploads"


def _index_id(blob_name: str) -> str:
    return blob_name.replace("/", ":")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), _CHUNK):
        yield data[start:start + _CHUNK]


def image_not_found(image_id: str) -> Problem:
    return Problem(404, "image-not-found", "No such image", f"No image {image_id} in this account.")


def _integrity_failure() -> Problem:
    return Problem(500, "image-integrity", "Image failed its integrity check",
                   "The stored image does not match its record and will not be shown. It has been reported.")


class ImageService:
    def __init__(self, patients: PatientRepository, blobs: BlobStore, keys: KeyWrapper, upload_urls: UploadUrls,
                 clock: Clock, settings: Settings, folders, outbox=None):
        self._patients = patients
        self._blobs = blobs
        self._keys = keys
        self._upload_urls = upload_urls
        self._clock = clock
        self._settings = settings
        self._folders = folders
        self.outbox = outbox
        self.key_cache = PatientKeyCache(self._unwrap_patient_key, ttl_seconds=settings.patient_key_cache_seconds)

    # ----- the patient key -----
    def create_patient_key(self, account_doc: dict) -> None:
        """Called when an account is created: one random patient key, wrapped by the KEK."""
        try:
            _, wrapped = new_patient_key(self._keys)
        except KeyUnavailable:
            raise Problem(503, "key-service-unavailable", "Key service unavailable", "Try again shortly.",
                          headers={"Retry-After": "5"}) from None
        account_doc["patientKey"] = wrapped_key_to_dict(wrapped)

    def _unwrap_patient_key(self, patient_id: str) -> bytes:
        stored = self._patients.account(patient_id)
        if stored is None or not stored.doc.get("patientKey"):
            raise NotFound(patient_id)  # erased: the key no longer exists anywhere
        return unwrap_patient_key(self._keys, wrapped_key_from_dict(stored.doc["patientKey"]))

    def _patient_key(self, patient_id: str) -> bytes:
        try:
            return self.key_cache.get(patient_id)
        except KeyUnavailable:
            raise Problem(503, "key-service-unavailable", "Key service unavailable", "Try again shortly.",
                          headers={"Retry-After": "5"}) from None
        except NotFound:
            raise Problem(404, "account-not-found", "No account", "This account's keys have been destroyed.") from None
        except (DecryptionError, ValueError):
            raise _integrity_failure() from None

    def forget_patient(self, patient_id: str) -> None:
        self.key_cache.forget(patient_id)

    # ----- reads -----
    def get_doc(self, patient_id: str, image_id: str) -> dict[str, Any]:
        try:
            doc = self._patients.get(patient_id, image_id, "image").doc
        except NotFound:
            raise image_not_found(image_id) from None
        if doc["status"] == "deleting":
            raise image_not_found(image_id)
        return doc

    @staticmethod
    def public(doc: dict[str, Any]) -> dict[str, Any]:
        out = {k: doc.get(k) for k in PUBLIC_FIELDS}
        if out["status"] == "processing":
            out["status"] = "pending"  # a claim is an internal detail
        return out

    def list_folder(self, patient_id: str, folder_id: str, *, status: str | None = None, limit: int = 50,
                    continuation: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        equals = {"folderId": folder_id}
        if status:
            equals["status"] = status
        page = self._patients.list(patient_id, "image", order_by="sortKey", limit=limit, continuation=continuation,
                                   **equals)
        return [s.doc for s in page.items if s.doc["status"] != "deleting"], page.continuation

    def open(self, patient_id: str, doc: dict[str, Any], variant: Variant) -> ImageStream:
        if doc.get("status") != "ready":
            raise Problem(409, "image-not-ready", "Image not ready", f"The image is {self.public(doc)['status']}.")
        seal = doc["objects"][variant]
        context = ObjectContext(patient_id, doc["id"], variant)
        try:
            dek = unwrap_dek(self._patient_key(patient_id), patient_id, doc["id"], base64.b64decode(doc["wrappedDek"]))
            digest, length = bytes.fromhex(seal["headerDigest"]), seal["length"]
            info, chunks = self._blobs.open(IMAGES_CONTAINER, seal["blob"], if_match=seal["etag"])
            if info.size != length:
                raise DecryptionError("length")
            content_type = "image/jpeg" if variant == "thumbnail" else doc["contentType"]
            if length <= _SINGLE_PASS_MAX:
                plain = list(decrypt_object(dek, context, chunks, expected_header_digest=digest, expected_length=length))
                return ImageStream(content_type, sum(map(len, plain)), iter(plain), doc.get("sha256"))
            plain_length = verify_object(dek, context, chunks, expected_header_digest=digest, expected_length=length)
            _, again = self._blobs.open(IMAGES_CONTAINER, seal["blob"], if_match=seal["etag"])
            stream = decrypt_object(dek, context, again, expected_header_digest=digest, expected_length=length)
            return ImageStream(content_type, plain_length, stream, doc.get("sha256"))
        except (DecryptionError, NotFound, PreconditionFailed, ValueError, KeyError, TypeError):
            log.error("image integrity check failed", extra={"event": "image.integrity_failed"})
            raise _integrity_failure() from None

    # ----- direct upload -----
    def upload(self, patient_id: str, folder_id: str, data: bytes, *, taken_at: datetime | None,
               note: str | None, view: str | None) -> dict[str, Any]:
        self._folders.get_doc(patient_id, folder_id)
        image_id = new_id("i")
        try:
            processed = self._process(data, taken_at)
        except ImageRejected as exc:
            raise Problem(422, "image-rejected", "Image rejected", _REASONS.get(exc.reason_code, exc.message),
                          reason=str(exc.reason_code)) from None
        now = iso(self._clock.now())
        doc = {"id": image_id, "type": "image", "folderId": folder_id, "status": "ready", "uploadedAt": now,
               "note": note, "view": view, "clientTakenAt": iso(taken_at) if taken_at else None,
               "events": []}
        doc.update(self._store(patient_id, image_id, processed, doc))
        self._patients.create(patient_id, doc)
        self._folders.image_ready(patient_id, folder_id, image_id)
        log.info("image stored", extra={"event": "image.ready"})
        return doc

    def _process(self, data: bytes, taken_at: datetime | None) -> ProcessedImage:
        return process_image(data, max_bytes=self._settings.max_upload_bytes, client_taken_at=taken_at)

    def _store(self, patient_id: str, image_id: str, processed: ProcessedImage, doc: dict) -> dict[str, Any]:
        dek, wrapped_dek = new_dek(self._patient_key(patient_id), patient_id, image_id)
        object_set = new_id("o")
        objects = {}
        for variant, data in (("original", processed.data), ("thumbnail", processed.thumbnail)):
            stream = encrypt_object(dek, ObjectContext(patient_id, image_id, variant), _chunks(data))
            name = f"{patient_id}/{image_id}/{object_set}/{variant}"
            info = self._blobs.put(IMAGES_CONTAINER, name, stream, overwrite=False)
            objects[variant] = {"blob": name, "headerDigest": stream.header_digest.hex(), "length": stream.length,
                                "etag": info.etag}
        taken = processed.taken_at
        taken_at = iso(taken) if taken else None
        return {"wrappedDek": base64.b64encode(wrapped_dek).decode(), "objects": objects, "takenAt": taken_at,
                "sortKey": f"{taken_at or doc['uploadedAt']}|{image_id}", "width": processed.width,
                "height": processed.height, "contentType": processed.content_type, "sizeBytes": len(processed.data),
                "sha256": processed.sha256, "thumbnailWidth": processed.thumbnail_width,
                "thumbnailHeight": processed.thumbnail_height}

    # ----- upload URL and the blob trigger's handler -----
    def start_upload(self, patient_id: str, folder_id: str, *, taken_at: datetime | None, note: str | None,
                     view: str | None) -> dict[str, Any]:
        self._folders.get_doc(patient_id, folder_id)
        image_id = new_id("i")
        now = self._clock.now()
        expires = now + timedelta(minutes=self._settings.upload_url_minutes)
        blob_name = f"{patient_id}/{image_id}"
        doc = {"id": image_id, "type": "image", "folderId": folder_id, "status": "pending", "uploadedAt": iso(now),
               "note": note, "view": view, "clientTakenAt": iso(taken_at) if taken_at else None,
               "takenAt": iso(taken_at) if taken_at else None, "sortKey": f"{iso(taken_at or now)}|{image_id}",
               "uploadBlob": blob_name, "uploadExpiresAt": iso(expires), "events": []}
        # The index lets the re-drive timer find waiting uploads with one single-partition query.
        self._patients.documents.upsert(DIRECTORY, PENDING_UPLOADS, {"id": _index_id(blob_name), "blob": blob_name,
                                                                     "startedAt": iso(now)})
        self._patients.create(patient_id, doc)
        url = self._upload_urls.issue(blob_name, expires)
        return {"imageId": image_id, "uploadUrl": url, "expiresAt": iso(expires), "maxBytes": self._settings.max_upload_bytes}

    def upload_target(self, blob_name: str) -> dict[str, Any] | None:
        """The pending image a local upload URL writes to, or None if it is no longer accepting."""
        patient_id, _, image_id = blob_name.partition("/")
        try:
            doc = self._patients.get(patient_id, image_id, "image").doc
        except NotFound:
            return None
        return doc if doc["status"] == "pending" else None

    def process_incoming(self, blob_name: str) -> str:
        """The Event Grid blob trigger's handler (and, locally, the upload URL's). Idempotent on blob
        name + ETag: duplicate events are normal. Returns what it did, for logs and tests."""
        patient_id, _, image_id = blob_name.partition("/")
        try:
            info = self._blobs.info(INCOMING_CONTAINER, blob_name)
        except NotFound:
            return "gone"  # already processed and deleted, or never committed
        if not (looks_like_id(image_id, "i") and patient_id.startswith("p_")):
            # Not a name this service hands out (SAS URLs name `p_…/i_…` only): drop it, don't retry it.
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            return "orphan"
        try:
            stored = self._patients.get(patient_id, image_id, "image")
        except NotFound:
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            return "orphan"
        doc = stored.doc
        if doc["status"] != "pending" or doc.get("uploadBlob") != blob_name:
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            return "already-processed"
        claimed = {**doc, "status": "processing", "processingEtag": info.etag, "claimedAt": iso(self._clock.now())}
        try:
            stored = self._patients.replace(patient_id, claimed, if_match=stored.etag)
        except (PreconditionFailed, NotFound):
            return "claimed-elsewhere"
        return self._finish(patient_id, image_id, blob_name, info, stored)

    def _finish(self, patient_id, image_id, blob_name, info, stored) -> str:
        doc = stored.doc
        try:
            if info.size > self._settings.max_upload_bytes:
                raise ImageRejected("too_large", "upload larger than the limit")
            _, chunks = self._blobs.open(INCOMING_CONTAINER, blob_name, if_match=info.etag)
            data = b"".join(chunks)
            processed = self._process(data, datetime.fromisoformat(doc["clientTakenAt"].replace("Z", "+00:00"))
                                      if doc.get("clientTakenAt") else None)
        except (NotFound, PreconditionFailed):
            # Replaced or lost while we looked: give the claim back; the next event or the re-drive retries.
            self._patients.replace(patient_id, {**doc, "status": "pending"}, if_match=stored.etag)
            return "retry"
        except ImageRejected as exc:
            self._reject(patient_id, stored, str(exc.reason_code))
            self._blobs.delete(INCOMING_CONTAINER, blob_name)
            self._unindex(blob_name)
            return "rejected"
        fields = self._store(patient_id, image_id, processed, doc)
        ready = {**doc, **fields, "status": "ready", "processedEtag": info.etag}
        ready.pop("claimedAt", None)
        try:
            self._patients.replace(patient_id, ready, if_match=stored.etag)
        except (PreconditionFailed, NotFound):
            for seal in fields["objects"].values():
                self._blobs.delete(IMAGES_CONTAINER, seal["blob"])
            return "claimed-elsewhere"
        self._blobs.delete(INCOMING_CONTAINER, blob_name)
        self._unindex(blob_name)
        self._folders.image_ready(patient_id, doc["folderId"], image_id)
        log.info("upload processed", extra={"event": "image.ready"})
        return "ready"

    def _reject(self, patient_id: str, stored, reason: str) -> None:
        doc = {**stored.doc, "status": "rejected", "rejectedReason": reason}
        doc.pop("claimedAt", None)

        def write(event_id: str | None = None):
            if event_id:
                doc["events"] = [*doc.get("events", [])[-9:], event_id]
            return self._patients.replace(patient_id, doc, if_match=stored.etag)

        if self.outbox is None:
            write()
        else:
            self.outbox.emit(UPLOAD_REJECTED, {"patientId": patient_id, "imageId": doc["id"], "reason": reason},
                             SourceRef(PATIENTS, patient_id, doc["id"]), write)
        log.info("upload rejected", extra={"event": "image.rejected"})

    # ----- edits and deletion -----
    def patch(self, patient_id: str, image_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        try:
            stored = self._patients.get(patient_id, image_id, "image")
        except NotFound:
            raise image_not_found(image_id) from None
        if stored.doc["status"] == "deleting":
            raise image_not_found(image_id)
        doc = dict(stored.doc)
        if "note" in fields:
            doc["note"] = fields["note"]
        if "takenAt" in fields:
            taken = fields["takenAt"]
            doc["takenAt"] = iso(taken) if taken else None
            doc["sortKey"] = f"{doc['takenAt'] or doc['uploadedAt']}|{image_id}"
        self._patients.replace(patient_id, doc, if_match=stored.etag)
        return doc

    def delete(self, patient_id: str, image_id: str, *, update_folder: bool = True) -> None:
        """The DEK is destroyed first (the record is rewritten without it), so the ciphertext is
        unreadable at once, even from a backup; then blobs, then the record."""
        doc = self.get_doc(patient_id, image_id)
        self._patients.upsert(patient_id, {**doc, "status": "deleting", "wrappedDek": None})
        for seal in (doc.get("objects") or {}).values():
            self._blobs.delete(IMAGES_CONTAINER, seal["blob"])
        if doc.get("uploadBlob"):
            self._blobs.delete(INCOMING_CONTAINER, doc["uploadBlob"])
            self._unindex(doc["uploadBlob"])
        try:
            self._patients.delete(patient_id, image_id)
        except NotFound:
            pass
        if update_folder and doc["status"] == "ready":
            self._folders.image_removed(patient_id, doc["folderId"], image_id, self._first_ready(patient_id, doc["folderId"]))

    def _first_ready(self, patient_id: str, folder_id: str) -> Callable[[], str | None]:
        def first() -> str | None:
            ready = [s.doc for s in self._patients.all(patient_id, "image", order_by="uploadedAt", folderId=folder_id,
                                                        status="ready")]
            return ready[0]["id"] if ready else None

        return first

    def delete_folder_images(self, patient_id: str, folder_id: str) -> None:
        for stored in list(self._patients.all(patient_id, "image", folderId=folder_id)):
            if stored.doc["status"] != "deleting":
                self.delete(patient_id, stored.doc["id"], update_folder=False)

    def delete_patient_blobs(self, patient_id: str) -> None:
        for container in (IMAGES_CONTAINER, INCOMING_CONTAINER):
            for info in list(self._blobs.list(container, f"{patient_id}/")):
                self._blobs.delete(container, info.name)

    # ----- template -----
    def template(self, patient_id: str, folder_id: str) -> dict[str, Any] | None:
        folder = self._folders.get_doc(patient_id, folder_id).doc
        if not folder.get("templateImageId"):
            return None
        try:
            return self.get_doc(patient_id, folder["templateImageId"])
        except Problem:
            return None

    def set_template(self, patient_id: str, folder_id: str, image_id: str | None) -> dict[str, Any] | None:
        self._folders.get_doc(patient_id, folder_id)
        doc = None
        if image_id is not None:
            doc = self.get_doc(patient_id, image_id)
            if doc["folderId"] != folder_id:
                raise image_not_found(image_id)
            if doc["status"] != "ready":
                raise Problem(409, "image-not-ready", "Image not ready", "Only a ready image can be the template.")
        self._folders.set_template(patient_id, folder_id, image_id)
        return doc

    # ----- timers -----
    def _unindex(self, blob_name: str) -> None:
        try:
            self._patients.documents.delete(DIRECTORY, PENDING_UPLOADS, _index_id(blob_name))
        except NotFound:
            pass

    def redrive_pending(self) -> dict[str, int]:
        """Uploads waiting for over STUCK_AFTER: a missed event is processed now, a dead worker's
        claim is taken back, an upload never received is rejected once its URL is a day gone.
        Safe on two instances at once: every transition is an ETag-guarded claim."""
        outcomes: dict[str, int] = {}
        now = self._clock.now()
        continuation = None
        while True:
            page = self._patients.documents.query(DIRECTORY, Query(PENDING_UPLOADS, order_by="startedAt", limit=200,
                                                                   continuation=continuation))
            for entry in page.items:
                started = _parse(entry.doc["startedAt"])
                if now - started < STUCK_AFTER:
                    continue
                outcome = self._redrive_one(entry.doc["blob"], now)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if not page.continuation:
                return outcomes
            continuation = page.continuation

    def _redrive_one(self, blob_name: str, now: datetime) -> str:
        patient_id, _, image_id = blob_name.partition("/")
        try:
            stored = self._patients.get(patient_id, image_id, "image")
        except NotFound:
            self._unindex(blob_name)
            return "orphan"
        doc = stored.doc
        if doc["status"] in ("ready", "rejected", "deleting"):
            self._unindex(blob_name)
            return "done"
        if doc["status"] == "processing":
            if now - _parse(doc["claimedAt"]) < STUCK_AFTER:
                return "processing"
            try:
                self._patients.replace(patient_id, {**doc, "status": "pending"}, if_match=stored.etag)
            except PreconditionFailed:
                return "claimed-elsewhere"
        outcome = self.process_incoming(blob_name)
        if outcome == "gone" and now - _parse(doc["uploadExpiresAt"]) > timedelta(hours=24):
            stored = self._patients.get(patient_id, image_id, "image")
            self._reject(patient_id, stored, "not_received")
            self._unindex(blob_name)
            return "not-received"
        return outcome

    def sweep_incoming(self, older_than: timedelta) -> int:
        """Deletes uploads left in `incoming` (in Azure a lifecycle rule does the same)."""
        cutoff = self._clock.now() - older_than
        removed = 0
        for info in list(self._blobs.list(INCOMING_CONTAINER)):
            if info.last_modified < cutoff:
                self._blobs.delete(INCOMING_CONTAINER, info.name)
                removed += 1
        return removed


_REASONS = {
    "empty": "The upload was empty.",
    "too_large": "The image is larger than the upload limit.",
    "unsupported_type": "Only JPEG, PNG and HEIC photographs are accepted.",
    "corrupt": "The image could not be read.",
    "truncated": "The image is incomplete; please upload it again.",
    "too_many_pixels": "The image has too many pixels.",
    "not_received": "The upload never arrived; please try again.",
}
