"""The composition root: settings + adapters -> repositories, services and the token validator.

Built on the first request (never at import). Tests build their own with injected adapters."""
from __future__ import annotations

from dataclasses import replace

from shared_code.access import AccessPolicy
from shared_code.referrals.audit import ReferralAudit
from shared_code.referrals.pathway import ReferralPathway
from shared_code.referrals.decision_support import DecisionSupport
from shared_code.referrals.fhir_export import ReferralExport
from shared_code.referrals.repository import ReferralRepository
from shared_code.referrals.deadlines import ReferralTimers
from shared_code.referrals.image_repository import ReferralImageRepository
from shared_code.referrals.images import ReferralImages
from shared_code.referrals.keys import ReferralKeys
from shared_code.referrals.writes import ReferralWrites
from shared_code.accounts.key_rotation import KeyRotation
from shared_code.accounts.nhs_numbers import NhsNumberIndex
from shared_code.accounts.repository import AccountRepository
from shared_code.accounts.service import AccountService
from shared_code.accounts.verification import NhsNumberTracer
from shared_code.adapters.factory import Adapters, build_adapters
from shared_code.auth.local_issuer import LocalIssuer
from shared_code.auth.tokens import TokenValidator, TrustedIssuer, jwks_key_lookup
from shared_code.clock import Clock
from shared_code.folders.reminders import ReminderJobs
from shared_code.folders.repository import FolderRepository, ReminderIndex
from shared_code.folders.service import FolderService
from shared_code.idempotency.repository import IdempotencyRepository
from shared_code.images.edits import ImageEdits
from shared_code.images.incoming import IncomingUploads
from shared_code.images.ingest import ImageIngest
from shared_code.images.keys import PatientKeys
from shared_code.images.objects import ImageObjects
from shared_code.images.reads import ImageReads
from shared_code.images.redrive import UploadRedrive
from shared_code.images.repository import ImageRepository, PendingUploads
from shared_code.notifications.dispatcher import NotificationDispatcher
from shared_code.notifications.outbox import DocumentOutbox
from shared_code.partitions import PatientPartition
from shared_code.retention.holds import LegalHolds
from shared_code.retention.referrals import ReferralIndexes, ReferralRetentionIndex, ReferralRetentionJobs
from shared_code.retention.repository import RetentionRepository
from shared_code.retention.service import AccountActivity, RetentionJobs
from shared_code.settings import Settings
from shared_code.telemetry.traces import TraceContextQueue
from shared_code.sharing import Sharing
from shared_code.sharing.clinician import ClinicianService
from shared_code.sharing.expiry import GrantExpiryJobs

LOCAL_ISSUER_PATH = "/api/dev"


