"""Azure adapter of the queue port: azure-storage-queue. Only imported when azure adapters are built."""
from __future__ import annotations

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.queue import QueueServiceClient

from shared_code.ports.errors import NotFound
from shared_code.ports.queues import Message
from shared_code.settings import NOTIFICATIONS_QUEUE


class AzureQueue:
    def __init__(self, service: QueueServiceClient, *, send_options: dict | None = None):
        self._service = service
        self._send_options = send_options or {}

    def single_attempt(self) -> "AzureQueue":
        """The same queue, but `send` makes one attempt with short timeouts and no retry sleeps (the
        SDK's default is 3 retries from 15 s): for sends on a request's path (the notifications
        outbox), where a slow queue must not slow the caller and a sweeper retries later."""
        return AzureQueue(self._service, send_options={"retry_total": 0, "connection_timeout": 3, "read_timeout": 5})

    def _queue(self, name: str):
        return self._service.get_queue_client(name)

    def send(self, queue: str, body: str, *, visibility_timeout: int = 0) -> None:
        self._queue(queue).send_message(body, visibility_timeout=visibility_timeout or None, **self._send_options)

    def receive(self, queue: str, *, max_messages: int = 16, visibility_timeout: int = 30) -> list[Message]:
        pages = self._queue(queue).receive_messages(
            messages_per_page=max_messages, visibility_timeout=visibility_timeout, max_messages=max_messages
        )
        return [Message(m.id, m.pop_receipt, m.content, m.dequeue_count) for m in pages]

    def delete(self, queue: str, message: Message) -> None:
        try:
            self._queue(queue).delete_message(message.id, message.pop_receipt)
        except ResourceNotFoundError:
            raise NotFound(message.id) from None
        except HttpResponseError as exc:
            # A stale pop receipt: the message was received again by someone else. Same as gone.
            if getattr(exc, "error_code", None) == "PopReceiptMismatch":
                raise NotFound(message.id) from None
            raise

    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        return [
            Message(m.id, "", m.content, m.dequeue_count)
            for m in self._queue(queue).peek_messages(max_messages=max_messages)
        ]

    def check(self) -> None:
        """Peek at most one message of the app's own queue: a data-plane read the queue role
        allows (service properties need more than the app's identity is given)."""
        self._queue(NOTIFICATIONS_QUEUE).peek_messages(max_messages=1)
