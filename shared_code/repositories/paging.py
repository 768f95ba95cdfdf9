"""Client-facing continuation tokens: the store's own token, wrapped so it is opaque and URL-safe."""
from __future__ import annotations

import base64

from shared_code.problems import Problem

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def to_client(token: str | None) -> str | None:
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=") if token else None


def from_client(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except Exception:  # noqa: BLE001
        raise Problem(400, "invalid-continuation", "Invalid continuation token",
                      "The continuation token is not one this API issued.") from None
