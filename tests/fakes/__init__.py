"""In-memory fakes of every port, one module a port; the `memory` family of the contract suites
(tests/contract) proves they keep the same contract as the real adapters.

`adapters()` bundles one of each, as `build_adapters` does for the local family (with its optional
capabilities: the mail outbox, the upload URL verifier); with a clock (e.g. a FrozenClock) the
queue's visibility and the blobs' and mails' times follow it."""
from __future__ import annotations

from shared_code.adapters.factory import Adapters
from shared_code.clock import Clock
from tests.fakes.blobs import FakeBlobStore
from tests.fakes.documents import FakeDocumentStore
from tests.fakes.keys import FakeKeyWrapper, FakeVault
from tests.fakes.mail import FakeMailSender
from tests.fakes.queues import FakeQueue
from tests.fakes.upload_urls import FakeUploadUrls

__all__ = ["FakeBlobStore", "FakeDocumentStore", "FakeKeyWrapper", "FakeMailSender", "FakeQueue",
           "FakeUploadUrls", "FakeVault", "adapters"]


def adapters(clock: Clock | None = None) -> Adapters:
    if clock is None:
        blobs, queue, mail = FakeBlobStore(), FakeQueue(), FakeMailSender()
    else:
        blobs, queue, mail = (FakeBlobStore(clock.now), FakeQueue(lambda: clock.now().timestamp()),
                              FakeMailSender(clock.now))
    upload_urls = FakeUploadUrls()
    return Adapters(blobs=blobs, documents=FakeDocumentStore(), queue=queue, keys=FakeKeyWrapper(),
                    upload_urls=upload_urls, upload_url_verifier=upload_urls, mail=mail, mail_outbox=mail)