class Container:
    def __init__(self, settings: Settings, adapters: Adapters, clock: Clock | None = None):
        self.settings = settings
        # Every queue message carries the trace of the code that sent it (shared_code/telemetry/traces.py).
        adapters = replace(adapters, queue=TraceContextQueue.around(adapters.queue))
        self.adapters = adapters
        self.clock = clock or Clock()
        self.local_issuer = (
            LocalIssuer(settings.data_dir, settings.public_base_url.rstrip("/") + LOCAL_ISSUER_PATH)
            if settings.local_issuer else None
        )
        self.tokens = TokenValidator(self._trusted_issuers())
        self.patients = PatientPartition(adapters.documents)
        # Notifications: the outbox services emit through, and the queue handler's dispatcher.
        self.outbox = DocumentOutbox(adapters.documents, adapters.queue, self.clock)
        self.notifications = NotificationDispatcher(adapters.documents, adapters.mail, settings, self.clock)
        # Accounts, folders, images: the repositories, then the image services over them.
        self.account_repository = AccountRepository(self.patients, adapters.documents)
        self.folder_repository = FolderRepository(self.patients, ReminderIndex(adapters.documents))
        self.image_repository = ImageRepository(self.patients)
        self.pending_uploads = PendingUploads(adapters.documents)
        self.patient_keys = PatientKeys(self.account_repository, adapters.keys, settings.patient_key_cache_seconds)
        self.image_objects = ImageObjects(adapters.blobs, self.patient_keys, settings.image_single_pass_max_bytes)
        self.images = ImageReads(self.image_repository, self.image_objects)  # what other areas may use
        self.image_edits = ImageEdits(self.image_repository, self.pending_uploads, self.image_objects,
                                      self.folder_repository, adapters.blobs)
        self.ingest = ImageIngest(self.image_repository, self.pending_uploads, self.image_objects,
                                  self.folder_repository, self.image_edits, adapters.upload_urls, self.clock, settings)
        self.incoming = IncomingUploads(self.image_repository, self.pending_uploads, self.image_objects,
                                        self.folder_repository, self.image_edits, adapters.blobs, self.outbox,
                                        self.clock, settings)
        self.upload_redrive = UploadRedrive(self.image_repository, self.pending_uploads, self.incoming, adapters.blobs,
                                            self.clock, settings)
        # Sharing: clinics, members, grants, comments, the audit trail. `access` is the clinicians' one
        # gate, on sharing's repositories and the image reader; `clinician` what passes it sees.
        self.sharing = Sharing(adapters.documents, self.patients, self.folder_repository, self.clock, settings,
                               self.outbox, self.images)
        # Referrals (the GP-referred pathway): the one document per referral, in the service's partition.
        self.referral_records = ReferralRepository(adapters.documents)
        # Who viewed or exported a referral's data (audit / `referral:<id>`): images, detail, export.
        self.referral_audit = ReferralAudit(self.sharing.audit, adapters.documents)
        # The review clock's index (`track`, after every state change) and its timers (referrals/deadlines.py).
        self.referral_timers = ReferralTimers(adapters.documents, self.clock, self.outbox, settings)
        self.referral_deadlines = self.referral_timers.deadlines
        # Retention's index of referrals (an entry once closed or cancelled): each write keeps it and the clock's.
        self.referral_retention_index = ReferralRetentionIndex(adapters.documents, settings)
        # A referral's images: its own key (on the referral, made at the first image), the patient
        # images' processing and encrypted objects under it, views audited (referrals/images.py).
        referral_writes = ReferralWrites(self.referral_records, self.outbox,
                                         ReferralIndexes(self.referral_deadlines, self.referral_retention_index))
        self.referral_keys = ReferralKeys(self.referral_records, referral_writes, adapters.keys,
                                          settings.patient_key_cache_seconds)
        self.referral_images = ReferralImages(ReferralImageRepository(adapters.documents), referral_writes,
                                              self.referral_keys, self.image_objects, self.referral_audit, self.clock,
                                              settings)
        # AI decision support (advisory; none configured locally), and the referral for the EPR (FHIR).
        self.decision_support = DecisionSupport(self.referral_records, self.referral_images, adapters.queue,
                                                adapters.decision_support, self.clock, settings)
        self.referral_export = ReferralExport(self.referral_images, self.referral_audit, self.clock)
        # The referral core on all of them: drafts, submission, outcomes, worklists (referrals/pathway.py).
        self.referrals = ReferralPathway(self.referral_records, referral_writes, self.sharing.clinic_records,
                                         self.sharing.clinics, self.referral_images, self.decision_support,
                                         self.referral_audit, self.clock, settings)
        self.access = AccessPolicy(self.sharing.clinic_records, self.sharing.member_records,
                                   self.sharing.grant_records, self.images, self.referral_records, self.clock)
        # Which accounts hold which NHS number (clinicians are told when a number is on two accounts).
        self.nhs_numbers = NhsNumberIndex(adapters.documents)
        self.clinician = ClinicianService(self.account_repository, self.folder_repository, self.sharing.grant_records,
                                          self.images, self.sharing.audit, self.clock, self.nhs_numbers)
        # The timers that tell patients a share ends soon or has ended, and admins a subscription ends.
        self.expiry = GrantExpiryJobs(adapters.documents, self.clock, self.outbox)
        # The timer that tells a patient it is time for a folder's next photo.
        self.reminders = ReminderJobs(adapters.documents, self.clock, self.outbox)
        # A deleted folder's shares end before its images go.
        self.folders = FolderService(self.folder_repository, self.clock,
                                     on_delete=[self.sharing.grants.revoke_folder, self.image_edits.delete_folder_images])
        # Idempotency-Key records: the HTTP edge's (shared_code/http/idempotency.py).
        self.idempotency = IdempotencyRepository(adapters.documents, self.clock, settings)
        # Erasure: the account's first write drops the patient key (AccountService.erase); then this
        # instance's key cache forgets it (nothing is decrypted here from that moment, even if a later
        # step fails), shares are revoked and the blobs go, and the remembered responses; last, the
        # partition itself.
        # Retention: account activity (and what an erasure leaves it: the audit trail's end date).
        self.retention_repository = RetentionRepository(adapters.documents)
        self.account_activity = AccountActivity(self.retention_repository, self.account_repository, self.clock,
                                                settings)
        self.accounts = AccountService(self.account_repository, self.patient_keys, self.clock,
                                       erasure_steps=[self.patient_keys.forget, self.sharing.grants.revoke_all,
                                                      self.image_edits.delete_patient_blobs, self.idempotency.forget,
                                                      self.folder_repository.reminders.forget_patient,
                                                      self.account_activity.after_erasure],
                                       nhs_numbers=self.nhs_numbers, tracer=NhsNumberTracer(adapters.demographics))
        # The retention timer, and the legal holds that stop it for one patient (shared_code/retention/).
        self.legal_holds = LegalHolds(self.retention_repository, self.sharing.audit, self.clock)
        self.retention = RetentionJobs(self.retention_repository, self.legal_holds, self.accounts,
                                       self.account_repository, self.outbox, self.clock, settings)
        # Referrals closed or cancelled long enough ago: crypto-shredded and deleted as a unit.
        self.referral_retention = ReferralRetentionJobs(self.retention_repository, self.referral_records,
                                                        self.referral_images, self.referral_deadlines,
                                                        self.referral_retention_index, self.clock, settings)
        # Operations: re-wrap every patient and referral key under the newest KEK version (python -m shared_code.cli).
        self.key_rotation = KeyRotation(self.account_repository, adapters.keys, self.sharing.clinic_records,
                                        self.referral_records)

    def _trusted_issuers(self) -> list[TrustedIssuer]:
        s = self.settings
        issuers = []
        if s.patient_issuer and s.patient_jwks_uri and s.patient_audience:
            issuers.append(TrustedIssuer("patients", s.patient_issuer, s.patient_audience,
                                         jwks_key_lookup(s.patient_jwks_uri), role_mode="patient"))
        if s.workforce_issuer and s.workforce_jwks_uri and s.workforce_audience:
            issuers.append(TrustedIssuer("workforce", s.workforce_issuer, s.workforce_audience,
                                         jwks_key_lookup(s.workforce_jwks_uri), role_mode="roles_claim",
                                         email_verified_by_issuer=True, tenants=s.workforce_tenant_ids))
        if self.local_issuer is not None:
            issuers.append(self.local_issuer.trusted_issuer())
        return issuers


def container_from_environment() -> Container:
    settings = Settings()
    return Container(settings, build_adapters(settings))
