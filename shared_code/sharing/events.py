"""Emitting a notification event together with the write it belongs to (the outbox contract in
shared_code/notifications/contract.py): the event id goes into the document's `events` list in the
very write that creates or changes it."""
from __future__ import annotations

from typing import Any, Callable

from shared_code.notifications.contract import Outbox, SourceRef

# Resolved at each use, so the sharing services never hold a stale outbox (the Container owns it).
OutboxProvider = Callable[[], Outbox]


def emit(outbox: OutboxProvider, kind: str, data: dict[str, Any], source: SourceRef,
         write: Callable[[str], Any]) -> Any:
    return outbox().emit(kind, data, source, write, dedupe_key=f"{kind}:{source.partition_key}:{source.id}")


def with_event(doc: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {**doc, "events": [*(doc.get("events") or []), event_id]}
