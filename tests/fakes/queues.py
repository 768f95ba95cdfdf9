"""In-memory MessageQueue with Azure Storage Queue semantics.

A received message is invisible for its visibility timeout, then comes back with a higher
`dequeue_count` and a new pop receipt; deleting with a stale receipt raises NotFound. Azure's limits
hold here too (at most 32 messages a receive or peek), so code that breaks them fails in unit tests.
`clock` returns seconds; pass `lambda: frozen.now().timestamp()` to stand at a FrozenClock's time."""
from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from shared_code.ports.errors import NotFound
from shared_code.ports.queues import Message
from tests.fakes.faults import Faults

MOST_PER_CALL = 32


@dataclass
class _Entry:
    seq: int
    id: str
    body: str
    visible_at: float
    dequeue_count: int = 0
    pop_receipt: str | None = None


class FakeQueue:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._queues: dict[str, dict[str, _Entry]] = {}
        self._seq = itertools.count()
        self._clock = clock
        self._lock = threading.Lock()
        self.faults = Faults()

    def single_attempt(self) -> "FakeQueue":
        """The same queue: a fake has no retries to give up."""
        return self

    def send(self, queue: str, body: str, *, visibility_timeout: int = 0) -> None:
        self.faults.before("send", queue, body)
        entry = _Entry(next(self._seq), uuid.uuid4().hex, body, self._clock() + visibility_timeout)
        with self._lock:
            self._queues.setdefault(queue, {})[entry.id] = entry

    def receive(self, queue: str, *, max_messages: int = 16, visibility_timeout: int = 30) -> list[Message]:
        _check_count(max_messages)
        self.faults.before("receive", queue)
        now = self._clock()
        taken = []
        with self._lock:
            for entry in self._visible(queue, now)[:max_messages]:
                entry.visible_at = now + visibility_timeout
                entry.dequeue_count += 1
                entry.pop_receipt = uuid.uuid4().hex
                taken.append(Message(entry.id, entry.pop_receipt, entry.body, entry.dequeue_count))
        return taken

    def delete(self, queue: str, message: Message) -> None:
        self.faults.before("delete", queue, message)
        with self._lock:
            entry = self._queues.get(queue, {}).get(message.id)
            if entry is None or entry.pop_receipt != message.pop_receipt:
                raise NotFound(message.id)
            del self._queues[queue][message.id]

    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        _check_count(max_messages)
        with self._lock:
            return [Message(e.id, "", e.body, e.dequeue_count) for e in self._visible(queue, self._clock())[:max_messages]]

    def check(self) -> None:
        self.faults.before("check")

    def _visible(self, queue: str, now: float) -> list[_Entry]:
        return sorted((e for e in self._queues.get(queue, {}).values() if e.visible_at <= now), key=lambda e: e.seq)


def _check_count(max_messages: int) -> None:
    if not 1 <= max_messages <= MOST_PER_CALL:
        raise ValueError(f"max_messages must be 1 to {MOST_PER_CALL} (Azure Storage's limit), not {max_messages}")
