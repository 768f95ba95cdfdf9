"""`make run`: the service on its embedded local backends, in one process.

Serves the same ASGI app that Azure hosts, with uvicorn on 127.0.0.1:$PORT, data under
$LOCAL_DATA_DIR (it survives restarts), and drives the non-HTTP triggers (queue, blob, timer) in
background threads with the very handlers the Functions host runs in Azure. At start it re-drives
every upload a killed process left unfinished, at once.

A data directory it cannot write (read-only, not ours, full) stops it with one line naming the path
and exit status 2, before anything is served."""
from __future__ import annotations

import os
import sys

from pydantic import ValidationError


def main() -> int:
    if os.environ.get("APP_MODE", "local") != "local":
        print("make run serves the embedded local backends only: unset APP_MODE or set APP_MODE=local.", file=sys.stderr)
        return 2
    from shared_code.settings import Settings

    port = int(os.environ.get("PORT", "7071"))
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"invalid settings: {exc}", file=sys.stderr)
        return 2

    import uvicorn

    from functions.http_app import create_api
    from functions.local_triggers import start_local_triggers
    from shared_code.container import container_from_environment
    from shared_code.errors import StorageFull, StorageUnavailable
    from shared_code.observability import configure_logging

    configure_logging(settings.log_level)
    problem = _unwritable(settings.data_dir)
    if problem:
        print(f"cannot start: LOCAL_DATA_DIR {settings.data_dir} is not writable ({problem})", file=sys.stderr)
        return 2
    try:
        container = container_from_environment()  # the embedded stores open here
    except (OSError, StorageFull, StorageUnavailable) as exc:
        print(f"cannot start: LOCAL_DATA_DIR {settings.data_dir} is not usable ({_reason(exc)})", file=sys.stderr)
        return 2
    from functions import runtime

    runtime.install(container)
    app = create_api(lambda: container, settings=settings)
    stop = start_local_triggers(container)
    base = f"http://127.0.0.1:{port}"
    print(f"Teledermatology API (local mode) on {base}", flush=True)
    print(f"  data:        {settings.data_dir}", flush=True)
    print(f"  OpenAPI:     {base}/api/openapi.json  (docs: {base}/api/docs)", flush=True)
    print(f"  dev tokens:  POST {base}/api/dev/tokens  {{\"role\": \"patient\", \"subject\": \"alice\"}}", flush=True)
    print(f"  dev outbox:  GET  {base}/api/dev/outbox", flush=True)
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        stop()
    return 0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return getattr(exc, "detail", None) or type(exc).__name__


def _unwritable(data_dir) -> str | None:
    """Why `data_dir` cannot take a file, or None: made (0700) if absent, then a probe is written."""
    from shared_code.adapters.local.private import private_dir

    try:
        private_dir(data_dir)
        probe = data_dir / f".start.{os.getpid()}.probe"
        probe.write_bytes(b"probe")
        probe.unlink()
    except OSError as exc:
        return _reason(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
