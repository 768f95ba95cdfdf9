"""A dependency that goes away and comes back is used again, without restarting the app: Azurite
(Blob and Queue) is stopped and started again on the same ports and data, under adapters built
before the outage. Its own Azurite, not the session's, so no other test sees the outage."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, Emulators, _stop, _wait_for_port


@pytest.fixture
def own_azurite(tmp_path):
    workdir = tmp_path / "azurite-own"
    workdir.mkdir()
    emulators = Emulators(workdir=workdir)
    emulators._start_azurite()
    yield emulators
    emulators.stop()


def test_blobs_and_the_queue_are_used_again_after_azurite_restarts(own_azurite):
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    from shared_code.adapters.azure.blob_storage import AzureBlobStore
    from shared_code.adapters.azure.storage_queue import AzureQueue
    from shared_code.settings import IMAGES_CONTAINER, NOTIFICATIONS_QUEUE

    env = own_azurite.env
    key = {"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    # No retries: the outage is seen at once instead of after the SDK's back-off.
    options = {"credential": key, "connection_verify": env["TEST_AZURITE_CA"], "retry_total": 0}
    blob_service = BlobServiceClient(env["TEST_AZURITE_BLOB_URL"], **options)
    queue_service = QueueServiceClient(env["TEST_AZURITE_QUEUE_URL"], **options)
    blob_service.get_container_client(IMAGES_CONTAINER).create_container()
    queue_service.get_queue_client(NOTIFICATIONS_QUEUE).create_queue()
    blobs, queue = AzureBlobStore(blob_service), AzureQueue(queue_service)
    blobs.put(IMAGES_CONTAINER, "p_1/i_1/o_1/original", [b"before"])
    queue.send(NOTIFICATIONS_QUEUE, "before")

    [azurite] = own_azurite.procs
    args = azurite.args
    _stop(azurite)  # Azurite goes away
    own_azurite.procs.clear()
    with pytest.raises(Exception):
        blobs.check()
    with pytest.raises(Exception):
        queue.check()

    restarted, log = own_azurite._spawn("azurite", args)  # and comes back, same ports, same data
    for url in (env["TEST_AZURITE_BLOB_URL"], env["TEST_AZURITE_QUEUE_URL"]):
        _wait_for_port(urlsplit(url).port, restarted, "azurite", log)

    blobs.check()
    queue.check()
    assert b"".join(blobs.open(IMAGES_CONTAINER, "p_1/i_1/o_1/original")[1]) == b"before"
    blobs.put(IMAGES_CONTAINER, "p_1/i_1/o_1/thumbnail", [b"after"])
    queue.send(NOTIFICATIONS_QUEUE, "after")
    assert [m.body for m in queue.receive(NOTIFICATIONS_QUEUE)] == ["before", "after"]
