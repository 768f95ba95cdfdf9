"""Spans: a trigger run (timer, queue message, blob), and the W3C trace context inside every queue
message this service writes.

The trace context travels in the message body, as `traceparent` (and `tracestate`) members of its
JSON object: a Storage queue message has no headers, and the body is what both the Functions queue
trigger and the local pump hand over. `TraceContextQueue` adds them on `send` (with a PRODUCER span
for the send), so every sender, the outbox, its sweeper and any later feature, carries the trace
without knowing it; `trigger_run("queue", ...)` continues it. With telemetry off there is no current
span, and bodies are sent exactly as given. Consumers ignore the extra members (a notification
message is read by name: notifications/dispatcher.py `_parse`).

No exception text is recorded on a span: an error names its type (`error.type`), never its message,
which may carry an id."""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared_code.ports.queues import Message, MessageQueue
from shared_code.telemetry import metrics
from shared_code.telemetry.setup import configured, start

TRACER_NAME = "telederm"
_W3C = TraceContextTextMapPropagator()
_CARRIED = ("traceparent", "tracestate")
# What the platform calls each trigger kind (OpenTelemetry's faas.trigger), and the span's kind.
_TRIGGERS = {"timer": ("timer", SpanKind.SERVER), "queue": ("pubsub", SpanKind.CONSUMER),
             "blob": ("datasource", SpanKind.SERVER)}


_tracer: tuple[trace.TracerProvider, trace.Tracer] | None = None


def tracer() -> trace.Tracer:
    """This service's tracer from the provider in force (kept: the SDK makes a new one per call)."""
    global _tracer
    provider = trace.get_tracer_provider()
    if _tracer is None or _tracer[0] is not provider:
        _tracer = (provider, provider.get_tracer(TRACER_NAME))
    return _tracer[1]


def error_type(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def failed(span: trace.Span, exc: BaseException) -> None:
    span.set_attribute("error.type", error_type(exc))
    span.set_status(Status(StatusCode.ERROR))


# --- the trace context in a message body ------------------------------------------------------------
def with_trace_context(body: str) -> str:
    """`body` with the current trace context in it, when there is one and the body is a JSON object."""
    if not trace.get_current_span().get_span_context().is_valid:
        return body
    try:
        message = json.loads(body)
    except ValueError:
        return body
    if not isinstance(message, dict):
        return body
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    message.update(carrier)
    return json.dumps(message, separators=(",", ":"))


def context_of(body: str | None) -> otel_context.Context | None:
    """The trace context a message body carries (None: none, or not a JSON object)."""
    if not body:
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("traceparent"), str):
        return None
    return _W3C.extract({k: message[k] for k in _CARRIED if isinstance(message.get(k), str)})


class TraceContextQueue:
    """The queue port, carrying the current trace in every message it sends (see the module)."""

    def __init__(self, inner: MessageQueue):
        self._inner = inner

    @classmethod
    def around(cls, queue: MessageQueue) -> MessageQueue:
        return queue if isinstance(queue, cls) else cls(queue)

    @property
    def inner(self) -> MessageQueue:
        return self._inner

    def send(self, queue: str, body: str, *, visibility_timeout: int = 0) -> None:
        if not trace.get_current_span().get_span_context().is_valid:
            return self._inner.send(queue, body, visibility_timeout=visibility_timeout)
        with tracer().start_as_current_span(
                f"send {queue}", kind=SpanKind.PRODUCER, record_exception=False, set_status_on_exception=False,
                attributes={"messaging.operation.type": "send", "messaging.destination.name": queue}) as span:
            try:
                self._inner.send(queue, with_trace_context(body), visibility_timeout=visibility_timeout)
            except BaseException as exc:
                failed(span, exc)
                raise

    def single_attempt(self) -> MessageQueue:
        inner = self._inner.single_attempt()
        return self if inner is self._inner else TraceContextQueue(inner)

    def receive(self, queue: str, *, max_messages: int = 16, visibility_timeout: int = 30) -> list[Message]:
        return self._inner.receive(queue, max_messages=max_messages, visibility_timeout=visibility_timeout)

    def delete(self, queue: str, message: Message) -> None:
        self._inner.delete(queue, message)

    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        return self._inner.peek(queue, max_messages=max_messages)

    def check(self) -> None:
        self._inner.check()


# --- a trigger run ----------------------------------------------------------------------------------
@contextmanager
def trigger_run(kind: str, name: str, *, message: str | None = None, attempt: int | None = None
                ) -> Iterator[trace.Span]:
    """The span of one run of a trigger: `kind` timer, queue or blob; `name` the function (a queue:
    the queue's name), never anything the run is about. A queue run continues the trace its
    `message` body carries. Counts the run (`telederm.trigger.runs`) with its outcome."""
    start()
    faas_trigger, span_kind = _TRIGGERS[kind]
    attributes: dict[str, Any] = {"faas.trigger": faas_trigger, "telederm.trigger": name}
    if kind == "queue":
        attributes.update({"messaging.operation.type": "process", "messaging.destination.name": name})
        if attempt is not None:
            attributes["telederm.attempt"] = attempt
    span_name = f"process {name}" if kind == "queue" else f"{kind} {name}"
    with tracer().start_as_current_span(span_name, context=context_of(message), kind=span_kind,
                                        attributes=attributes, record_exception=False,
                                        set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            failed(span, exc)
            metrics.trigger_ran(kind, name, ok=False)
            raise
        metrics.trigger_ran(kind, name, ok=True)


# --- an HTTP request (shared_code/http/middleware.py) -----------------------------------------------
class RequestSpan:
    """The SERVER span of one request, current until `end`; it continues the caller's `traceparent`
    (in Azure, the Functions host's). Named by method until the route is known."""

    def __init__(self, method: str, headers: dict[bytes, bytes]):
        carrier = {name: headers[name.encode()].decode("latin-1") for name in _CARRIED if name.encode() in headers}
        self._method = method
        self._span = tracer().start_span(method, context=_W3C.extract(carrier), kind=SpanKind.SERVER,
                                         attributes={"http.request.method": method})
        self._token = otel_context.attach(trace.set_span_in_context(self._span))

    def end(self, route: str | None, status: int) -> None:
        """Named by the route template (`GET /api/folders/{folderId}`), never the raw path: a path
        holds ids of people, and a path no route matched may hold a local upload URL's token."""
        otel_context.detach(self._token)
        span = self._span
        if route:
            span.update_name(f"{self._method} {route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))
        span.end()


def request_span(method: str, headers: dict[bytes, bytes]) -> RequestSpan | None:
    """None with telemetry off: a request then pays one boolean test."""
    start()
    return RequestSpan(method, headers) if configured() else None
