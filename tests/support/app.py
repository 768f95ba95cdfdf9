"""An API client on a chosen adapter family, the way the mobile app and the portal see the service."""
from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class Api:
    client: TestClient
    container: Container

    def token(self, role: str = "patient", subject: str = "alice", email: str | None = None, name: str | None = None) -> str:
        body: dict[str, Any] = {"role": role, "subject": subject}
        if email:
            body["email"] = email
        if name:
            body["name"] = name
        response = self.client.post("/api/dev/tokens", json=body)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def as_(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def patient(self, subject: str = "alice", display_name: str = "Alice", **account: Any) -> dict[str, str]:
        """A patient with an account; returns the auth headers."""
        headers = self.as_(self.token("patient", subject))
        response = self.client.put("/api/me", json={"displayName": display_name, **account}, headers=headers)
        assert response.status_code in (200, 201), response.text
        return headers


def _upload_urls(family: Family, data_dir: Path, sas_uploads: bool):
    """The local app's signed URLs (the local-uploads route serves them), or with `sas_uploads` on
    the azure family, real user-delegation SAS from Azurite."""
    if sas_uploads and family.name == "azure":
        from shared_code.adapters.azure.upload_urls import AzureUploadUrls

        return AzureUploadUrls(family.blob_oauth, INCOMING_CONTAINER)
    return LocalUploadUrls(data_dir / "upload-url.key", "http://testserver")


def make_api(family: Family, data_dir: Path, clock: Clock | None = None, *, sas_uploads: bool = False,
             **settings: Any) -> Api:
    config = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(data_dir), PUBLIC_BASE_URL="http://testserver", **settings)
    blobs = family.blobs
    if family.name == "local":  # as build_adapters does: uploads waiting in `incoming` sealed in memory
        blobs = SpoolingBlobStore(blobs, {INCOMING_CONTAINER})
    adapters = Adapters(blobs=blobs, documents=family.documents, queue=family.queue,
                        keys=LocalKeyWrapper(data_dir / "kek"),
                        upload_urls=_upload_urls(family, data_dir, sas_uploads),
                        # Mail is a double in tests on both families: the local outbox in the test's directory.
                        mail=LocalOutboxMail(data_dir / "outbox.sqlite3"))
    container = Container(config, adapters, clock)
    app = create_api(lambda: container, settings=config)
    return Api(TestClient(app, raise_server_exceptions=False), container)
