"""Picks the adapter family from the one settings model. Azure SDKs are imported here, lazily,
only when azure adapters are built: importing function_app stays cheap and offline."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared_code.ports.blobs import BlobStore
from shared_code.ports.documents import DocumentStore
from shared_code.ports.keys import KeyWrapper
from shared_code.ports.queues import MessageQueue
from shared_code.settings import Settings


@dataclass
class Adapters:
    blobs: BlobStore
    documents: DocumentStore
    queue: MessageQueue
    keys: KeyWrapper
    mail: Any = None  # MailSender; set by the notifications area


def build_adapters(settings: Settings) -> Adapters:
    return _local(settings) if settings.is_local else _azure(settings)


def _local(settings: Settings) -> Adapters:
    from shared_code.adapters.local.file_blobs import FileBlobStore
    from shared_code.adapters.local.kek_file import LocalKeyWrapper
    from shared_code.adapters.local.sqlite_documents import SqliteDocumentStore
    from shared_code.adapters.local.sqlite_queue import SqliteQueue

    root = settings.data_dir
    root.mkdir(parents=True, exist_ok=True)
    return Adapters(
        blobs=FileBlobStore(root / "blobs"),
        documents=SqliteDocumentStore(root / "documents.sqlite3"),
        queue=SqliteQueue(root / "queues.sqlite3"),
        keys=LocalKeyWrapper(root / "kek"),
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

    credential = azure_credential(settings)
    cosmos = CosmosClient(settings.cosmos_endpoint, credential=credential)
    return Adapters(
        blobs=AzureBlobStore(BlobServiceClient(settings.blob_service_uri, credential=credential)),
        documents=CosmosDocumentStore(cosmos.get_database_client(settings.cosmos_database)),
        queue=AzureQueue(QueueServiceClient(settings.queue_service_uri, credential=credential)),
        keys=KeyVaultKeyWrapper(settings.key_vault_uri, settings.kek_name, credential, algorithm=settings.kek_algorithm),
    )
