"""In-memory UploadUrls and UploadUrlVerifier: URLs shaped like the local app's
(`<base>/api/local-uploads/<token>`), the token an opaque random string remembered with its blob
name and expiry. `verify` answers as the local adapter does: the blob name, or InvalidUploadToken
for a token it never issued or one past its expiry."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from shared_code.ports.upload_urls import InvalidUploadToken


@dataclass(frozen=True)
class Issued:
    url: str
    blob_name: str
    expires_at: datetime


class FakeUploadUrls:
    def __init__(self, base_url: str = "http://testserver") -> None:
        self._base = base_url.rstrip("/")
        self._issued: dict[str, Issued] = {}

    @property
    def issued(self) -> list[Issued]:
        """What was issued, oldest first."""
        return list(self._issued.values())

    def issue(self, blob_name: str, expires_at: datetime) -> str:
        token = secrets.token_urlsafe(16)
        url = f"{self._base}/api/local-uploads/{token}"
        self._issued[token] = Issued(url, blob_name, expires_at)
        return url

    def verify(self, token: str, now: datetime | None = None) -> str:
        issued = self._issued.get(token)
        if issued is None:
            raise InvalidUploadToken("unknown")
        if (now or datetime.now(timezone.utc)) >= issued.expires_at:
            raise InvalidUploadToken("expired")
        return issued.blob_name
