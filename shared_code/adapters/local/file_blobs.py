"""Embedded blob store: one file per blob under LOCAL_DATA_DIR/blobs/<container>/.

Writes go to a temporary name in the same directory (`.<name>.<random>.part`) and are renamed into
place, so a reader never sees half a blob; a process killed mid-write leaves its `.part` file, which
`remove_partials` (the leftover sweep) deletes once it is older than any write could take. Only
ciphertext is ever handed to this store by the image service. Files are 0600 in 0700 directories; a
write that finds the disk full raises StorageFull, one on a read-only directory StorageUnavailable."""
from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from shared_code.adapters.local.private import FILE_MODE, private_dir, storage_error
from shared_code.ports.blobs import BlobInfo
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed

_CHUNK = 1 << 20
_PARTIAL = ".part"
log = logging.getLogger(__name__)


def _safe_name(name: str) -> str:
    # Blob names are server-chosen ids joined by '/'; map them onto a flat, traversal-free file name.
    if not name or ".." in name or name.startswith("/") or "\\" in name or "\x00" in name:
        raise ValueError(f"bad blob name {name!r}")
    return name.replace("/", "~")


class FileBlobStore:
    def __init__(self, root: Path):
        self._root = root
        if root.exists():
            private_dir(root)

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
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{_PARTIAL}")
        try:
            private_dir(path.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "wb") as out:
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
        except OSError as exc:
            mapped = storage_error(exc, "blobs")
            if mapped is None:
                raise
            log.error("blob store write failed under %s: %s", self._root, os.strerror(exc.errno or 0))
            raise mapped from exc
        finally:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                pass  # read-only now: the leftover sweep removes it later
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

    def remove_partials(self, older_than_seconds: float) -> int:
        """Deletes temporary files of writes that never finished (a killed process), older than
        `older_than_seconds` so that no write in progress loses its file. Idempotent."""
        if not self._root.exists():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for directory in self._root.iterdir():
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                if not (path.name.startswith(".") and path.name.endswith(_PARTIAL)):
                    continue
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def check(self) -> None:
        """A real write (a small probe file, written, synced and removed): a full disk or a
        read-only directory fails here as it would for an upload."""
        probe = self._root / f".health.{uuid.uuid4().hex}{_PARTIAL}"
        try:
            private_dir(self._root)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            try:
                os.write(fd, b"probe")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise storage_error(exc, "blobs") or exc from exc
        finally:
            try:
                probe.unlink()
            except OSError:
                pass
