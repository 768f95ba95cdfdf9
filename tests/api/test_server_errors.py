"""A 500 over a real server: the keep-alive connection stays usable for the client's next request,
and the error is logged once (not again by the server)."""
from __future__ import annotations

import logging
import socket
import threading

import httpx
import uvicorn

from tests.support.app import make_api
from tests.support.backends import local_family


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_500_leaves_the_connection_usable_and_is_logged_once(tmp_path, monkeypatch, caplog):
    api = make_api(local_family(tmp_path), tmp_path / "data")
    headers = api.patient()

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.container.folders, "list", explode)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(api.client.app, host="127.0.0.1", port=port, log_config=None,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise AssertionError("the server did not start")
            thread.join(0.05)
        caplog.set_level(logging.INFO)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            failed = client.get("/api/folders")
            assert failed.status_code == 500
            assert failed.headers["content-type"] == "application/problem+json"
            assert failed.headers.get("connection", "").lower() != "close"
            # The same connection serves the next request.
            again = client.get("/api/health")
            assert again.status_code == 200
            peers = {r.extensions["network_stream"] for r in (failed, again)}
            assert len(peers) == 1
    finally:
        server.should_exit = True
        thread.join(10)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["telederm.errors"], [(r.name, r.getMessage()) for r in errors]
    assert "boom" not in failed.text
