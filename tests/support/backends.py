"""Builds one adapter family for a test: `local` (embedded: files, SQLite) or `azure` (the real
Azure SDKs against Azurite and cosmosdb-server). The same tests run on both. The contract suites
(tests/contract) also run on `memory`, the in-memory fakes of tests/fakes."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared_code import settings as names
from tests.support.cosmos_policy import indexing_policy
from tests.support.emulators import AZURITE_ACCOUNT, AZURITE_KEY

# cosmosdb-server does not check keys; any base64 string is accepted.
_COSMOS_TEST_KEY = "dGVzdC1vbmx5LWtleQ=="


@dataclass
class Family:
    name: str
    blobs: Any
    documents: Any
    queue: Any
    # Azure only: a BlobServiceClient signed in with an Entra token (user-delegation SAS needs one).
    blob_oauth: Any = None


def local_family(root: Path) -> Family:
    from shared_code.adapters.local.file_blobs import FileBlobStore
    from shared_code.adapters.local.sqlite_documents import SqliteDocumentStore
    from shared_code.adapters.local.sqlite_queue import SqliteQueue

    return Family("local", FileBlobStore(root / "blobs"), SqliteDocumentStore(root / "documents.sqlite3"),
                  SqliteQueue(root / "queue.sqlite3"))


def family_named(name: str, root: Path, request) -> Family:
    """The family `name` for a test (`request` fetches the emulators' clients only for `azure`)."""
    if name == "local":
        return local_family(root)
    if name == "memory":
        return memory_family()
    return azure_family(request.getfixturevalue("azure_clients"))


def memory_family() -> Family:
    from tests.fakes import FakeBlobStore, FakeDocumentStore, FakeQueue

    return Family("memory", FakeBlobStore(), FakeDocumentStore(), FakeQueue())


def azure_clients() -> dict[str, Any]:
    from azure.cosmos import CosmosClient
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    from tests.doubles.entra_token import AzuriteEntraCredential

    credential = {"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    ca = os.environ["TEST_AZURITE_CA"]
    return {
        "blob_oauth": BlobServiceClient(os.environ["TEST_AZURITE_BLOB_URL"], credential=AzuriteEntraCredential(),
                                        connection_verify=ca),
        "blob": BlobServiceClient(os.environ["TEST_AZURITE_BLOB_URL"], credential=credential, connection_verify=ca),
        "queue": QueueServiceClient(os.environ["TEST_AZURITE_QUEUE_URL"], credential=credential, connection_verify=ca),
        # cosmosdb-server's certificate is self-signed: verification off, in tests only.
        "cosmos": CosmosClient(os.environ["TEST_COSMOS_URL"], credential=_COSMOS_TEST_KEY, connection_verify=False),
    }


def azure_family(clients: dict[str, Any]) -> Family:
    """A fresh Cosmos database per test, and emptied blob containers and queues, so tests don't see
    each other's data (they run one at a time)."""
    from azure.core.exceptions import ResourceExistsError
    from azure.cosmos import PartitionKey

    from shared_code.adapters.azure.blob_storage import AzureBlobStore
    from shared_code.adapters.azure.cosmos_documents import CosmosDocumentStore
    from shared_code.adapters.azure.storage_queue import AzureQueue

    blob, queue, cosmos = clients["blob"], clients["queue"], clients["cosmos"]
    for container in (names.IMAGES_CONTAINER, names.INCOMING_CONTAINER, "contract"):
        client = blob.get_container_client(container)
        try:
            client.create_container()
        except ResourceExistsError:
            for item in client.list_blobs():
                client.delete_blob(item.name, delete_snapshots="include")
    for q in (names.NOTIFICATIONS_QUEUE, names.NOTIFICATIONS_POISON_QUEUE, names.DECISION_SUPPORT_QUEUE,
              names.DECISION_SUPPORT_POISON_QUEUE, "contract"):
        client = queue.get_queue_client(q)
        try:
            client.create_queue()
        except ResourceExistsError:
            client.clear_messages()
    database = cosmos.create_database(f"test-{uuid.uuid4().hex[:12]}")
    for container in (*names.DOCUMENT_CONTAINERS, "contract"):
        database.create_container(container, partition_key=PartitionKey(path=names.PARTITION_KEY_PATH),
                                  indexing_policy=indexing_policy(container))
    return Family("azure", AzureBlobStore(blob), CosmosDocumentStore(database), AzureQueue(queue),
                  blob_oauth=clients["blob_oauth"])
