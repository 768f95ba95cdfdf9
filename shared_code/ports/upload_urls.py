"""Port: a URL through which a client uploads one blob directly, once, for a short time.

Azure: a user-delegation SAS (create/write only, one blob in `incoming`, at most 15 minutes), so no
account key exists to sign with. Local: a URL of the local app, HMAC-signed, with the same rules."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol


class UploadUrls(Protocol):
    def issue(self, blob_name: str, expires_at: datetime) -> str: ...
