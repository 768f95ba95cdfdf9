"""Picks the adapter family from the one settings model. Azure SDKs are imported here, lazily,
only when azure adapters are built: importing function_app stays cheap and offline."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared_code.ports.blobs import BlobStore
from shared_code.ports.decision_support import DecisionSupportProvider
from shared_code.ports.demographics import Demographics
from shared_code.ports.documents import DocumentStore
from shared_code.ports.health import HealthCheck
from shared_code.ports.keys import KeyWrapper
from shared_code.ports.mail_outbox import MailOutbox
from shared_code.ports.queues import MessageQueue
from shared_code.ports.upload_urls import UploadUrls, UploadUrlVerifier
from shared_code.settings import INCOMING_CONTAINER, Settings


@dataclass
class Adapters:
    blobs: BlobStore
    documents: DocumentStore
    queue: MessageQueue
    keys: KeyWrapper
    upload_urls: UploadUrls
    mail: Any = None  # MailSender; set by the notifications area
    # Optional capabilities, None where the family has none:
    mail_outbox: MailOutbox | None = None  # local: mail kept, not sent (GET /api/dev/outbox)
    upload_url_verifier: UploadUrlVerifier | None = None  # local: this app serves the upload URLs
    demographics: Demographics | None = None  # azure with PDS_BASE_URL: NHS number traces (none locally)
    # azure with DECISION_SUPPORT_URL: the AI assessment of referral lesions (none locally: nothing is sent)
    decision_support: DecisionSupportProvider | None = None

    def health_checks(self) -> dict[str, HealthCheck]:
        """What the deep health check probes, by name. Graph mail has no cheap probe: mail is
        checked where it is the local outbox."""
        checks: dict[str, HealthCheck] = {"documents": self.documents, "blobs": self.blobs, "queue": self.queue,
                                          "keys": self.keys}
        if self.mail_outbox is not None:
            checks["mail"] = self.mail_outbox
        return checks


def build_adapters(settings: Settings) -> Adapters:
    return _local(settings) if settings.is_local else _azure(settings)


def _local(settings: Settings) -> Adapters:
    from shared_code.adapters.local.file_blobs import FileBlobStore
    from shared_code.adapters.local.kek_file import LocalKeyWrapper
    from shared_code.adapters.local.sqlite_documents import SqliteDocumentStore
    from shared_code.adapters.local.spool import SpoolingBlobStore
    from shared_code.adapters.local.sqlite_queue import SqliteQueue
    from shared_code.adapters.local.upload_urls import LocalUploadUrls

    root = settings.data_dir
    root.mkdir(parents=True, exist_ok=True)
    upload_urls = LocalUploadUrls(root / "issuer" / "upload-url.key", settings.public_base_url)
    mail = build_mail(settings)
    keys = LocalKeyWrapper(root / "kek")
    # Uploads waiting in `incoming` are sealed under a spool key wrapped by the KEK: nothing
    # plaintext at rest, and still readable after a restart. A key seals for INCOMING_SWEEP_HOURS and
    # is kept until every upload it sealed has been swept.
    sweep_seconds = settings.incoming_sweep_hours * 3600
    spool = SpoolingBlobStore(FileBlobStore(root / "blobs"), {INCOMING_CONTAINER}, keys=keys, key_dir=root / "spool",
                              rotate_after_seconds=sweep_seconds, retire_after_seconds=2 * sweep_seconds + 7200)
    return Adapters(
        blobs=spool,
        upload_urls=upload_urls,
        upload_url_verifier=upload_urls,
        documents=SqliteDocumentStore(root / "documents.sqlite3"),
        queue=SqliteQueue(root / "queues.sqlite3"),
        keys=keys,
        mail=mail,
        mail_outbox=_outbox(settings, mail),
    )


def azure_credential(settings: Settings):
    """Managed identity only: the user-assigned identity named by AZURE_CLIENT_ID. No keys."""
    from azure.identity import ManagedIdentityCredential

    return ManagedIdentityCredential(client_id=settings.azure_client_id)


def _azure(settings: Settings) -> Adapters:
    from azure.cosmos import CosmosClient
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    from shared_code.adapters.azure.blob_storage import AzureBlobStore
    from shared_code.adapters.azure.cosmos_documents import CosmosDocumentStore
    from shared_code.adapters.azure.keyvault_kek import KeyVaultKeyWrapper
    from shared_code.adapters.azure.storage_queue import AzureQueue
    from shared_code.adapters.azure.upload_urls import AzureUploadUrls
    from shared_code.adapters.decision_support_https import build_decision_support
    from shared_code.adapters.pds import build_pds

    credential = azure_credential(settings)
    cosmos = CosmosClient(settings.cosmos_endpoint, credential=credential)
    blob_service = BlobServiceClient(settings.blob_service_uri, credential=credential)
    mail = build_mail(settings, credential)
    return Adapters(
        blobs=AzureBlobStore(blob_service),
        upload_urls=AzureUploadUrls(blob_service, INCOMING_CONTAINER),
        documents=CosmosDocumentStore(cosmos.get_database_client(settings.cosmos_database)),
        queue=AzureQueue(QueueServiceClient(settings.queue_service_uri, credential=credential)),
        keys=KeyVaultKeyWrapper(settings.key_vault_uri, settings.kek_name, credential, algorithm=settings.kek_algorithm),
        mail=mail,
        mail_outbox=_outbox(settings, mail),
        demographics=build_pds(settings, credential),
        decision_support=build_decision_support(settings, credential),
    )


def _outbox(settings: Settings, mail: Any) -> MailOutbox | None:
    # MAIL_SENDER=outbox builds the local outbox (below): the sender is the outbox.
    return mail if settings.mail_sender == "outbox" else None


def build_mail(settings: Settings, credential: Any = None):
    """MAIL_SENDER chooses: `outbox` keeps mail in LOCAL_DATA_DIR/outbox.sqlite3 (GET /api/dev/outbox);
    `graph` sends through Microsoft Graph with the client secret GRAPH_SECRET_NAME from Key Vault."""
    if settings.mail_sender == "outbox":
        from shared_code.adapters.local.outbox_mail import LocalOutboxMail

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return LocalOutboxMail(settings.data_dir / "outbox.sqlite3")
    from shared_code.adapters.azure.graph_mail import GraphMailSender, keyvault_secret_provider

    needed = {"GRAPH_TENANT_ID": settings.graph_tenant_id, "GRAPH_CLIENT_ID": settings.graph_client_id,
              "GRAPH_SENDER_ADDRESS": settings.graph_sender_address, "KEY_VAULT_URI": settings.key_vault_uri}
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise ValueError("MAIL_SENDER=graph needs " + ", ".join(missing))
    secret = keyvault_secret_provider(settings.key_vault_uri, settings.graph_secret_name,
                                      credential or azure_credential(settings))
    return GraphMailSender(settings.graph_tenant_id, settings.graph_client_id, settings.graph_sender_address, secret)
