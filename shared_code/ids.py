"""Opaque, unguessable ids: a short type prefix and 128 random bits in lower-case base32."""
from __future__ import annotations

import base64
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_" + base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def looks_like_id(value: str, prefix: str) -> bool:
    body = value[len(prefix) + 1:]
    return value.startswith(prefix + "_") and len(body) == 26 and body.isalnum() and body.islower()
