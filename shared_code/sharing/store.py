"""Small helpers the sharing repositories share: client-facing paging over the document port, and
the time fields every sharing document carries."""
from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone
from typing import Any

from shared_code.clock import Clock, iso
from shared_code.ports.documents import DocumentStore, Page, Query
from shared_code.problems import Problem
from shared_code.repositories import paging


def query_page(documents: DocumentStore, container: str, partition_key: str, equals: dict[str, Any], *,
               order_by: str, descending: bool, limit: int, continuation: str | None) -> Page:
    """One single-partition page with an opaque client continuation (wrapping the store's own)."""
    query = Query(partition_key, equals, order_by=order_by, descending=descending, limit=limit,
                  continuation=paging.from_client(continuation))
    try:
        page = documents.query(container, query)
    except ValueError:
        raise Problem(400, "invalid-continuation", "Invalid continuation token",
                      "The continuation token is not one this API issued.") from None
    return Page(page.items, paging.to_client(page.continuation))


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def sort_key(clock: Clock) -> str:
    """Orders documents written within the same second (the clock's resolution): the time, then a
    monotonic nanosecond counter, then randomness so two workers never tie."""
    return f"{iso(clock.now())}|{time.time_ns():020d}|{secrets.token_hex(4)}"
