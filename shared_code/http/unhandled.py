"""The answer to an exception no handler answered: one 500 problem, logged once (type and
traceback, never sent to the client).

The exception is not re-raised. Re-raising (Starlette's ServerErrorMiddleware does, after sending
its 500) makes the server log it a second time and close the keep-alive connection under the
client's next request. If the response had already started, nothing more can be sent: the server
ends that response itself."""
from __future__ import annotations

import logging

from starlette.requests import Request

from shared_code.http.problems import Problem, problem_response

log = logging.getLogger("telederm.errors")


class UnhandledErrors:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_tracking(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:  # noqa: BLE001 - the last line: every error is answered and logged here
            route = scope.get("route")
            log.exception("unhandled error", extra={"event": "http.unhandled", "method": scope["method"],
                                                     "route": getattr(route, "path", None)})
            if not started:
                problem = Problem(500, detail="Something went wrong. Quote the request id if you report it.")
                await problem_response(problem, Request(scope))(scope, receive, send)
