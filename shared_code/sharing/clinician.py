"""What a clinician sees through a grant that has passed the access check (shared_code/access.py):
the grant's detail, an image's bytes, the EPR export. Each is audited in the patient's partition
BEFORE any byte leaves (a streamed image is a read at the moment it is issued)."""
from __future__ import annotations

from typing import Any, Callable

from shared_code.access import GrantAccess, ImageAccess, allowed_operations
from shared_code.auth.principal import Principal
from shared_code.clock import Clock
from shared_code.fhir_export import ExportInput, build_bundle
from shared_code.ports.errors import NotFound
from shared_code.problems import Problem
from shared_code.repositories.patients import PatientRepository
from shared_code.services.images_contract import ImageReader, ImageStream
from shared_code.sharing.audit import AuditLog, actor_of
from shared_code.sharing.grants import public_grant

_MAX_IMAGE_PAGES = 25


def _gone() -> Problem:
    # The account or folder is being erased or deleted: its shares are (being) revoked.
    return Problem(403, "grant-revoked", "Share revoked", "The patient has withdrawn this share.")


class ClinicianService:
    def __init__(self, patients: PatientRepository, images: Callable[[], ImageReader], audit: AuditLog, clock: Clock):
        self._patients = patients
        self._images = images
        self._audit = audit
        self._clock = clock

    def _record(self, access: GrantAccess, action: str, principal: Principal, **about: Any) -> None:
        self._audit.record(access.patient_id, action, actor_of(principal, "clinician"),
                           clinic={"id": access.clinic_id, "name": access.clinic["name"]}, grantId=access.grant["id"],
                           folderId=access.grant["folderId"], purposes=access.grant["purposes"], **about)

    def _account_and_folder(self, access: GrantAccess) -> tuple[dict[str, Any], dict[str, Any]]:
        account = self._patients.account(access.patient_id)
        if account is None or account.doc.get("status") == "erasing":
            raise _gone()
        try:
            folder = self._patients.get(access.patient_id, access.grant["folderId"], "folder").doc
        except NotFound:
            raise _gone() from None
        return account.doc, folder

    def detail(self, access: GrantAccess) -> dict[str, Any]:
        account, folder = self._account_and_folder(access)
        images = self._images()
        docs, continuation = [], None
        for _ in range(_MAX_IMAGE_PAGES):
            page, continuation = images.list_folder(access.patient_id, folder["id"], status="ready", limit=200,
                                                    continuation=continuation)
            docs += page
            if not continuation:
                break
        self._record(access, "share.viewed", access.principal)
        return {
            "grant": public_grant(access.grant, self._clock.now()),
            "allowedOperations": allowed_operations(access.grant["purposes"]),
            "folder": {k: folder.get(k) for k in ("id", "label", "bodySite", "condition")},
            "patient": {"displayName": account.get("displayName"), "nhsNumber": account.get("nhsNumber"),
                        "dateOfBirth": account.get("dateOfBirth")},
            "images": [images.public(d) for d in docs],
        }

    def open_image(self, access: ImageAccess, variant: str) -> ImageStream:
        stream = self._images().open(access.patient_id, access.image, variant)
        action = "image.viewed" if variant == "original" else "image.thumbnail_viewed"
        self._record(access, action, access.principal, imageId=access.image["id"])
        return stream

    def export(self, access: ImageAccess) -> str:
        account, folder = self._account_and_folder(access)
        consent = None
        if access.grant.get("consentId"):
            try:
                consent = self._patients.get(access.patient_id, access.grant["consentId"], "consent").doc
            except NotFound:
                consent = None
        stream = self._images().open(access.patient_id, access.image, "original")
        content = b"".join(stream.chunks)
        bundle = build_bundle(ExportInput(patient=account, folder=folder, image=access.image, content=content,
                                          content_type=stream.content_type, clinic=access.clinic, grant=access.grant,
                                          consent=consent, exported_at=self._clock.now()))
        self._record(access, "image.exported", access.principal, imageId=access.image["id"], format="fhir")
        return bundle
