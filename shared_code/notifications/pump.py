"""Local mode's queue trigger: receive from the embedded queue, call the same handler the Azure
queue trigger calls, and apply the Functions host's rules.

- success: the message is deleted;
- failure: the message stays; it comes back after the visibility timeout with a higher dequeue
  count (the host's `visibilityTimeout`, 30 s);
- poison: after a failure on attempt `max_attempts` (host.json `maxDequeueCount`, settings
  NOTIFICATION_MAX_ATTEMPTS), or on receiving a message already past it (a worker died while
  handling it), the message is copied to the poison queue and then deleted: send before delete,
  so a crash in between leaves a copy in both, never in neither.

Generic over queue and handler, so any later queue trigger runs locally through it too.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from shared_code.ports.errors import NotFound
from shared_code.ports.queues import Message, MessageQueue
from shared_code.settings import NOTIFICATIONS_POISON_QUEUE, NOTIFICATIONS_QUEUE
from shared_code.telemetry import metrics
from shared_code.telemetry.traces import trigger_run

log = logging.getLogger(__name__)

VISIBILITY_TIMEOUT = 30  # seconds: host.json extensions.queues.visibilityTimeout


@dataclass
class PumpResult:
    handled: int = 0
    failed: int = 0
    poisoned: int = 0


def pump_queue(queue: MessageQueue, name: str, poison_name: str, handler: Callable[[str, int], Any], *,
               max_attempts: int, visibility_timeout: int = VISIBILITY_TIMEOUT, batch: int = 16,
               max_batches: int = 10) -> PumpResult:
    """Drain up to `max_batches` batches of what is visible now."""
    result = PumpResult()
    for _ in range(max_batches):
        messages = queue.receive(name, max_messages=batch, visibility_timeout=visibility_timeout)
        if not messages:
            break
        for message in messages:
            if message.dequeue_count > max_attempts:
                _poison(queue, name, poison_name, message)
                result.poisoned += 1
                continue
            try:
                # The message's span continues the trace of whoever sent it (shared_code/telemetry/).
                with trigger_run("queue", name, message=message.body, attempt=message.dequeue_count):
                    handler(message.body, message.dequeue_count)
            except Exception as exc:  # noqa: BLE001 - the handler's failure is the message's retry
                result.failed += 1
                log.warning("queue %s: message %s failed on attempt %d/%d (%s)", name, message.id,
                            message.dequeue_count, max_attempts, type(exc).__name__)
                if message.dequeue_count >= max_attempts:
                    _poison(queue, name, poison_name, message)
                    result.poisoned += 1
                continue
            _delete(queue, name, message)
            result.handled += 1
    return result


def _poison(queue: MessageQueue, name: str, poison_name: str, message: Message) -> None:
    queue.send(poison_name, message.body)
    _delete(queue, name, message)
    metrics.message_poisoned(name)
    log.error("queue %s: message %s moved to %s after %d attempts", name, message.id, poison_name,
              message.dequeue_count)


def _delete(queue: MessageQueue, name: str, message: Message) -> None:
    try:
        queue.delete(name, message)
    except NotFound:
        # Its visibility ran out and someone else took it: they will see the dedupe record.
        log.warning("queue %s: message %s was taken again before it could be deleted", name, message.id)


def pump_notifications(container_like: Any, **kwargs: Any) -> PumpResult:
    """The local job behind the notifications queue trigger."""
    from shared_code.notifications.dispatcher import handle_notification

    return pump_queue(container_like.adapters.queue, NOTIFICATIONS_QUEUE, NOTIFICATIONS_POISON_QUEUE,
                      lambda body, count: handle_notification(container_like, body, count),
                      max_attempts=container_like.settings.notification_max_attempts, **kwargs)
