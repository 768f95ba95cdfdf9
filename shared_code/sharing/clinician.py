"""What a clinician sees through a grant that has passed the access check (shared_code/access.py):
the grant's detail, an image's bytes, the EPR export. The detail shows who the patient is only
where the purposes include care or the record (name, date of birth, NHS number with whether it was
traced and whether another account holds it); under teaching and/or research alone, the grant's
pseudonym instead (records.pseudonym), as the worklist does. Each is audited in the patient's partition
BEFORE any byte leaves (a streamed image is a read at the moment it is issued)."""
from __future__ import annotations

from typing import Any

from shared_code.access import GrantAccess, ImageAccess
from shared_code.accounts.nhs_numbers import NhsNumberIndex
from shared_code.accounts.records import AccountRecord
from shared_code.accounts.repository import AccountRepository
from shared_code.auth.principal import Principal
from shared_code.clock import Clock
from shared_code.errors import GrantRevoked
from shared_code.folders.records import FolderRecord
from shared_code.folders.repository import FolderRepository
from shared_code.images.contract import ImageReader, ImageStream, Variant
from shared_code.images.records import ImageRecord, ImageStatus
from shared_code.sharing.audit import AuditLog, actor_of
from shared_code.sharing.fhir_export import ExportInput, build_bundle
from shared_code.sharing.grant_repository import GrantRepository

_MAX_IMAGE_PAGES = 25  # of 200 images each: what a grant's detail lists at most
_IMAGE_PAGE = 200
_WITHDRAWN = "The patient has withdrawn this share."
_FOLDER_SHOWN = ("id", "label", "bodySite", "condition")  # of the folder's public fields


class ClinicianService:
    def __init__(self, accounts: AccountRepository, folders: FolderRepository, grants: GrantRepository,
                 images: ImageReader, audit: AuditLog, clock: Clock, nhs_numbers: NhsNumberIndex):
        self._nhs_numbers = nhs_numbers
        self._accounts = accounts
        self._folders = folders
        self._grants = grants
        self._images = images
        self._audit = audit
        self._clock = clock

    def _record(self, access: GrantAccess, action: str, principal: Principal, **about: Any) -> None:
        grant = access.grant
        self._audit.record(access.patient_id, action, actor_of(principal, "clinician"), clinic=access.clinic.ref(),
                           grant_id=grant.id, folder_id=grant.folder_id, purposes=grant.purposes, **about)

    def _patient_and_folder(self, access: GrantAccess) -> tuple[AccountRecord, FolderRecord]:
        # The account or folder is being erased or deleted: its shares are (being) revoked.
        patient = self._accounts.find(access.patient_id)
        if patient is None or patient.erasing:
            raise GrantRevoked(_WITHDRAWN)
        folder = self._folders.find(access.patient_id, access.grant.folder_id)
        if folder is None:
            raise GrantRevoked(_WITHDRAWN)
        return patient, folder

    def _ready_images(self, patient_id: str, folder_id: str) -> list[ImageRecord]:
        images: list[ImageRecord] = []
        continuation = None
        for _ in range(_MAX_IMAGE_PAGES):
            page, continuation = self._images.list_folder(patient_id, folder_id, status=ImageStatus.READY,
                                                          limit=_IMAGE_PAGE, continuation=continuation)
            images += page
            if not continuation:
                break
        return images

    def detail(self, access: GrantAccess) -> dict[str, Any]:
        patient, folder = self._patient_and_folder(access)
        images = self._ready_images(access.patient_id, folder.id)
        self._record(access, "share.viewed", access.principal)
        return {
            "grant": access.grant.public(self._clock.now()),
            "allowedOperations": [op.value for op in access.grant.allowed_operations()],
            "folder": {k: v for k, v in folder.public().items() if k in _FOLDER_SHOWN},
            "patient": self._patient(access, patient),
            "images": [image.public() for image in images],
        }

    def _patient(self, access: GrantAccess, patient: AccountRecord) -> dict[str, Any]:
        """Identity only where the purposes include care or the record; else the grant's pseudonym."""
        grant = access.grant
        if not grant.shows_identity:
            return {"pseudonym": grant.pseudonym}
        number = patient.nhs_number
        return {"displayName": patient.display_name,
                "dateOfBirth": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
                "nhsNumber": number, "nhsNumberVerified": patient.nhs_number_verified if number else None,
                "nhsNumberShared": self._nhs_numbers.shared(number, patient.patient_id) if number else None}

    def open_image(self, access: ImageAccess, variant: Variant) -> ImageStream:
        stream = self._images.open(access.patient_id, access.image, variant)
        action = "image.viewed" if variant == "original" else "image.thumbnail_viewed"
        self._record(access, action, access.principal, image_id=access.image.id)
        return stream

    def export(self, access: ImageAccess) -> str:
        patient, folder = self._patient_and_folder(access)
        consent_id = access.grant.consent_id
        consent = self._grants.consent(access.patient_id, consent_id) if consent_id else None
        stream = self._images.open(access.patient_id, access.image, "original")
        content = b"".join(stream.chunks)
        bundle = build_bundle(ExportInput(patient=patient, folder=folder, image=access.image, content=content,
                                          content_type=stream.content_type, clinic=access.clinic, grant=access.grant,
                                          consent=consent, exported_at=self._clock.now()))
        self._record(access, "image.exported", access.principal, image_id=access.image.id, format="fhir")
        return bundle
