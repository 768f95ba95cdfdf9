"""Triggers of the notifications area, registered on the app in function_app.py.

- `notifications_queue`: the Storage queue trigger on `notifications` (identity-based connection
  `AzureWebJobsStorage__queueServiceUri`). Returning acks the message; raising leaves it to the
  host, which redelivers after host.json `visibilityTimeout` and, after `maxDequeueCount` (= the
  NOTIFICATION_MAX_ATTEMPTS default, 5) attempts, moves it to `notifications-poison`.
- `sweep_outbox_timer`: every minute, queues what a crash left in the outbox (singleton across
  instances through the timer's lease; `use_monitor` keeps schedule state across restarts).

Locally, functions/local_triggers.py runs the same handlers (the queue through
shared_code/notifications/pump.py, applying the host's poison rule).
Cheap at import: the handlers and the container are imported and built on first invocation."""
from __future__ import annotations

import azure.functions as func

from functions.local_jobs import LocalJob
from functions.runtime import get_container
from shared_code.settings import NOTIFICATIONS_QUEUE
from shared_code.telemetry import metrics
from shared_code.telemetry.traces import trigger_run

bp = func.Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name=NOTIFICATIONS_QUEUE, connection="AzureWebJobsStorage")
def notifications_queue(msg: func.QueueMessage) -> None:
    from shared_code.notifications.dispatcher import handle_notification

    body, attempt = msg.get_body().decode("utf-8"), msg.dequeue_count or 1
    # The message carries the trace of the request that caused it (shared_code/telemetry/traces.py).
    with trigger_run("queue", NOTIFICATIONS_QUEUE, message=body, attempt=attempt):
        try:
            handle_notification(get_container(), body, attempt)
        except Exception:
            if attempt >= get_container().settings.notification_max_attempts:
                metrics.message_poisoned(NOTIFICATIONS_QUEUE)  # the host moves it now (host.json maxDequeueCount)
            raise


@bp.timer_trigger(schedule="0 */1 * * * *", arg_name="timer", run_on_startup=False, use_monitor=True)
def sweep_outbox_timer(timer: func.TimerRequest) -> None:
    from shared_code.notifications.outbox import sweep_outbox

    with trigger_run("timer", "sweep_outbox_timer"):
        sweep_outbox(get_container())


def _pump_job(container) -> None:
    from shared_code.notifications.pump import pump_notifications

    pump_notifications(container)


def _sweep_job(container) -> None:
    from shared_code.notifications.outbox import sweep_outbox

    sweep_outbox(container)


# Locally (make run): the queue is polled every second, the outbox swept every 30 s.
LOCAL_JOBS = [
    LocalJob("notifications", 1, _pump_job, traced=False),  # each message has its span (pump.py)
    LocalJob("sweep_outbox", 30, _sweep_job),
]
