"""A small threaded HTTPS server on 127.0.0.1 for service doubles.

The certificate is issued for `127.0.0.1` and `localhost` by a throwaway trustme CA whose PEM is
written to `ca_bundle_path`, so clients verify TLS for real (pass the path as `connection_verify=`
to Azure SDK clients, or `verify=` to requests/httpx) instead of turning verification off.

The server is generic: it hands every request to a `handler(HttpRequest) -> HttpResponse` callable
and knows nothing about the service being imitated.

    with HttpsServer(handler) as server:
        client = SomeClient(server.url, connection_verify=server.ca_bundle_path)
"""
from __future__ import annotations

import json as _json
import shutil
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import parse_qs, urlsplit

import trustme


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # without the query string, not percent-decoded
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message)
    body: bytes

    def json(self):
        return _json.loads(self.body or b"null")

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class HttpResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload, headers: Mapping[str, str] | None = None) -> "HttpResponse":
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, _json.dumps(payload).encode(), merged)


Handler = Callable[[HttpRequest], HttpResponse]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, handler_class, ssl_context: ssl.SSLContext, app: Handler):
        super().__init__(address, handler_class)
        self.ssl_context = ssl_context
        self.app = app
        self.connections: set = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        with self.connections_lock:
            connections, self.connections = list(self.connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def finish_request(self, request, client_address):
        # Runs on the per-connection thread, so a slow or broken TLS handshake blocks only itself.
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self.connections_lock:
            self.connections.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            with self.connections_lock:
                self.connections.discard(tls)
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # Clients dropping keep-alive connections at teardown are not test failures.
        pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10  # idle keep-alive connections end instead of pinning a thread
    disable_nagle_algorithm = True  # headers and body go out in separate writes: don't wait 40 ms

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
        )
        try:
            response = self.server.app(request)
        except Exception as exc:  # a bug in a double must show up as a 500, not a hung client
            response = HttpResponse.json(500, {"error": {"code": "DoubleError", "message": repr(exc)}})
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format, *args):  # noqa: A002 - quiet test output
        pass


class HttpsServer:
    """Serve `handler` over HTTPS on 127.0.0.1 (a free port unless `port` is given)."""

    def __init__(self, handler: Handler, *, port: int = 0, tmp_dir: Path | None = None):
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        self._own_tmp = tmp_dir is None
        self._tmp_dir = Path(tempfile.mkdtemp(prefix="https-double-")) if tmp_dir is None else Path(tmp_dir)
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        self.ca_bundle_path = str(self._tmp_dir / "double-ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle_path)
        self._server = _Server(("127.0.0.1", port), _RequestHandler, context, handler)
        self.port: int = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "HttpsServer":
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="https-double", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        # Also end keep-alive connections, so a stopped server really is unreachable.
        self._server.close_connections()
        if self._own_tmp:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def __enter__(self) -> "HttpsServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class ServedDouble:
    """A double whose `handle(request)` is served over HTTPS for the length of a `with` block."""

    server: HttpsServer | None

    def handle(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError

    def __enter__(self):
        self.server = HttpsServer(self.handle).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self.server is not None
        self.server.stop()
