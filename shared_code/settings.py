"""The one settings model: every environment variable the service reads, in one place.

`local.settings.example.json` and `infra/` (the Function App's app settings) set exactly these names;
`tests/infra` proves the Bicep provides every one that azure mode requires.

Mode `local`: embedded backends (files, SQLite, a local KEK file, the local outbox) under
LOCAL_DATA_DIR, and the local token issuer. Mode `azure`: managed identity everywhere, service URIs
only, no keys, and the local issuer is refused.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Names shared by the code and the Bicep (tests/infra compares them with infra/).
IMAGES_CONTAINER = "images"
INCOMING_CONTAINER = "incoming"
NOTIFICATIONS_QUEUE = "notifications"
NOTIFICATIONS_POISON_QUEUE = "notifications-poison"
# Referral lesions waiting for an AI decision-support assessment (shared_code/referrals/decision_support.py).
DECISION_SUPPORT_QUEUE = "decision-support"
DECISION_SUPPORT_POISON_QUEUE = "decision-support-poison"
# Cosmos DB containers; every one is partitioned on /pk.
PATIENTS = "patients"
CLINICS = "clinics"
DIRECTORY = "directory"
AUDIT = "audit"
DOCUMENT_CONTAINERS = (PATIENTS, CLINICS, DIRECTORY, AUDIT)
PARTITION_KEY_PATH = "/pk"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    app_mode: Literal["local", "azure"] = Field("local", alias="APP_MODE")
    local_data_dir: Path = Field(Path(".local"), alias="LOCAL_DATA_DIR")
    # Where clients reach this API (upload URLs are built on it) and where clinicians open the portal.
    public_base_url: str = Field("http://127.0.0.1:7071", alias="PUBLIC_BASE_URL")
    portal_base_url: str = Field("http://127.0.0.1:3000", alias="PORTAL_BASE_URL")
    # Where a patient's mail opens the app (a universal link base; reminders link to a folder under it).
    app_link_base_url: str = Field("http://127.0.0.1:7071/app", alias="APP_LINK_BASE_URL")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    # --- Azure services (identity-based; the same names the Functions host reads) ---
    azure_client_id: str | None = Field(None, alias="AZURE_CLIENT_ID")  # user-assigned identity
    blob_service_uri: str | None = Field(None, alias="AzureWebJobsStorage__blobServiceUri")
    queue_service_uri: str | None = Field(None, alias="AzureWebJobsStorage__queueServiceUri")
    cosmos_endpoint: str | None = Field(None, alias="COSMOS_ENDPOINT")
    cosmos_database: str = Field("telederm", alias="COSMOS_DATABASE")
    key_vault_uri: str | None = Field(None, alias="KEY_VAULT_URI")
    kek_name: str = Field("patient-kek", alias="KEK_NAME")
    kek_algorithm: Literal["RSA-OAEP-256", "A256KW"] = Field("RSA-OAEP-256", alias="KEK_ALGORITHM")

    # --- Token issuers. Patients: an external identity provider (e.g. NHS login / Entra External ID);
    #     workforce: the trust's Entra ID tenant, roles from app roles in the `roles` claim. ---
    patient_issuer: str | None = Field(None, alias="PATIENT_ISSUER")
    patient_jwks_uri: str | None = Field(None, alias="PATIENT_JWKS_URI")
    patient_audience: str | None = Field(None, alias="PATIENT_AUDIENCE")
    workforce_issuer: str | None = Field(None, alias="WORKFORCE_ISSUER")
    workforce_jwks_uri: str | None = Field(None, alias="WORKFORCE_JWKS_URI")
    workforce_audience: str | None = Field(None, alias="WORKFORCE_AUDIENCE")
    # The workforce tenants (Entra `tid`, comma-separated) whose tokens are accepted. Unset: the
    # tenant WORKFORCE_ISSUER names (https://login.microsoftonline.com/<tid>/v2.0), else none, and no
    # workforce token is accepted (fail closed). The local issuer is not a tenant and is unaffected.
    workforce_tenants: str = Field("", alias="WORKFORCE_TENANTS")
    # The local development issuer: on by default in local mode; startup refuses it in azure mode.
    local_issuer_enabled: bool | None = Field(None, alias="LOCAL_ISSUER_ENABLED")

    # --- Mail (Microsoft Graph sendMail with client credentials; secret from Key Vault) ---
    mail_sender: Literal["outbox", "graph"] = Field("outbox", alias="MAIL_SENDER")
    graph_tenant_id: str | None = Field(None, alias="GRAPH_TENANT_ID")
    graph_client_id: str | None = Field(None, alias="GRAPH_CLIENT_ID")
    graph_sender_address: str | None = Field(None, alias="GRAPH_SENDER_ADDRESS")
    graph_secret_name: str = Field("graph-client-secret", alias="GRAPH_SECRET_NAME")

    # --- NHS number trace: PDS FHIR (shared_code/adapters/pds.py), application-restricted access with
    #     signed-JWT authentication; the private key is a Key Vault secret (PEM) read with the managed
    #     identity. Unset PDS_BASE_URL: no trace (local), numbers stay unverified. ---
    pds_base_url: str | None = Field(None, alias="PDS_BASE_URL")  # .../personal-demographics/FHIR/R4
    pds_token_url: str | None = Field(None, alias="PDS_TOKEN_URL")  # .../oauth2/token
    pds_api_key: str | None = Field(None, alias="PDS_API_KEY")  # the application's key (JWT iss and sub)
    pds_key_id: str | None = Field(None, alias="PDS_KEY_ID")  # the `kid` of the registered public key
    pds_private_key_secret_name: str = Field("pds-private-key", alias="PDS_PRIVATE_KEY_SECRET_NAME")
    # A trace runs inline on PUT /api/me: short, so a slow service costs the patient little.
    pds_timeout_seconds: float = Field(3.0, alias="PDS_TIMEOUT_SECONDS", gt=0, le=10)

    # --- AI decision support for referrals (advisory; shared_code/adapters/decision_support_https.py).
    #     Unset DECISION_SUPPORT_URL: no provider (always, locally), nothing is sent, and referrals say
    #     so. Credential: a managed-identity token for DECISION_SUPPORT_SCOPE where the provider takes
    #     Entra tokens, else the API key in the Key Vault secret DECISION_SUPPORT_API_KEY_SECRET_NAME. ---
    decision_support_url: str | None = Field(None, alias="DECISION_SUPPORT_URL")
    decision_support_provider: str = Field("DERM", alias="DECISION_SUPPORT_PROVIDER")  # shown with each result
    decision_support_scope: str | None = Field(None, alias="DECISION_SUPPORT_SCOPE")
    decision_support_api_key_secret_name: str | None = Field(None, alias="DECISION_SUPPORT_API_KEY_SECRET_NAME")
    # A queued worker waits this long for one assessment (not a request path: images take seconds).
    decision_support_timeout_seconds: float = Field(20.0, alias="DECISION_SUPPORT_TIMEOUT_SECONDS", gt=0, le=120)
    # Failures (5xx, timeouts, unreadable answers) before a lesion's assessment is marked `failed`, and
    # the first wait between attempts (doubled each time). Throttling (429) waits what Retry-After
    # says (at most the cap) and counts against its own, larger limit.
    decision_support_max_attempts: int = Field(5, alias="DECISION_SUPPORT_MAX_ATTEMPTS", ge=1)
    decision_support_retry_seconds: int = Field(30, alias="DECISION_SUPPORT_RETRY_SECONDS", ge=0)
    decision_support_max_throttled: int = Field(20, alias="DECISION_SUPPORT_MAX_THROTTLED", ge=1)
    decision_support_max_wait_seconds: int = Field(3600, alias="DECISION_SUPPORT_MAX_WAIT_SECONDS", ge=1,
                                                   le=7 * 24 * 3600)

    # --- The referral review clock's timers (shared_code/referrals/deadlines.py): the referrer is alerted
    #     when this many working days pass after submission with no outcome, and reminded when an
    #     outcome stays unacknowledged this many. Their notices go from this hour (Europe/London) to
    #     midnight, so a referral overdue at 00:00 is escalated at the start of the day, not at night. ---
    referral_no_outcome_working_days: int = Field(20, alias="REFERRAL_NO_OUTCOME_WORKING_DAYS", ge=1)
    referral_unacknowledged_working_days: int = Field(5, alias="REFERRAL_UNACKNOWLEDGED_WORKING_DAYS", ge=1)
    referral_notice_hour: int = Field(8, alias="REFERRAL_NOTICE_HOUR", ge=0, le=23)

    # --- Limits ---
    max_upload_bytes: int = Field(40 * 1024 * 1024, alias="MAX_UPLOAD_BYTES", gt=0)
    # Bitmap bytes an upload may decode to (width x height x bytes per pixel, from the header): the
    # decompression-bomb budget. Default in shared_code/imaging/process.py (why that figure).
    image_decode_budget_bytes: int = Field(80 * 1024 * 1024, alias="IMAGE_DECODE_BUDGET_BYTES", gt=0)
    # Uploads processed at once by one process (shared_code/images/admission.py), whichever path
    # they came by: the memory uploads take is this many times one upload's peak (README, "Images").
    max_concurrent_uploads: int = Field(4, alias="MAX_CONCURRENT_UPLOADS", ge=1)
    # How long an upload waits for its turn before 503 `uploads-busy` (its body still unread).
    upload_wait_seconds: float = Field(5.0, alias="UPLOAD_WAIT_SECONDS", ge=0, le=60)
    # A patient whose uploads keep failing gets at most this many rejection mails a (UTC) day.
    upload_rejected_mails_per_day: int = Field(3, alias="UPLOAD_REJECTED_MAILS_PER_DAY", ge=0)
    max_json_bytes: int = Field(64 * 1024, alias="MAX_JSON_BYTES", gt=0)
    upload_url_minutes: int = Field(15, alias="UPLOAD_URL_MINUTES", ge=1, le=15)
    patient_key_cache_seconds: int = Field(300, alias="PATIENT_KEY_CACHE_SECONDS", ge=0)
    # Images: objects up to this size are decrypted in one pass, in memory, after authentication.
    image_single_pass_max_bytes: int = Field(4 * 1024 * 1024, alias="IMAGE_SINGLE_PASS_MAX_BYTES", gt=0)
    # Upload re-drive: a waiting or claimed upload older than this is taken up again by the timer;
    # one whose upload URL expired this long ago without bytes is rejected (`not_received`).
    upload_stuck_minutes: int = Field(15, alias="UPLOAD_STUCK_MINUTES", ge=1)
    upload_not_received_hours: int = Field(24, alias="UPLOAD_NOT_RECEIVED_HOURS", ge=1)
    # Blobs left in `incoming` longer than this are deleted (in Azure a lifecycle rule does too).
    incoming_sweep_hours: int = Field(24, alias="INCOMING_SWEEP_HOURS", ge=1)
    # Leftovers of a write killed half-way (encrypted objects no image record names, local `.part`
    # files) are deleted by the leftover sweep once older than this: longer than any write takes.
    leftover_sweep_minutes: int = Field(60, alias="LEFTOVER_SWEEP_MINUTES", ge=5)
    notification_max_attempts: int = Field(5, alias="NOTIFICATION_MAX_ATTEMPTS", ge=1)
    # Lesions on one referral (the whole referral is one document: this bounds its size; a patient
    # with more lesions is referred twice, or seen).
    referral_max_lesions: int = Field(10, alias="REFERRAL_MAX_LESIONS", ge=1, le=50)
    # Clinic-code attempts (lookups and shares) per window, per patient and per client address, counted
    # in the document store across all instances (shared_code/sharing/ratelimit.py). The client address
    # is X-Forwarded-For's last entry only when TRUST_X_FORWARDED_FOR (on Azure, behind the front end).
    clinic_code_attempts: int = Field(10, alias="CLINIC_CODE_ATTEMPTS", ge=1)
    clinic_code_address_attempts: int = Field(30, alias="CLINIC_CODE_ADDRESS_ATTEMPTS", ge=1)
    clinic_code_window_seconds: float = Field(60, alias="CLINIC_CODE_WINDOW_SECONDS", gt=0)
    trust_x_forwarded_for: bool = Field(False, alias="TRUST_X_FORWARDED_FOR")
    # Idempotency-Key (shared_code/idempotency/): how long a key is remembered (the contract says at
    # least 24 h), and after how long a request still "in flight" with a key is taken to have died
    # (the Functions host's timeout), so a retry may run it again.
    idempotency_key_hours: int = Field(24, alias="IDEMPOTENCY_KEY_HOURS", ge=24)
    idempotency_in_flight_seconds: int = Field(600, alias="IDEMPOTENCY_IN_FLIGHT_SECONDS", ge=1)

    # --- Retention (shared_code/retention/; why these defaults: docs/clinical-safety-and-ig.md) ---
    # An erased patient's audit trail is kept this long after the erasure, then deleted (8 years).
    retention_audit_days: int = Field(8 * 365, alias="RETENTION_AUDIT_DAYS", ge=1)
    # An account unused this long is told it will be erased, and erased this long after the notice.
    retention_inactive_account_days: int = Field(3 * 365, alias="RETENTION_INACTIVE_ACCOUNT_DAYS", ge=30)
    retention_inactive_notice_days: int = Field(60, alias="RETENTION_INACTIVE_NOTICE_DAYS", ge=14)
    # Outbox markers left behind (a send that kept failing) and notification dedupe records.
    retention_outbox_days: int = Field(30, alias="RETENTION_OUTBOX_DAYS", ge=1)
    retention_dedupe_days: int = Field(90, alias="RETENTION_DEDUPE_DAYS", ge=1)
    # Referrals (shared_code/retention/referrals.py). A draft cancelled before it was ever submitted
    # never reached the service (no clinical record of its care): it goes this long after cancelling.
    referral_draft_retention_days: int = Field(30, alias="REFERRAL_DRAFT_RETENTION_DAYS", ge=1)
    # A closed or cancelled referral is the service's clinical record: the NHS Records Management
    # Code of Practice (2021, Appendix II, "adult health records") keeps it 8 years after the end of
    # care (a child's until the 25th birthday, or the 26th if 17 at the end: retention/referrals.py).
    referral_records_retention_days: int = Field(8 * 365, alias="REFERRAL_RECORDS_RETENTION_DAYS", ge=1)

    @model_validator(mode="after")
    def _mode_rules(self) -> "Settings":
        if self.app_mode == "azure":
            if self.local_issuer_enabled:
                raise ValueError("LOCAL_ISSUER_ENABLED is refused when APP_MODE=azure")
            missing = [name for name, value in self.azure_required().items() if not value]
            if missing:
                raise ValueError("APP_MODE=azure needs " + ", ".join(missing))
            if self.mail_sender != "graph":
                raise ValueError("APP_MODE=azure sends mail through Graph: set MAIL_SENDER=graph")
        return self

    def azure_required(self) -> dict[str, str | None]:
        """The settings azure mode cannot start without (tests/infra checks the Bicep sets them)."""
        return {
            "AzureWebJobsStorage__blobServiceUri": self.blob_service_uri,
            "AzureWebJobsStorage__queueServiceUri": self.queue_service_uri,
            "COSMOS_ENDPOINT": self.cosmos_endpoint,
            "KEY_VAULT_URI": self.key_vault_uri,
            "AZURE_CLIENT_ID": self.azure_client_id,
            "PATIENT_ISSUER": self.patient_issuer,
            "PATIENT_JWKS_URI": self.patient_jwks_uri,
            "PATIENT_AUDIENCE": self.patient_audience,
            "WORKFORCE_ISSUER": self.workforce_issuer,
            "WORKFORCE_JWKS_URI": self.workforce_jwks_uri,
            "WORKFORCE_AUDIENCE": self.workforce_audience,
            "GRAPH_TENANT_ID": self.graph_tenant_id,
            "GRAPH_CLIENT_ID": self.graph_client_id,
            "GRAPH_SENDER_ADDRESS": self.graph_sender_address,
        }

    @property
    def workforce_tenant_ids(self) -> frozenset[str]:
        listed = frozenset(t.strip().lower() for t in self.workforce_tenants.split(",") if t.strip())
        if listed or not self.workforce_issuer:
            return listed
        found = re.search(r"/([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})(?:/|$)", self.workforce_issuer)
        return frozenset({found.group(1).lower()}) if found else frozenset()

    @property
    def is_local(self) -> bool:
        return self.app_mode == "local"

    @property
    def local_issuer(self) -> bool:
        return self.is_local if self.local_issuer_enabled is None else self.local_issuer_enabled

    @property
    def data_dir(self) -> Path:
        return self.local_data_dir.resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
