"""Telemetry's Azure side: the Azure Monitor OpenTelemetry distro with the app's managed identity,
and the Azure SDKs' spans (azure-core's OpenTelemetry plugin) with their URLs cut short.

Imported only when telemetry starts (shared_code/telemetry/setup.py), never with function_app.

Why the URLs are cut: azure-core records each HTTP call's `url.full` with its query string redacted
but its path whole, and this service's paths name people: a blob is `images/<patient id>/<image
id>/...`, a Cosmos DB document `.../docs/<id>`, an upload `incoming/<patient id>/<image id>`. A span
keeps the scheme, host and first segment (the container, queue, `keys` or `dbs`): which service and
which store, never whose."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from azure.core.tracing.ext.opentelemetry_span import OpenTelemetrySpan

# The distro's automatic HTTP and web-framework instrumentations, all off: they record raw paths
# and query strings (a PDS lookup's path is an NHS number). The request span is ours
# (shared_code/http/middleware.py) and the Azure SDKs' spans come through `PrivateAzureSpan`.
_INSTRUMENTATIONS_OFF = ("django", "fastapi", "flask", "httpx", "httpx2", "psycopg2", "requests", "urllib", "urllib3")
_URL_ATTRIBUTES = frozenset({"http.url", "url.full"})


def service_url(url: str) -> str:
    """`https://account.blob.core.windows.net/images/…`: scheme, host, first path segment."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "[url]"
    segments = [s for s in parts.path.split("/") if s]
    head = f"{parts.scheme}://{parts.netloc}" + (f"/{segments[0]}" if segments else "")
    return head + "/…" if len(segments) > 1 or parts.query else head


class PrivateAzureSpan(OpenTelemetrySpan):
    """azure-core's OpenTelemetry span, with every URL it records cut to `service_url`."""

    def add_attribute(self, key: str, value):  # type: ignore[override]
        if key in _URL_ATTRIBUTES or self._attribute_mappings.get(key) in _URL_ATTRIBUTES:
            value = service_url(value)
        super().add_attribute(key, value)


def trace_azure_sdk() -> None:
    """Every Azure SDK client made from now on traces through `PrivateAzureSpan`."""
    from azure.core.settings import settings

    settings.tracing_implementation = PrivateAzureSpan


def configure_azure_monitor_with_identity(connection_string: str, client_id: str | None) -> None:
    """The distro, authenticated by the app's user-assigned managed identity (AZURE_CLIENT_ID), with
    only the Azure SDK instrumentation on. Logs stay with the Functions host, which already sends the
    worker's (redacted) log records to Application Insights: the distro's would be each one twice.
    Live metrics stay off: one more channel out for the same spans."""
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    # Statsbeat (the SDK's own usage reports to a Microsoft endpoint outside this deployment, not to
    # the UK Application Insights resource): off, so telemetry leaves for that resource only.
    os.environ.setdefault("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
    configure_azure_monitor(
        connection_string=connection_string,
        credential=ManagedIdentityCredential(client_id=client_id),
        enable_live_metrics=False,
        disable_logging=True,
        instrumentation_options={"azure_sdk": {"enabled": True},
                                 **{name: {"enabled": False} for name in _INSTRUMENTATIONS_OFF}},
    )
    trace_azure_sdk()  # after the distro, which installs azure-core's plain plugin
