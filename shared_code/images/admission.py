"""The admission limit on image processing: at most MAX_CONCURRENT_UPLOADS uploads are processed at
once by this process, whichever way they came (a patient's direct upload, a referral photograph, the
bytes of an upload URL), so the memory uploads take is bounded by the limit, not by how many arrive.
Processing holds the body, its sanitised copy, the draft-decoded bitmap and the thumbnail at once
(`make bench`, section 4: about 2.2x the body for a 40 MiB upload, more for small ones); unbounded,
16 concurrent 8 MiB uploads took +390-470 MiB, with the default limit of 4 about +125 MiB.

Where it waits: a direct upload asks for its slot before it reads the body (shared_code/http/uploads.py
`direct_upload`), so while it waits uvicorn's flow control leaves the rest of the body in the
client's socket. A caller that waits longer than UPLOAD_WAIT_SECONDS gets `UploadsBusy` (503
`uploads-busy` with Retry-After): nothing was read or stored.

Handlers wait on the event loop (`async with admission.slot()`), the upload trigger and the re-drive
in a worker thread (`with admission.hold()`): one count behind a thread lock, and a release by
either side wakes the waiters of both (each then tries again, so a waiter that gave up or was
cancelled in the meantime never strands a free slot). A slot is given back however its holder ends:
success, exception or cancellation.

One limiter per process and setting (`upload_admission`): the memory it protects is the process's,
and every container of a process built on the same settings shares it."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from shared_code.errors import UploadsBusy
from shared_code.settings import Settings


class Admission:
    def __init__(self, limit: int, wait_seconds: float):
        if limit < 1:
            raise ValueError("an admission limit admits at least one")
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._in_use = 0
        self._waiters: list[Callable[[], None]] = []

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self, wait_seconds: float | None = None) -> AsyncIterator[None]:
        """On the event loop: waits (without blocking the loop) for a slot, else UploadsBusy."""
        await self._acquire(self.wait_seconds if wait_seconds is None else wait_seconds)
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def hold(self, wait_seconds: float | None = None) -> Iterator[None]:
        """In a worker thread: blocks for a slot, else UploadsBusy."""
        self._acquire_blocking(self.wait_seconds if wait_seconds is None else wait_seconds)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, wait_seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while True:
            woken = loop.create_future()

            def wake(woken: asyncio.Future = woken) -> None:
                try:
                    loop.call_soon_threadsafe(_resolve, woken)
                except RuntimeError:  # that loop is closed: its waiter is gone
                    pass

            if self._take_or_wait(wake):
                return
            try:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise UploadsBusy()
                await asyncio.wait_for(woken, remaining)
            except asyncio.TimeoutError:
                raise UploadsBusy() from None
            finally:
                self._forget(wake)

    def _acquire_blocking(self, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            woken = threading.Event()
            if self._take_or_wait(woken.set):
                return
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not woken.wait(remaining):
                    raise UploadsBusy()
            finally:
                self._forget(woken.set)

    def _take_or_wait(self, wake: Callable[[], None]) -> bool:
        """Takes a slot, or registers `wake` in the same locked step (no release can slip between)."""
        with self._lock:
            if self._in_use < self.limit:
                self._in_use += 1
                return True
            self._waiters.append(wake)
            return False

    def _forget(self, wake: Callable[[], None]) -> None:
        with self._lock:
            if wake in self._waiters:
                self._waiters.remove(wake)

    def _release(self) -> None:
        with self._lock:
            self._in_use -= 1
            waiters, self._waiters = self._waiters, []
        for wake in waiters:
            wake()


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


_admissions: dict[tuple[int, float], Admission] = {}
_admissions_lock = threading.Lock()


def upload_admission(settings: Settings) -> Admission:
    """This process's limiter for these settings (MAX_CONCURRENT_UPLOADS, UPLOAD_WAIT_SECONDS)."""
    key = (settings.max_concurrent_uploads, settings.upload_wait_seconds)
    with _admissions_lock:
        if key not in _admissions:
            _admissions[key] = Admission(*key)
        return _admissions[key]
