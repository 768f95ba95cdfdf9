"""Local data is the patient's: every file the embedded adapters write under LOCAL_DATA_DIR is 0600
and every directory 0700, whatever the umask (directories made before are tightened when opened),
and a write that fails for want of space or permission says so in the domain's words."""
from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from shared_code.errors import StorageFull, StorageUnavailable

FILE_MODE = 0o600
DIR_MODE = 0o700
_FULL = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


def private_dir(path: Path) -> Path:
    """`path` and every directory made for it 0700 (existing ancestors outside it are left alone)."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    path = missing[0] if missing else path
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask
    if os.name == "posix" and path.stat().st_mode & 0o077:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Creates `path` empty if absent (0600) and tightens it if it exists: before SQLite opens it,
    so the database and its WAL and shared-memory files (SQLite copies the mode) are private."""
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Writes a whole small file, 0600, in place of any earlier one."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def storage_error(exc: BaseException, storage: str) -> Exception | None:
    """The domain error for a failed local write (disk full, read-only), or None for anything else."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return StorageFull(storage)
    if isinstance(exc, OSError) and exc.errno in _READ_ONLY:
        return StorageUnavailable(storage)
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if "disk is full" in text or "database or disk is full" in text:
            return StorageFull(storage)
        if "readonly" in text or "read-only" in text:
            return StorageUnavailable(storage)
    return None
