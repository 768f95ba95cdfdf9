"""Where a handler that only reads and writes the stores runs: on the event loop when the stores are
in-process, in the thread pool when they are across the network.

FastAPI runs every plain `def` handler and dependency in the thread pool: a hop there and back per
function, each a thread woken and the event loop woken again, and on a busy machine each wake waits
for a CPU (`make bench`'s profile: the hop was the largest cost of an image view). In local mode the
stores are SQLite, files and a KEK file in this process: a call is microseconds of CPU and never
waits on a network, so `@stores_only` runs it where it is, on the loop. With the Azure adapters a
call waits on Cosmos DB, Blob Storage or Key Vault: there it runs in the thread pool, as FastAPI
would run it.

`@stores_only` is a promise by the function it decorates: it calls the document, blob and key
stores and nothing else that can wait (no outbound HTTPS such as PDS, no sleep). ApiRoute
(routing.py) says per request which kind of stores the app has."""
from __future__ import annotations

import contextvars
import functools
from typing import Any, Callable, TypeVar

from starlette.concurrency import run_in_threadpool

F = TypeVar("F", bound=Callable[..., Any])

in_process_stores: contextvars.ContextVar[bool] = contextvars.ContextVar("in_process_stores", default=False)


def stores_only(fn: F) -> F:
    """A sync handler or dependency made async: run in place with in-process stores, else in the
    thread pool. FastAPI still reads `fn`'s own signature (it unwraps)."""
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        if in_process_stores.get():
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    return run  # type: ignore[return-value]
