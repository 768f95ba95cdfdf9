"""Telemetry with OpenTelemetry: one trace from a request through the queue to the mail, the metrics
operations watch, and nothing about a patient in either.

- `setup.start()` turns it on, lazily (the first request or trigger run, never at import):
  APPLICATIONINSIGHTS_CONNECTION_STRING set: the Azure Monitor distro with the app's managed identity
  (shared_code/adapters/azure/telemetry.py); otherwise the standard OTEL_* variables
  (OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER = console | otlp); neither: off, and every call here
  is a no-op of the OpenTelemetry API.
- `traces`: the span of a trigger run (timer, queue message, blob), the W3C trace context carried
  inside every queue message this service writes (`TraceContextQueue`, put around the queue port by
  the container, so every sender, present or future, carries it), and the attribute rules.
- `metrics`: the service's counters and histograms (`telederm.*`).

What a span or a metric may hold: route templates, queue and job names, kinds, outcomes, reasons and
problem types from fixed vocabularies, counts and durations. Never an id of a person, a raw path,
a query string, a name, an address, a number, a note, a label, a token or a SAS
(tests/observability/test_no_patient_data.py scans a whole scenario's telemetry for them)."""
from shared_code.telemetry.setup import start

__all__ = ["start"]
