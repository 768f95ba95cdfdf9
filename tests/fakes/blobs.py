"""In-memory BlobStore: containers of immutable byte strings with ETags.

Names are checked as the local file store checks them (the stricter adapter); reads come back in
small chunks so code that assumes one chunk is one blob fails here first."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from shared_code.ports.blobs import BlobInfo
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from tests.fakes.faults import Faults

CHUNK = 64 * 1024


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _check_name(name: str) -> None:
    if not name or ".." in name or name.startswith("/") or "\\" in name or "\x00" in name:
        raise ValueError(f"bad blob name {name!r}")


class FakeBlobStore:
    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._containers: dict[str, dict[str, tuple[bytes, BlobInfo]]] = {}
        self._clock = clock
        self._lock = threading.Lock()
        self.faults = Faults()

    def put(self, container: str, name: str, chunks: Iterable[bytes], *, overwrite: bool = True) -> BlobInfo:
        _check_name(name)
        self.faults.before("put", container, name)
        data = b"".join(chunks)
        info = BlobInfo(name, f'"{uuid.uuid4().hex}"', len(data), self._clock())
        with self._lock:
            blobs = self._containers.setdefault(container, {})
            if not overwrite and name in blobs:
                raise Conflict(name)
            blobs[name] = (data, info)
        self.faults.after("put", container, name)
        return info

    def open(self, container: str, name: str, *, if_match: str | None = None) -> tuple[BlobInfo, Iterator[bytes]]:
        self.faults.before("open", container, name)
        data, info = self._get(container, name)
        if if_match is not None and info.etag != if_match:
            raise PreconditionFailed(name)
        return info, (data[i:i + CHUNK] for i in range(0, len(data), CHUNK))

    def info(self, container: str, name: str) -> BlobInfo:
        return self._get(container, name)[1]

    def delete(self, container: str, name: str) -> None:
        self.faults.before("delete", container, name)
        with self._lock:
            self._containers.get(container, {}).pop(name, None)

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        with self._lock:
            found = sorted(self._containers.get(container, {}).items())
        return iter([info for name, (_, info) in found if name.startswith(prefix)])

    def check(self) -> None:
        self.faults.before("check")

    def _get(self, container: str, name: str) -> tuple[bytes, BlobInfo]:
        with self._lock:
            found = self._containers.get(container, {}).get(name)
        if found is None:
            raise NotFound(name)
        return found
