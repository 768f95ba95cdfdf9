"""Typed dependencies: what a handler needs, by type, so a router never reaches into the container.

    def get_image(imageId: str, images: Images, caller: Patient) -> Image: ...

Each alias is `Annotated[<service type>, Depends(<provider>)]`; the providers read the one
container of the app (built lazily on the first request). Tests build the app on a container of
their own (functions/http_app.py adds the routes without `include_router`, so
`app.dependency_overrides` does not reach them)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from shared_code.access import AccessPolicy
from shared_code.accounts.service import AccountService
from shared_code.adapters.factory import Adapters
from shared_code.auth.principal import Principal
from shared_code.clock import Clock
from shared_code.folders.service import FolderService
from shared_code.http.auth import (
    PatientCaller, patient_with_account, require_clinician, require_patient, require_platform_admin,
)
from shared_code.images.edits import ImageEdits
from shared_code.images.incoming import IncomingUploads
from shared_code.images.ingest import ImageIngest
from shared_code.images.reads import ImageReads
from shared_code.referrals.pathway import ReferralPathway
from shared_code.referrals.fhir_export import ReferralExport
from shared_code.referrals.images import ReferralImages
from shared_code.retention.service import AccountActivity
from shared_code.sharing.audit import AuditLog
from shared_code.sharing.clinician import ClinicianService
from shared_code.sharing.clinics import ClinicService
from shared_code.sharing.comments import CommentService
from shared_code.sharing.grants import GrantService
from shared_code.sharing.members import MemberService

if TYPE_CHECKING:
    from shared_code.container import Container


def get_container(request: Request) -> "Container":
    return request.app.state.container.get()


AppContainer = Annotated["Container", Depends(get_container)]

# --- per-area services (each area adds its aliases below) ---
# A provider that only picks a service out of the container is `async def`: FastAPI runs a plain
# `def` dependency in the thread pool, and a hop there and back costs more than the whole lookup
# (`make bench`, sections 2 and 6). A provider that reads a store stays `def`.

# --- accounts, folders, images ---


async def _accounts(request: Request) -> AccountService:
    return get_container(request).accounts


async def _folders(request: Request) -> FolderService:
    return get_container(request).folders


async def _image_reads(request: Request) -> ImageReads:
    return get_container(request).images


async def _image_ingest(request: Request) -> ImageIngest:
    return get_container(request).ingest


async def _incoming_uploads(request: Request) -> IncomingUploads:
    return get_container(request).incoming


async def _image_edits(request: Request) -> ImageEdits:
    return get_container(request).image_edits


async def _adapters(request: Request) -> Adapters:
    return get_container(request).adapters


async def _clock(request: Request) -> Clock:
    return get_container(request).clock


# A patient token (the account may not exist yet), and a patient whose account exists and is not
# being erased.
PatientPrincipal = Annotated[Principal, Depends(require_patient)]
Patient = Annotated[PatientCaller, Depends(patient_with_account)]
Accounts = Annotated[AccountService, Depends(_accounts)]
Folders = Annotated[FolderService, Depends(_folders)]
Images = Annotated[ImageReads, Depends(_image_reads)]
Ingest = Annotated[ImageIngest, Depends(_image_ingest)]
Incoming = Annotated[IncomingUploads, Depends(_incoming_uploads)]
Edits = Annotated[ImageEdits, Depends(_image_edits)]
# The adapter set (health checks, optional capabilities) and the clock, for the operational routes.
AppAdapters = Annotated[Adapters, Depends(_adapters)]
AppClock = Annotated[Clock, Depends(_clock)]

# --- sharing with clinics, and the clinicians' access gate ---


async def _access(request: Request) -> AccessPolicy:
    return get_container(request).access


async def _clinics(request: Request) -> ClinicService:
    return get_container(request).sharing.clinics


async def _members(request: Request) -> MemberService:
    return get_container(request).sharing.members


async def _grants(request: Request) -> GrantService:
    return get_container(request).sharing.grants


async def _comments(request: Request) -> CommentService:
    return get_container(request).sharing.comments


async def _audit(request: Request) -> AuditLog:
    return get_container(request).sharing.audit


async def _clinician_views(request: Request) -> ClinicianService:
    return get_container(request).clinician


# A clinician or platform_admin token (role checked; membership and grants are the access gate's).
Clinician = Annotated[Principal, Depends(require_clinician)]
PlatformAdmin = Annotated[Principal, Depends(require_platform_admin)]
Access = Annotated[AccessPolicy, Depends(_access)]
Clinics = Annotated[ClinicService, Depends(_clinics)]
Members = Annotated[MemberService, Depends(_members)]
Grants = Annotated[GrantService, Depends(_grants)]
Comments = Annotated[CommentService, Depends(_comments)]
Audit = Annotated[AuditLog, Depends(_audit)]
ClinicianViews = Annotated[ClinicianService, Depends(_clinician_views)]

# --- retention ---


async def _account_activity(request: Request) -> AccountActivity:
    return get_container(request).account_activity


Activity = Annotated[AccountActivity, Depends(_account_activity)]

# --- referrals (the GP-referred pathway): the referral core (drafts, submission, outcomes, worklists) ---


async def _referrals(request: Request) -> ReferralPathway:
    return get_container(request).referrals


Referrals = Annotated[ReferralPathway, Depends(_referrals)]

# --- referrals: the FHIR export (functions/api_referral_export.py) ---


async def _referral_export(request: Request) -> ReferralExport:
    return get_container(request).referral_export


ReferralExports = Annotated[ReferralExport, Depends(_referral_export)]

# --- referrals: a referral's images (functions/api_referral_images.py) ---


async def _referral_images(request: Request) -> ReferralImages:
    return get_container(request).referral_images


ReferralImagesService = Annotated[ReferralImages, Depends(_referral_images)]
