"""Port: blob storage. Bytes stream in and out in chunks so a 40 MB image never sits whole in
memory more than needed. Only ciphertext is ever written to the `images` container."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, Protocol


@dataclass(frozen=True)
class BlobInfo:
    name: str
    etag: str
    size: int
    last_modified: datetime


class BlobStore(Protocol):
    def put(self, container: str, name: str, chunks: Iterable[bytes], *, overwrite: bool = True) -> BlobInfo:
        """Write a blob from chunks. With overwrite=False raises Conflict if it exists."""

    def open(self, container: str, name: str, *, if_match: str | None = None) -> tuple[BlobInfo, Iterator[bytes]]:
        """Read a blob as chunks. Raises NotFound, or PreconditionFailed if `if_match` is stale."""

    def info(self, container: str, name: str) -> BlobInfo:
        """Raises NotFound."""

    def delete(self, container: str, name: str) -> None:
        """Idempotent: deleting a missing blob is not an error."""

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]: ...

    def check(self) -> None:
        """Deep health check."""
