"""Structured logs with a request id, and a last line of defence against leaking secrets into them.

Code logs ids and outcomes, never bodies, tokens, query strings or clinical text. The redacting
filter still scrubs anything shaped like a JWT, a bearer header, a SAS signature or a 10-digit
number (an NHS number) from every field of every record (message, arguments, `extra=` fields,
exception and stack text) before any handler sees it. With telemetry on, a line carries the id of
the trace it was written in (`trace_id`), so a request's log lines and its spans can be matched."""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any

from opentelemetry import trace

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# (the connection's peer host, the X-Forwarded-For header) of the request being served; the
# clinic-code rate limit decides which to count (shared_code/sharing/ratelimit.py). Never logged.
request_peer: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "request_peer", default=(None, None))

_REDACTIONS = [
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(\.[A-Za-z0-9_-]*)?"), "[jwt]"),
    (re.compile(r"(?i)bearer\s+\S+"), "Bearer [redacted]"),
    (re.compile(r"(?i)(sig|signature|code|token)=[^&\s\"']+"), r"\1=[redacted]"),
    # Query strings: they may carry a note, a clinic code or a SAS signature.
    (re.compile(r"(/[^\s?\"']*)\?[^\s\"']+"), r"\1?[query]"),
    # NHS numbers: ten digits, possibly spaced 3-3-4 as printed on letters.
    (re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)"), "[number]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value: Any) -> Any:
    """`value` with every string (and every integer, as an NHS number may be one) inside redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        return value if redact(text) == text else redact(text)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_scrub(item) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    return value


# What LogRecord itself sets: everything else on a record came from `extra=` (or a handler).
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    message = record.getMessage()
    if record.exc_info:
        message += "\n" + logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        record.exc_text = None
    record.msg, record.args = redact(message), None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record.request_id = request_id.get()
    return record


def _redact_extras(record: logging.LogRecord) -> logging.LogRecord:
    for key, value in vars(record).items():
        if key not in _STANDARD:
            record.__dict__[key] = _scrub(value)
    return record


def _install_record_factory() -> None:
    """Redact when a record is made, so every handler (ours, the Functions worker's, Application
    Insights', OpenTelemetry's, which exports `extra=` fields as attributes) only ever sees the
    redacted text, whichever logger it came from. Two hooks, because `Logger.makeRecord` attaches
    the `extra=` fields after the record factory has run: the factory redacts the message, its
    arguments, the exception and stack text; the wrapped makeRecord then redacts the extra fields."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_telederm_redacting", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        return _redact_record(previous(*args, **kwargs))

    factory._telederm_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)

    make_record = logging.Logger.makeRecord

    def redacting_make_record(self, *args, **kwargs) -> logging.LogRecord:
        return _redact_extras(make_record(self, *args, **kwargs))

    logging.Logger.makeRecord = redacting_make_record  # type: ignore[method-assign]


class JsonFormatter(logging.Formatter):
    _EXTRA = ("method", "route", "status", "duration_ms", "event")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in self._EXTRA:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        # With telemetry on, the line names the trace it belongs to (shared_code/telemetry/).
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
        return json.dumps(entry)


_configured = False


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Idempotent. `stream=False` installs only the redaction (in Azure the Functions worker owns the
    handlers and forwards records to Application Insights)."""
    global _configured
    _install_record_factory()
    root = logging.getLogger()
    if not _configured and stream is not False:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        _configured = True
    root.setLevel(level)
    # HTTP client libraries log request URLs and headers at INFO; they may carry SAS tokens or notes.
    for noisy in ("azure", "httpx", "httpcore", "urllib3", "msal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True
