"""Pure-ASGI middleware: request id, body size limits, one structured access-log line, and the
request's span (named by route template: shared_code/telemetry/traces.py).

Body limits are enforced before any handler parses a body: a declared Content-Length over the
limit, or a chunked body that grows past it, is 413 problem+json and nothing changes. (A body longer
than its own Content-Length is cut at that length by the server, never read past it.)"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

from shared_code.http.problems import MEDIA_TYPE, problem_body
from shared_code.observability import request_id, request_peer
from shared_code.telemetry.traces import request_span

log = logging.getLogger("telederm.access")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _unrouted(path: str) -> str:
    """What an unmatched path may show in a log: its first two segments (`/api/local-uploads/…`)."""
    head = "/".join(path.split("/")[:3])
    return head + "/…" if len(head) < len(path) else head


async def _send_problem(send, status: int, slug: str, title: str, detail: str, rid: str) -> None:
    body = json.dumps(problem_body(status, slug, title, detail)).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
        (b"x-request-id", rid.encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """`limit_for(path, method)` gives the largest body a route accepts."""

    def __init__(self, app, limit_for):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        forwarded = headers.get(b"x-forwarded-for")
        peer_token = request_peer.set(((scope.get("client") or (None,))[0],
                                       forwarded.decode("latin-1") if forwarded is not None else None))
        started = time.perf_counter()
        traced = request_span(scope["method"], headers)
        status_holder = {"status": 500}
        limit = self.limit_for(scope["path"], scope["method"])
        try:
            declared = headers.get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                status_holder["status"] = 413
                return await _send_problem(send, 413, "payload-too-large", "Payload too large",
                                           f"The body may be at most {limit} bytes.", rid)
            if declared is None and scope["method"] in ("POST", "PUT", "PATCH"):
                # No Content-Length (chunked): read at most limit + 1 bytes here, so an oversized body
                # is refused as 413 before any handler sees it, then replay what was read.
                body, more = bytearray(), True
                while more:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                    if len(body) > limit:
                        status_holder["status"] = 413
                        return await _send_problem(send, 413, "payload-too-large", "Payload too large",
                                                   f"The body may be at most {limit} bytes.", rid)
                replay = [{"type": "http.request", "body": bytes(body), "more_body": False}]

                async def limited_receive():
                    return replay.pop() if replay else await receive()
            else:
                limited_receive = receive

            async def send_with_id(message):
                if message["type"] == "http.response.start":
                    status_holder["status"] = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
                await send(message)

            await self.app(scope, limited_receive, send_with_id)
        finally:
            route = scope.get("route")
            # The route template, never the raw path: its query string may carry a note or a code, and
            # a path refused before routing (413, 404) may carry a token (a local upload URL's).
            log.info("request", extra={
                "event": "http.request", "method": scope["method"],
                "route": getattr(route, "path", None) or _unrouted(scope["path"]),
                "status": status_holder["status"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            })
            if traced is not None:  # after the access line, which then names the request's trace
                traced.end(getattr(route, "path", None), status_holder["status"])
            request_id.reset(token)
            request_peer.reset(peer_token)

