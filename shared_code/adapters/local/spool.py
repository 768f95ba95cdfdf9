"""Local only: keeps uploads waiting in `incoming` encrypted on disk.

In Azure the incoming container holds the client's upload for seconds, under Storage's own
encryption, and a lifecycle rule deletes leftovers. Locally nothing plaintext may be at rest under
LOCAL_DATA_DIR, so blobs of the spooled containers are sealed with AES-256-GCM under a key that lives
only in this process's memory (a restart makes a waiting upload unreadable: it is then rejected)."""
from __future__ import annotations

import os
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared_code.ports.blobs import BlobInfo, BlobStore
from shared_code.ports.errors import NotFound


class SpoolingBlobStore:
    def __init__(self, inner: BlobStore, spooled: set[str]):
        self._inner = inner
        self._spooled = spooled
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def put(self, container: str, name: str, chunks: Iterable[bytes], *, overwrite: bool = True) -> BlobInfo:
        if container not in self._spooled:
            return self._inner.put(container, name, chunks, overwrite=overwrite)
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, b"".join(chunks), f"{container}/{name}".encode())
        return self._inner.put(container, name, [sealed], overwrite=overwrite)

    def open(self, container: str, name: str, *, if_match: str | None = None) -> tuple[BlobInfo, Iterator[bytes]]:
        info, chunks = self._inner.open(container, name, if_match=if_match)
        if container not in self._spooled:
            return info, chunks
        sealed = b"".join(chunks)
        try:
            plain = self._aead.decrypt(sealed[:12], sealed[12:], f"{container}/{name}".encode())
        except (InvalidTag, ValueError):
            raise NotFound(name) from None  # sealed by an earlier process: unreadable, as if gone
        return BlobInfo(info.name, info.etag, len(plain), info.last_modified), iter([plain])

    def info(self, container: str, name: str) -> BlobInfo:
        return self._inner.info(container, name)

    def delete(self, container: str, name: str) -> None:
        self._inner.delete(container, name)

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        return self._inner.list(container, prefix)

    def check(self) -> None:
        self._inner.check()
