"""The decision-support worker's trigger, registered on the app in function_app.py.

- `decision_support_queue`: the Storage queue trigger on `decision-support` (identity-based
  connection `AzureWebJobsStorage__queueServiceUri`). The handler (shared_code/referrals/
  decision_support.py) does its own retries against the provider (a new message, delayed by
  Retry-After or the back-off) and acknowledges; what it raises (the document store, the key
  service) the host redelivers after host.json `visibilityTimeout` and, after `maxDequeueCount`,
  moves to `decision-support-poison`.

Locally, functions/local_triggers.py runs the same handler through the embedded queue (only ever
busy where a provider is configured: none is, on `make run`).
Cheap at import: the container is built on first invocation."""
from __future__ import annotations

import azure.functions as func

from functions.local_jobs import LocalJob
from functions.runtime import get_container
from shared_code.settings import DECISION_SUPPORT_QUEUE
from shared_code.telemetry.traces import trigger_run

bp = func.Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name=DECISION_SUPPORT_QUEUE, connection="AzureWebJobsStorage")
def decision_support_queue(msg: func.QueueMessage) -> None:
    body, attempt = msg.get_body().decode("utf-8"), msg.dequeue_count or 1
    # The message carries the trace of the referral's submission (shared_code/telemetry/traces.py).
    with trigger_run("queue", DECISION_SUPPORT_QUEUE, message=body, attempt=attempt):
        get_container().decision_support.handle(body, attempt)


def _pump_job(container) -> None:
    container.decision_support.pump()


# Locally (make run): the queue is polled every 5 seconds.
LOCAL_JOBS = [LocalJob("decision_support", 5, _pump_job, traced=False)]  # each message has its span (pump.py)
