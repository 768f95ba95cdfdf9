"""The deep health check's probes on Azure use only calls the app's data-plane roles allow (Storage
Blob/Queue Data Contributor, Cosmos DB Built-in Data Contributor): a small read in the app's own
container or queue, never the account's service properties, which those roles refuse (403). The
stand-ins below refuse what the roles refuse and answer what they allow; the emulator suites
(tests/api/test_health_and_openapi.py on the azure family) run the same probes for real."""
from __future__ import annotations

from azure.core.exceptions import HttpResponseError
from azure.cosmos.exceptions import CosmosResourceNotFoundError

from shared_code.adapters.azure.blob_storage import AzureBlobStore
from shared_code.adapters.azure.cosmos_documents import CosmosDocumentStore
from shared_code.adapters.azure.storage_queue import AzureQueue


def _forbidden(*args, **kwargs):
    raise HttpResponseError(message="AuthorizationPermissionMismatch: the role does not allow this")


class _DataRoleOnly:
    """A service client whose identity holds a data role: account-level calls are refused."""

    get_service_properties = staticmethod(_forbidden)
    get_account_information = staticmethod(_forbidden)
    read = staticmethod(_forbidden)  # a Cosmos database's metadata

    def __init__(self):
        self.reads: list[str] = []

    def get_container_client(self, name):
        outer = self

        class Container:
            def list_blobs(self, results_per_page=None, **kwargs):
                outer.reads.append(f"list {name}")

                class Pager:
                    def by_page(self):
                        return iter([[]])

                return Pager()

            def read_item(self, item, partition_key):
                outer.reads.append(f"read {name}/{item}")
                raise CosmosResourceNotFoundError(message="not found")

        return Container()

    def get_queue_client(self, name):
        outer = self

        class Queue:
            def peek_messages(self, max_messages=None):
                outer.reads.append(f"peek {name}")
                return []

        return Queue()


def test_each_azure_probe_passes_with_data_plane_roles_only():
    service = _DataRoleOnly()
    AzureBlobStore(service).check()          # was: get_service_properties -> 403, "failing"
    AzureQueue(service).check()              # was: get_service_properties -> 403
    CosmosDocumentStore(service).check()     # was: database.read() (metadata)
    assert service.reads == ["list images", "peek notifications", "read directory/health-probe"]
