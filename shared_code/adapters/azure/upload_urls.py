"""Azure upload URLs: user-delegation SAS (the identity holds Storage Blob Delegator), create and
write only, on one blob of the `incoming` container, valid at most 15 minutes. No account key."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas


class AzureUploadUrls:
    def __init__(self, service: BlobServiceClient, container: str):
        self._service = service
        self._container = container
        self._key = None
        self._key_expiry = datetime.min.replace(tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def _delegation_key(self, needed_until: datetime):
        # One delegation key serves many SAS; renew it well before the SAS it signs would outlive it.
        with self._lock:
            if self._key is None or self._key_expiry < needed_until + timedelta(minutes=5):
                start = datetime.now(timezone.utc) - timedelta(minutes=5)
                self._key_expiry = start + timedelta(hours=6)
                self._key = self._service.get_user_delegation_key(start, self._key_expiry)
            return self._key

    def issue(self, blob_name: str, expires_at: datetime) -> str:
        key = self._delegation_key(expires_at)
        sas = generate_blob_sas(
            account_name=self._service.account_name, container_name=self._container, blob_name=blob_name,
            user_delegation_key=key, permission=BlobSasPermissions(create=True, write=True),
            expiry=expires_at, start=datetime.now(timezone.utc) - timedelta(minutes=2), protocol="https",
        )
        blob = self._service.get_blob_client(self._container, blob_name)
        return f"{blob.url}?{sas}"
