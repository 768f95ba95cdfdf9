"""Local upload URLs: `{PUBLIC_BASE_URL}/api/local-uploads/{token}`, the token an HMAC-SHA256 over
(blob name, expiry) under a key kept in LOCAL_DATA_DIR. The local app serves the PUT (see
functions/api_local_uploads.py): expired, altered, or already-used tokens are refused. It is
both ports, UploadUrls and UploadUrlVerifier."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

from shared_code.adapters.local.private import private_dir
from shared_code.ports.upload_urls import InvalidUploadToken


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalUploadUrls:
    def __init__(self, key_path: Path, base_url: str):
        self._key = _load_or_create_key(key_path)
        self._base = base_url.rstrip("/")

    def issue(self, blob_name: str, expires_at: datetime) -> str:
        payload = _b64(json.dumps({"b": blob_name, "e": int(expires_at.timestamp())}).encode())
        signature = _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
        return f"{self._base}/api/local-uploads/{payload}.{signature}"

    def verify(self, token: str, now: datetime | None = None) -> str:
        """The blob name the token allows; raises InvalidUploadToken."""
        try:
            payload, signature = token.split(".")
            expected = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                raise InvalidUploadToken("signature")
            claims = json.loads(_unb64(payload))
        except (ValueError, TypeError) as exc:
            raise InvalidUploadToken("malformed") from exc
        now = now or datetime.now(timezone.utc)
        if now.timestamp() >= claims["e"]:
            raise InvalidUploadToken("expired")
        return claims["b"]


def _load_or_create_key(path: Path) -> bytes:
    if not path.exists():
        private_dir(path.parent)
        tmp = path.with_suffix(f".{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_bytes()
