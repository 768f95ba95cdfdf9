"""Section 8: what telemetry costs on the image-view path. Two bench servers, one with telemetry off
(the default) and one with OTEL_TRACES_EXPORTER=console and OTEL_METRICS_EXPORTER=console (stdout to
/dev/null: every span and metric is made, batched and serialised, nothing is waited for), each with
the same world; the patient's own view and the clinician's view of a 300 KB JPEG on each, measured
in interleaved rounds (bench/measure.py). The ratio is views per second with telemetry on over off
(1.00 = free); the issue asks for at least 0.9."""
from __future__ import annotations

import os
from contextlib import contextmanager

from bench.fixtures import jpeg_of_size
from bench.measure import compare, header, line
from tests.support import steps

ON = {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console"}


class _Both:
    """One client over the two servers: a path `on:/api/...` goes to the server with telemetry on,
    `off:/api/...` to the other, so one comparison interleaves them."""

    def __init__(self, off, on):
        self._clients = {"off": off, "on": on}

    def get(self, path: str, headers=None):
        which, _, real = path.partition(":")
        return self._clients[which].get(real, headers=headers)


@contextmanager
def _environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _world(client):
    scene = steps.Scene(steps.Client(client), purposes=("clinical_care",), image_data=jpeg_of_size(300_000))
    return {"own": (f"/api/images/{scene.image['id']}/content", scene.alice), "theirs": (scene.image_url(), scene.cal)}


def run() -> None:
    from bench.__main__ import start_server

    off_server, off = start_server()
    with _environment(ON):
        on_server, on = start_server()
    try:
        worlds = {"off": _world(off), "on": _world(on)}
        labels = {"own": "patient's own view", "theirs": "clinician's view"}
        targets, baselines, pids = {}, {}, {}
        for view, label in labels.items():
            for state, server in (("off", off_server), ("on", on_server)):
                path, headers = worlds[state][view]
                targets[f"{label}, telemetry {state}"] = (f"{state}:{path}", headers)
                pids[f"{label}, telemetry {state}"] = server.pid
            baselines[f"{label}, telemetry on"] = f"{label}, telemetry off"
        results = compare(_Both(off, on), targets, baseline=baselines, pid=pids)
        print("8. telemetry on (console exporters to /dev/null) vs off, image views (300 KB JPEG)")
        print(header(cpu=True))
        for name in targets:
            print(line(name, results[name]))
        for label in labels.values():
            cost = results[f"{label}, telemetry off"].cpu_ms / results[f"{label}, telemetry on"].cpu_ms
            print(f"   {label}: telemetry on / off = {results[f'{label}, telemetry on'].ratio:.2f}x in views per second,"
                  f" {cost:.2f}x in server CPU per view (at least 0.9 wanted)")
    finally:
        for server in (off_server, on_server):
            server.terminate()
            server.wait(10)
