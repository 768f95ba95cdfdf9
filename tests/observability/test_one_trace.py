"""One trace from a request through the queue to the mail (issue 14, point 2): the W3C trace context
travels inside the queue message, and the queue trigger (the local pump, and the Azure function)
continues it."""
from __future__ import annotations

import io
import json
import logging

import azure.functions as func

from functions import notifications_bp, runtime
from shared_code.lazy import Lazy
from shared_code.notifications.pump import pump_notifications
from shared_code.observability import JsonFormatter
from shared_code.settings import NOTIFICATIONS_QUEUE
from shared_code.telemetry.traces import TraceContextQueue, trigger_run
from tests.support.steps import Scene, drain, queued


def _trace_of(spans, name):
    [span] = [s for s in spans if s.name == name]
    return span.context.trace_id


def test_a_share_and_its_notification_are_one_trace(api, telemetry):
    scene = Scene(api)
    pump_notifications(api.container)

    spans = telemetry.spans()
    share = _trace_of(spans, "POST /api/folders/{folderId}/shares")
    sends = [s for s in spans if s.name == "send notifications" and s.context.trace_id == share]
    dispatches = [s for s in spans if s.name == "process notifications" and s.context.trace_id == share]
    assert len(sends) == 1 and len(dispatches) == 1
    assert dispatches[0].parent.span_id == sends[0].context.span_id  # the message's span is its parent
    # Every other request's trace is its own: the trace ids are not all one.
    assert _trace_of(spans, "POST /api/admin/clinics") != share
    assert scene.grant["id"]


def test_the_azure_queue_trigger_continues_the_trace_in_the_message(api, telemetry, monkeypatch):
    Scene(api)
    [body] = [b for b in drain(api.container.adapters.queue) if json.loads(b)["kind"] == "share.created"]
    assert json.loads(body)["traceparent"].startswith("00-")
    monkeypatch.setattr(runtime, "_lazy", Lazy(lambda: api.container))
    notifications_bp.notifications_queue(func.QueueMessage(body=body.encode()))

    spans = telemetry.spans()
    [dispatch] = [s for s in spans if s.name == "process notifications"]
    assert dispatch.context.trace_id == _trace_of(spans, "POST /api/folders/{folderId}/shares")
    assert dict(dispatch.attributes)["telederm.attempt"] == 1
    assert telemetry.counted("telederm.notifications", outcome="sent", kind="share.created") == 1


def test_a_timer_run_is_a_span_and_its_messages_carry_it(api, telemetry):
    queue = api.container.adapters.queue
    with trigger_run("timer", "sweep_outbox") as run:
        queue.send(NOTIFICATIONS_QUEUE, json.dumps({"eventId": "evt_1", "kind": "x", "data": {}}))
    [message] = queued(queue)
    assert message["traceparent"].split("-")[1] == format(run.get_span_context().trace_id, "032x")
    assert telemetry.counted("telederm.trigger.runs", trigger="timer", name="sweep_outbox", outcome="ok") == 1


def test_with_telemetry_off_a_message_is_sent_as_given(api):
    body = json.dumps({"eventId": "evt_1", "kind": "x", "data": {}})
    api.container.adapters.queue.send(NOTIFICATIONS_QUEUE, body)
    assert [m.body for m in api.container.adapters.queue.peek(NOTIFICATIONS_QUEUE)] == [body]
    assert isinstance(api.container.adapters.queue, TraceContextQueue)



def test_a_request_s_log_lines_name_its_trace(api, telemetry):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        Scene(api)
    finally:
        root.removeHandler(handler)
    share = format(_trace_of(telemetry.spans(), "POST /api/folders/{folderId}/shares"), "032x")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    of_share = [line for line in lines if line.get("trace_id") == share]
    assert {line.get("event") for line in of_share} >= {"http.request"}  # the access line
    assert any("notification queued" in line["message"] for line in of_share)
