"""An API client on a chosen adapter family, the way the mobile app and the portal see the service."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from functions.http_app import create_api
from shared_code.adapters.factory import Adapters
from shared_code.adapters.local.kek_file import LocalKeyWrapper
from shared_code.adapters.local.outbox_mail import LocalOutboxMail
from shared_code.adapters.local.spool import SpoolingBlobStore
from shared_code.adapters.local.upload_urls import LocalUploadUrls
from shared_code.clock import Clock
from shared_code.container import Container
from shared_code.settings import INCOMING_CONTAINER, Settings
from tests.support.backends import Family
from tests.support.steps import Client


@dataclass
class Api(Client):
    """The API on one adapter family, and the container behind it (tests look behind the API)."""

    container: Container

    def now(self) -> datetime:
        return self.container.clock.now()


def _upload_urls(family: Family, data_dir: Path, sas_uploads: bool):
    """The local app's signed URLs (the local-uploads route serves them), or with `sas_uploads` on
    the azure family, real user-delegation SAS from Azurite."""
    if sas_uploads and family.name == "azure":
        from shared_code.adapters.azure.upload_urls import AzureUploadUrls

        return AzureUploadUrls(family.blob_oauth, INCOMING_CONTAINER)
    return LocalUploadUrls(data_dir / "upload-url.key", "http://testserver")


def make_api(family: Family, data_dir: Path, clock: Clock | None = None, *, sas_uploads: bool = False,
             demographics: Any = None, decision_support: Any = None, **settings: Any) -> Api:
    config = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(data_dir), PUBLIC_BASE_URL="http://testserver", **settings)
    blobs = family.blobs
    if family.name == "local":  # as build_adapters does: uploads waiting in `incoming` sealed in memory
        blobs = SpoolingBlobStore(blobs, {INCOMING_CONTAINER})
    upload_urls = _upload_urls(family, data_dir, sas_uploads)
    # Mail is a double in tests on both families: the local outbox in the test's directory.
    mail = LocalOutboxMail(data_dir / "outbox.sqlite3")
    adapters = Adapters(blobs=blobs, documents=family.documents, queue=family.queue,
                        keys=LocalKeyWrapper(data_dir / "kek"), upload_urls=upload_urls,
                        upload_url_verifier=upload_urls if isinstance(upload_urls, LocalUploadUrls) else None,
                        mail=mail, mail_outbox=mail, demographics=demographics, decision_support=decision_support)
    container = Container(config, adapters, clock)
    app = create_api(lambda: container, settings=config)
    return Api(TestClient(app, raise_server_exceptions=False), container)
