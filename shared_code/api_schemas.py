"""The bases of every feature's API bodies (`<feature>/schemas.py`, ../shared/API.md): requests
forbid unknown fields (a typo is a 422, not a silently ignored value), responses ignore extras, and
`ListOf` is the one page shape. Field names are the API's camelCase; these models also produce the
OpenAPI document. (Not under http/: feature services take request bodies, and nothing below the
edge imports shared_code.http.)"""
from __future__ import annotations

import re
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

T = TypeVar("T")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ListOf(Response, Generic[T]):
    items: list[T]
    continuation: str | None = Field(None, description="Pass back as ?continuation= for the next page; null at the end.")


def email_address(value: str | None) -> str | None:
    """The one e-mail rule of request bodies: trimmed, lower-cased, plausibly an address."""
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("must be an e-mail address")
    return value
