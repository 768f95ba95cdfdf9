"""The bases of every feature's API bodies (`<feature>/schemas.py`, ../shared/API.md): requests
forbid unknown fields (a typo is a 422, not a silently ignored value), responses ignore extras, and
`ListOf` is the one page shape. Field names are the API's camelCase; these models also produce the
OpenAPI document. (Not under http/: feature services take request bodies, and nothing below the
edge imports shared_code.http.)"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, Iterable, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

# Spelled without `\s`, whose meaning differs between Python and the ECMA-262 regexes of JSON Schema:
# no "@", no control character and no space of any kind.
_ADDRESS_CHAR = r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
EMAIL_PATTERN = rf"^{_ADDRESS_CHAR}{{1,64}}@{_ADDRESS_CHAR}+\.{_ADDRESS_CHAR}{{2,}}$"
_EMAIL = re.compile(EMAIL_PATTERN)
# What `email_address` enforces, for an e-mail field's `json_schema_extra` (the OpenAPI document).
EMAIL = {"pattern": EMAIL_PATTERN}

T = TypeVar("T")


def _written_as(kind: type, shape: str, message: str) -> BeforeValidator:
    """Only what the document's `format` promises: a `kind` value, or a string of `shape` (pydantic
    alone also takes a number, as seconds since 1970)."""
    pattern = re.compile(shape)

    def check(value: Any) -> Any:
        if isinstance(value, kind) or (isinstance(value, str) and pattern.match(value)):
            return value
        raise ValueError(message)

    return BeforeValidator(check)


# A point in time sent by a client: RFC 3339 as JSON Schema's `date-time` means it (a date, `T`, a
# time with seconds, and an offset).
Timestamp = Annotated[AwareDatetime, _written_as(
    datetime, r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
    "must be an RFC 3339 date-time with an offset, like 2026-01-31T09:30:00Z")]
# A calendar date sent by a client (`format: date`).
CalendarDate = Annotated[date, _written_as(date, r"^\d{4}-\d{2}-\d{2}$", "must be a date like 1980-02-29")]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ListOf(Response, Generic[T]):
    items: list[T]
    continuation: str | None = Field(None, description="Pass back as ?continuation= for the next page; null at the end.")

    @classmethod
    def page(cls, items: Iterable[Any], continuation: str | None) -> Self:
        """A page from its items' API shapes (dicts), validated in one call: item by item, a page of
        50 spends more on the calls than on the checks (`make bench`, section 6)."""
        return cls.model_validate({"items": list(items), "continuation": continuation})


def email_address(value: str | None) -> str | None:
    """The one e-mail rule of request bodies: trimmed, lower-cased, plausibly an address."""
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("must be an e-mail address")
    return value
