"""Turning telemetry on (issue 14, point 1): off by default; OTEL_TRACES_EXPORTER=console prints
each span as one JSON line; never started at import."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared_code.telemetry import setup

ROOT = Path(__file__).resolve().parents[2]

# `make run`'s app, in a fresh process: a share, then the notifications queue, then a flush.
SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
from opentelemetry import trace
import function_app
from functions import runtime
from functions.http_app import create_api
from shared_code.notifications.pump import pump_notifications
from tests.support.steps import Client, Scene
assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider", "started at import"
Scene(Client(TestClient(create_api())))
pump_notifications(runtime.get_container())
getattr(trace.get_tracer_provider(), "force_flush", lambda: None)()  # off: nothing to flush
"""


def _run(tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))}
    environ.update(APP_MODE="local", LOCAL_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=120)


def test_console_exporter_prints_a_share_and_its_notification_as_one_trace(tmp_path):
    done = _run(tmp_path, OTEL_TRACES_EXPORTER="console")
    assert done.returncode == 0, done.stderr[-2000:]
    spans = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    by_name = {span["name"]: span for span in spans}
    share = by_name["POST /api/folders/{folderId}/shares"]
    dispatch = [s for s in spans if s["name"] == "process notifications"
                and s["context"]["trace_id"] == share["context"]["trace_id"]]
    assert len(dispatch) == 1
    assert share["attributes"]["http.route"] == "/api/folders/{folderId}/shares"
    assert "9434765919" not in done.stdout and "Alice" not in done.stdout


def test_off_by_default(tmp_path):
    done = _run(tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not [line for line in done.stdout.splitlines() if line.startswith("{")]


def test_an_unknown_exporter_is_refused_by_name():
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER"):
        setup._configure({"OTEL_TRACES_EXPORTER": "jaeger"})


def test_the_console_exporter_writes_one_json_line_per_span(tmp_path):
    out = (tmp_path / "spans.jsonl").open("w+")
    tracer_provider, meter_provider = setup.sdk_providers("console", None, out=out)
    assert meter_provider is None
    with tracer_provider.get_tracer("t").start_as_current_span("timer sweep_outbox"):
        pass
    tracer_provider.force_flush()
    out.seek(0)
    [line] = out.read().splitlines()
    assert json.loads(line)["name"] == "timer sweep_outbox"
    tracer_provider.shutdown()
