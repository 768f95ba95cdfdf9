"""Structured logs with a request id, and a last line of defence against leaking secrets into them.

Code logs ids and outcomes, never bodies, tokens, query strings or clinical text. The redacting
filter still scrubs anything shaped like a JWT, a bearer header, a SAS signature or a 10-digit
number (an NHS number) from every record, including exception text, before any handler sees it."""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import datetime, timezone

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

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


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    message = record.getMessage()
    if record.exc_info:
        message += "\n" + logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        record.exc_text = None
    record.msg, record.args = redact(message), None
    record.request_id = request_id.get()
    return record


def _install_record_factory() -> None:
    """Redact when a record is made, so every handler (ours, the Functions worker's, Application
    Insights') only ever sees the redacted text, whichever logger it came from."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_telederm_redacting", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        return _redact_record(previous(*args, **kwargs))

    factory._telederm_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


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
