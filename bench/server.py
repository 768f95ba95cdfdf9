"""The benchmark server: the real API and a bare ASGI endpoint, on one uvicorn server."""
import os
import sys

import uvicorn


async def bare(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"items":[],"continuation":null}'})


# The bare bytes endpoints serve, from memory, bytes the benchmark gave them (the same JPEG the API
# serves decrypted, the same JSON page a list answers), so a comparison isolates what authentication,
# access checks, store reads, decryption and auditing cost: `POST /bare-bytes/<name>` (with the
# content type) stores, `GET /bare-bytes/<name>` serves.
_bytes: dict[str, tuple[bytes, bytes]] = {}


async def bare_bytes(scope, receive, send):
    name = scope["path"].rsplit("/", 1)[-1]
    if scope["method"] == "POST":
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        _bytes[name] = (dict(scope["headers"]).get(b"content-type", b"application/octet-stream"), bytes(body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        return await send({"type": "http.response.body", "body": b""})
    content_type, data = _bytes[name]
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def reads(scope, receive, send):
    import json

    from functions.runtime import get_container

    body = json.dumps(get_container().adapters.documents.reads.snapshot()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def work_alone(api):
    """`GET /bench/work/<an API path>`: that route's own work with no framework around it, no
    middleware, no router, no dependency solver: its endpoint called with its inputs (the path's
    values, its providers awaited on the request, the query's values), its answer sent (a model as
    the JSON FastAPI would send). What is left between this and the bare endpoint is the work itself
    (the token, reads, decryption, the audit entry, building the page), so a ratio here is the best
    any framework could give that route on this server. The bench checks the bytes are the API's."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Match

    from shared_code.http.offload import in_process_stores
    from shared_code.http.routing import ApiRoute

    routes = [r for r in api.router.routes if isinstance(r, ApiRoute)]
    found: dict[str, tuple] = {}  # path -> (route, its match): not even the routing is measured

    async def app(scope, receive, send):
        inner = dict(scope, path=scope["path"][len("/bench/work"):], app=api)
        if inner["path"] not in found:
            found[inner["path"]] = next((r, c) for r in routes for m, c in [r.matches(inner)] if m == Match.FULL)
        route, child = found[inner["path"]]
        inner.update(child)
        request = Request(inner, receive)
        token = in_process_stores.set(True)
        try:
            values = {f.name: request.path_params[f.alias] for f in route.dependant.path_params}
            for sub in route.dependant.dependencies:
                if sub.query_params:  # paging: the query's values, as the field's type
                    given = {f.name: f.field_info.annotation(request.query_params[f.alias])
                             if f.alias in request.query_params and f.field_info.annotation is int
                             else request.query_params.get(f.alias, f.field_info.default) for f in sub.query_params}
                    values[sub.name] = await sub.call(**given)
                else:
                    values[sub.name] = await sub.call(request)
            answer = await route.endpoint(**values)
        finally:
            in_process_stores.reset(token)
        if not isinstance(answer, Response):
            answer = Response(answer.model_dump_json(by_alias=True), media_type="application/json")
        await answer(scope, receive, send)

    return app


def main() -> None:
    port, data_dir = int(sys.argv[1]), sys.argv[2]
    # The clinic-code limits are raised so the bench can make 50 shares in a few seconds; nothing here
    # measures them.
    os.environ.update(APP_MODE="local", LOCAL_DATA_DIR=data_dir, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
                      LOG_LEVEL="WARNING", CLINIC_CODE_ATTEMPTS="100000", CLINIC_CODE_ADDRESS_ATTEMPTS="100000")
    from functions.http_app import create_api

    api = create_api()
    # The framework's floor: the same bytes from memory through FastAPI and the app's middleware (no
    # token, no store, no decryption), so a ratio can be read as framework vs the work of the route.
    from fastapi import Response

    async def framework_bytes(name: str) -> Response:
        content_type, data = _bytes[name]
        return Response(data, media_type=content_type.decode())

    api.add_api_route("/bench/framework-bytes/{name}", framework_bytes, methods=["GET"], include_in_schema=False)

    work = work_alone(api)

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/bench/work/"):
            return await work(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/bare":
            return await bare(scope, receive, send)
        if scope["type"] == "http" and scope["path"].startswith("/bare-bytes/"):
            return await bare_bytes(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/bench/reads":
            return await reads(scope, receive, send)
        return await api(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
