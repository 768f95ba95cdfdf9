"""Embedded blob store: one file per blob under LOCAL_DATA_DIR/blobs/<container>/.

Writes go to a temporary name in the same directory and are renamed into place, so a reader never
sees half a blob. Only ciphertext is ever handed to this store by the image service."""
from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from shared_code.ports.blobs import BlobInfo
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed

_CHUNK = 1 << 20


def _safe_name(name: str) -> str:
    # Blob names are server-chosen ids joined by '/'; map them onto a flat, traversal-free file name.
    if not name or ".." in name or name.startswith("/") or "\\" in name or "\x00" in name:
        raise ValueError(f"bad blob name {name!r}")
    return name.replace("/", "~")


class FileBlobStore:
    def __init__(self, root: Path):
        self._root = root

    def _path(self, container: str, name: str) -> Path:
        return self._root / container / _safe_name(name)

    def _info(self, name: str, path: Path) -> BlobInfo:
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise NotFound(name) from None
        # The ETag changes whenever the file is replaced (inode, size, mtime).
        etag = '"' + hashlib.sha256(f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:32] + '"'
        return BlobInfo(name, etag, stat.st_size, datetime.fromtimestamp(stat.st_mtime, timezone.utc))

    def put(self, container: str, name: str, chunks: Iterable[bytes], *, overwrite: bool = True) -> BlobInfo:
        path = self._path(container, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if overwrite:
                os.replace(tmp, path)
            else:
                try:
                    os.link(tmp, path)  # atomic create-if-absent
                except FileExistsError:
                    raise Conflict(name) from None
                os.unlink(tmp)
        finally:
            if tmp.exists():
                tmp.unlink()
        return self._info(name, path)

    def info(self, container: str, name: str) -> BlobInfo:
        return self._info(name, self._path(container, name))

    def open(self, container: str, name: str, *, if_match: str | None = None) -> tuple[BlobInfo, Iterator[bytes]]:
        path = self._path(container, name)
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            raise NotFound(name) from None
        info = self._info(name, path)
        if if_match is not None and info.etag != if_match:
            handle.close()
            raise PreconditionFailed(name)

        def chunks() -> Iterator[bytes]:
            with handle:
                while block := handle.read(_CHUNK):
                    yield block

        return info, chunks()

    def delete(self, container: str, name: str) -> None:
        try:
            self._path(container, name).unlink()
        except FileNotFoundError:
            pass

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        directory = self._root / container
        if not directory.exists():
            return
        wanted = _safe_name(prefix) if prefix else ""
        for path in sorted(directory.iterdir()):
            if path.name.startswith(".") or not path.name.startswith(wanted):
                continue
            try:
                yield self._info(path.name.replace("~", "/"), path)
            except NotFound:
                continue

    def check(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        if not os.access(self._root, os.W_OK):
            raise OSError(f"{self._root} is not writable")
