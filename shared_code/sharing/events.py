"""Emitting a sharing notification with the write it belongs to (the outbox contract in
shared_code/notifications/contract.py): `write(event_id)` stores the event id in the document it
creates, in the same write. One notification per kind and source document: its dedupe key says so."""
from __future__ import annotations

from typing import Any, Callable

from shared_code.notifications.contract import Outbox, SourceRef


def emit(outbox: Outbox, kind: str, data: dict[str, Any], source: SourceRef, write: Callable[[str], Any]) -> Any:
    return outbox.emit(kind, data, source, write, dedupe_key=f"{kind}:{source.partition_key}:{source.id}")
