"""The benchmark server: the real API and a bare ASGI endpoint, on one uvicorn server."""
import os
import sys

import uvicorn


async def bare(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"items":[],"continuation":null}'})


def main() -> None:
    port, data_dir = int(sys.argv[1]), sys.argv[2]
    os.environ.update(APP_MODE="local", LOCAL_DATA_DIR=data_dir, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
                      LOG_LEVEL="WARNING")
    from functions.http_app import create_api

    api = create_api()

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/bare":
            return await bare(scope, receive, send)
        return await api(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
