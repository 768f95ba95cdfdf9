"""Paging over the document port: the one client continuation format, the one page read and the
one "every item" iterator.

A client's continuation is the store's own token, wrapped so it is opaque and URL-safe; a token
that does not unwrap, or that the store refuses, is `InvalidContinuation` (400), never a 500."""
from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import Iterator

from shared_code.errors import InvalidContinuation
from shared_code.ports.documents import DocumentStore, Page, Query, Stored

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def to_client(token: str | None) -> str | None:
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=") if token else None


def from_client(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidContinuation() from None


def read_page(documents: DocumentStore, container: str, query: Query) -> Page:
    """One single-partition page; `query.continuation` is a client token, and so is the result's."""
    try:
        page = documents.query(container, replace(query, continuation=from_client(query.continuation)))
    except ValueError:
        raise InvalidContinuation() from None
    return Page(page.items, to_client(page.continuation))


def every(documents: DocumentStore, container: str, query: Query) -> Iterator[Stored]:
    """Every item a query matches, store page by store page (internal: timers, cascades, erasure)."""
    continuation = query.continuation
    while True:
        page = documents.query(container, replace(query, continuation=continuation))
        yield from page.items
        if not page.continuation:
            return
        continuation = page.continuation
