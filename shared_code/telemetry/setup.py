"""When and how telemetry starts: once, lazily, from the environment.

`start()` runs on the first request (shared_code/http/middleware.py) and the first trigger run
(traces.trigger_run), never at import: importing function_app stays cheap (`python -m bench
import`), and an exporter's set-up cost (the distro loads its instrumentations, credentials) is paid
by the first call only. The first caller configures; every later call is one boolean test.

Which exporter, by the environment:
- APPLICATIONINSIGHTS_CONNECTION_STRING (Azure): the Azure Monitor OpenTelemetry distro, authenticated
  with the app's managed identity (the resource has local auth off: the connection string alone
  sends nothing);
- else OTEL_TRACES_EXPORTER and/or OTEL_METRICS_EXPORTER = `console` (JSON lines on stdout) or `otlp`
  (OTLP over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT); OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES as
  the SDK reads them;
- neither, or OTEL_SDK_DISABLED=true: off (the API's no-op providers).
Providers someone else installed first (tests, the bench) are left as they are."""
from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, Mapping

from opentelemetry import metrics, trace

log = logging.getLogger(__name__)

SERVICE_NAME = "telederm-api"
EXPORTERS = ("console", "otlp")

_started = False
_lock = threading.Lock()


def start(environ: Mapping[str, str] | None = None) -> None:
    global _started
    if _started:
        return
    with _lock:
        if _started:
            return
        _started = True  # first: a broken exporter is reported once, not on every request
        try:
            _configure(os.environ if environ is None else environ)
        except Exception as exc:  # noqa: BLE001 - telemetry never stops the service
            log.warning("telemetry not started: %s", type(exc).__name__)


def configured() -> bool:
    """Whether a real tracer provider is installed (ours or anyone's)."""
    return type(trace.get_tracer_provider()).__name__ != "ProxyTracerProvider"


def _configure(env: Mapping[str, str]) -> None:
    if configured() or env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    if env.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        from shared_code.adapters.azure.telemetry import configure_azure_monitor_with_identity

        configure_azure_monitor_with_identity(env["APPLICATIONINSIGHTS_CONNECTION_STRING"], env.get("AZURE_CLIENT_ID"))
        log.info("telemetry to Azure Monitor (managed identity)")
        return
    traces, meters = _exporter(env, "OTEL_TRACES_EXPORTER"), _exporter(env, "OTEL_METRICS_EXPORTER")
    if not traces and not meters:
        return
    install(*sdk_providers(traces, meters))
    log.info("telemetry on: traces=%s metrics=%s", traces or "none", meters or "none")


def _exporter(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip().lower()
    if value in ("", "none"):
        return None
    if value not in EXPORTERS:
        raise ValueError(f"{name}={value!r}: use one of {', '.join(EXPORTERS)} or none")
    return value


def _json_line(item: Any) -> str:
    return item.to_json(indent=None) + os.linesep


def sdk_providers(traces: str | None, meters: str | None, *, out=None) -> tuple[Any, Any]:
    """An SDK tracer and meter provider exporting as asked (None: that signal off)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Attributes given here override the environment's: the default name only when none is set.
    resource = Resource.create({} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME})
    tracer_provider = None
    if traces:
        tracer_provider = TracerProvider(resource=resource)
        if traces == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporter: Any = ConsoleSpanExporter(out=out or sys.stdout, formatter=_json_line)
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    meter_provider = None
    if meters:
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        if meters == "console":
            from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

            metric_exporter: Any = ConsoleMetricExporter(out=out or sys.stdout, formatter=_json_line)
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            metric_exporter = OTLPMetricExporter()
        meter_provider = MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter)])
    return tracer_provider, meter_provider


def install(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Make these the process's providers, and let the Azure SDKs (Key Vault, Cosmos DB, Blob,
    Queue) make their child spans through azure-core's OpenTelemetry plugin, with URLs cut to
    service and container (shared_code/adapters/azure/telemetry.py says why)."""
    if tracer_provider is not None:
        trace.set_tracer_provider(tracer_provider)
        from shared_code.adapters.azure.telemetry import trace_azure_sdk

        trace_azure_sdk()
    if meter_provider is not None:
        metrics.set_meter_provider(meter_provider)
