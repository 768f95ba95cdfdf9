"""The composition root: settings + adapters -> repositories, services and the token validator.

Built on the first request (never at import). Tests build their own with injected adapters."""
from __future__ import annotations

from shared_code.adapters.factory import Adapters, build_adapters
from shared_code.auth.local_issuer import LocalIssuer
from shared_code.auth.tokens import TokenValidator, TrustedIssuer, jwks_key_lookup
from shared_code.clock import Clock
from shared_code.notifications.dispatcher import NotificationDispatcher
from shared_code.notifications.outbox import DocumentOutbox
from shared_code.repositories.patients import PatientRepository
from shared_code.services.accounts import AccountService
from shared_code.services.folders import FolderService
from shared_code.services.images import ImageService
from shared_code.settings import Settings
from shared_code.sharing import Sharing
from shared_code.sharing.expiry import GrantExpiryJobs

LOCAL_ISSUER_PATH = "/api/dev"


class Container:
    def __init__(self, settings: Settings, adapters: Adapters, clock: Clock | None = None):
        self.settings = settings
        self.adapters = adapters
        self.clock = clock or Clock()
        self.local_issuer = (
            LocalIssuer(settings.data_dir, settings.public_base_url.rstrip("/") + LOCAL_ISSUER_PATH)
            if settings.local_issuer else None
        )
        self.tokens = TokenValidator(self._trusted_issuers())
        self.patients = PatientRepository(adapters.documents)
        # Notifications: the outbox services emit through, and the queue handler's dispatcher.
        self.outbox = DocumentOutbox(adapters.documents, adapters.queue, self.clock)
        self.notifications = NotificationDispatcher(adapters.documents, adapters.mail, settings, self.clock)
        self.folders = FolderService(self.patients, self.clock)
        # Sharing: clinics, members, grants, comments, the audit trail; `access` is the clinicians' one
        # gate. Its folder hook is added first: a deleted folder's shares end before its images go.
        self.sharing = Sharing(adapters.documents, self.patients, self.clock, outbox=lambda: self.outbox,
                               images=lambda: self.images)
        self.access = self.sharing.access
        # The timers that tell patients a share ends soon or has ended, and admins a subscription ends.
        self.expiry = GrantExpiryJobs(adapters.documents, self.clock, outbox=lambda: self.outbox)
        self.folders.add_on_delete(self.sharing.grants.revoke_folder)
        self.images = ImageService(self.patients, adapters.blobs, adapters.keys, adapters.upload_urls, self.clock,
                                   settings, self.folders, outbox=self.outbox)
        self.folders.add_on_delete(self.images.delete_folder_images)
        # Erasure: the account's first write drops the patient key (AccountService.erase); then shares
        # are revoked, the key cache forgets, and the blobs go; last, the partition itself.
        self.accounts = AccountService(self.patients, self.clock, on_create=self.images.create_patient_key,
                                       erasure_steps=[self.sharing.grants.revoke_all, self.images.forget_patient,
                                                      self.images.delete_patient_blobs])

    def _trusted_issuers(self) -> list[TrustedIssuer]:
        s = self.settings
        issuers = []
        if s.patient_issuer and s.patient_jwks_uri and s.patient_audience:
            issuers.append(TrustedIssuer("patients", s.patient_issuer, s.patient_audience,
                                         jwks_key_lookup(s.patient_jwks_uri), role_mode="patient"))
        if s.workforce_issuer and s.workforce_jwks_uri and s.workforce_audience:
            issuers.append(TrustedIssuer("workforce", s.workforce_issuer, s.workforce_audience,
                                         jwks_key_lookup(s.workforce_jwks_uri), role_mode="roles_claim",
                                         email_verified_by_issuer=True))
        if self.local_issuer is not None:
            issuers.append(self.local_issuer.trusted_issuer())
        return issuers


def container_from_environment() -> Container:
    settings = Settings()
    return Container(settings, build_adapters(settings))
