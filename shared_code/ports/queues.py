"""Port: an at-least-once message queue (Azure Storage Queue semantics).

A received message is invisible for `visibility_timeout` seconds; if not deleted by then it comes
back with `dequeue_count` increased. Handlers must therefore be idempotent."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    id: str
    pop_receipt: str
    body: str
    dequeue_count: int


class MessageQueue(Protocol):
    def send(self, queue: str, body: str, *, visibility_timeout: int = 0) -> None: ...

    def single_attempt(self) -> "MessageQueue":
        """The same queue for sends on a request's path: one attempt, short timeouts, no retry
        sleeps (a slow queue must not slow the caller; the outbox sweeper retries later). A queue
        whose sends never retry returns itself."""

    def receive(self, queue: str, *, max_messages: int = 16, visibility_timeout: int = 30) -> list[Message]: ...

    def delete(self, queue: str, message: Message) -> None: ...

    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        """Look without taking (dequeue_count unchanged)."""

    def check(self) -> None:
        """Deep health check."""
