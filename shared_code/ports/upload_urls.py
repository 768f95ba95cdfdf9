"""Port: a URL through which a client uploads one blob directly, once, for a short time.

Azure: a user-delegation SAS (create/write only, one blob in `incoming`, at most 15 minutes), so no
account key exists to sign with. Local: a URL of the local app, HMAC-signed, with the same rules;
the local app serves it, so it also needs to verify its tokens (`UploadUrlVerifier`)."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol


class InvalidUploadToken(Exception):
    """Expired, altered or malformed."""


class UploadUrls(Protocol):
    def issue(self, blob_name: str, expires_at: datetime) -> str: ...


class UploadUrlVerifier(Protocol):
    """Optional: only where this app itself is the upload URL's target (local mode)."""

    def verify(self, token: str, now: datetime | None = None) -> str:
        """The blob name the token allows; raises InvalidUploadToken."""
