"""Telemetry captured in memory: every span as it ends, every metric on demand.

OpenTelemetry lets a process set its providers once; a test sets them for itself and puts the
process back as it found it (no provider: telemetry off), so no other test runs with telemetry on."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from shared_code.telemetry import setup


@dataclass
class Captured:
    spans_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        return list(self.spans_exporter.get_finished_spans())

    def metric_points(self) -> list[tuple[str, dict, object]]:
        """(metric name, attributes, value) of every point collected now."""
        data = self.reader.get_metrics_data()
        points = []
        for resource_metrics in data.resource_metrics if data else []:
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        points.append((metric.name, dict(point.attributes or {}),
                                       getattr(point, "value", getattr(point, "sum", None))))
        return points

    def counted(self, metric_name: str, /, **labels) -> float:
        return sum(value for metric, attributes, value in self.metric_points()
                   if metric == metric_name and all(attributes.get(k) == v for k, v in labels.items()))


def _reset_globals() -> None:
    # What opentelemetry's own test utilities do: the API has no public way to unset a provider.
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics._internal._METER_PROVIDER_SET_ONCE = Once()
    metrics._internal._METER_PROVIDER = None


@pytest.fixture
def telemetry():
    from azure.core.settings import settings as azure_settings

    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    _reset_globals()
    setup.install(tracer_provider, MeterProvider(metric_readers=[reader]))
    try:
        yield Captured(exporter, reader)
    finally:
        tracer_provider.shutdown()
        _reset_globals()
        azure_settings.tracing_implementation = None
