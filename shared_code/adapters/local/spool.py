"""Local only: keeps uploads waiting in `incoming` encrypted on disk, readable after a restart.

In Azure the incoming container holds the client's upload for seconds, under Storage's own
encryption, and a lifecycle rule deletes leftovers. Locally nothing plaintext may be at rest under
LOCAL_DATA_DIR, so blobs of the spooled containers are sealed with AES-256-GCM (AAD: container and
name) under a spool key.

Why the spool key is on disk, wrapped: a key held only in memory died with the process, so every
upload received but not yet processed when `make run` was killed stayed `pending` for ever (the
bytes were there, nobody could read them). The spool key is now a random AES-256 key wrapped by the
local KEK (`LOCAL_DATA_DIR/kek`, the key that wraps patient keys) and kept as
`LOCAL_DATA_DIR/spool/<id>.json` (0600 in a 0700 directory): at rest there are only the sealed bytes
and a wrapped key, exactly the standard patient data has; the restarted process unwraps it and
finishes the upload. Rotation: a key seals for at most `rotate_after` (a new one is made on the
first seal after that), and a key file is deleted `retire_after` after its creation, by which time
the incoming sweep has removed every upload it sealed. A sealed blob whose key is gone (or that was
altered) is unreadable: it is deleted and reported as not found, so the upload waits for the client
to PUT again or ends `not_received`.

Without `keys` (tests that never restart) the key is held in memory only, as before."""
from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared_code.adapters.local.private import private_dir, write_private
from shared_code.ports.blobs import BlobInfo, BlobStore
from shared_code.ports.errors import NotFound
from shared_code.ports.keys import KeyUnavailable, KeyWrapper, WrappedKey

_MAGIC = b"SPL1"
_NONCE = 12


class SpoolingBlobStore:
    def __init__(self, inner: BlobStore, spooled: set[str], *, keys: KeyWrapper | None = None,
                 key_dir: Path | None = None, rotate_after_seconds: float = 24 * 3600,
                 retire_after_seconds: float = 72 * 3600):
        self._inner = inner
        self._spooled = spooled
        self._wrapper = keys
        self._dir = key_dir
        self._rotate_after = rotate_after_seconds
        self._retire_after = retire_after_seconds
        self._lock = threading.Lock()
        self._keys: dict[str, AESGCM] = {}
        self._current: tuple[str, float] | None = None  # (key id, created at)
        if keys is None:
            self._current = ("memory", float("inf"))
            self._keys["memory"] = AESGCM(AESGCM.generate_key(bit_length=256))

    # -- port --------------------------------------------------------------------------------------
    def put(self, container: str, name: str, chunks: Iterable[bytes], *, overwrite: bool = True) -> BlobInfo:
        if container not in self._spooled:
            return self._inner.put(container, name, chunks, overwrite=overwrite)
        key_id, aead = self._sealing_key()
        nonce = os.urandom(_NONCE)
        header = _MAGIC + bytes([len(key_id)]) + key_id.encode()
        sealed = header + nonce + aead.encrypt(nonce, b"".join(chunks), f"{container}/{name}".encode())
        return self._inner.put(container, name, [sealed], overwrite=overwrite)

    def open(self, container: str, name: str, *, if_match: str | None = None) -> tuple[BlobInfo, Iterator[bytes]]:
        info, chunks = self._inner.open(container, name, if_match=if_match)
        if container not in self._spooled:
            return info, chunks
        plain = self._unseal(b"".join(chunks), f"{container}/{name}".encode())
        if plain is None:
            # No key opens it (sealed under a retired key, or altered): as good as never received.
            self._inner.delete(container, name)
            raise NotFound(name)
        return BlobInfo(info.name, info.etag, len(plain), info.last_modified), iter([plain])

    def info(self, container: str, name: str) -> BlobInfo:
        return self._inner.info(container, name)

    def delete(self, container: str, name: str) -> None:
        self._inner.delete(container, name)

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        return self._inner.list(container, prefix)

    def check(self) -> None:
        self._inner.check()

    def remove_partials(self, older_than_seconds: float) -> int:
        remove = getattr(self._inner, "remove_partials", None)
        return remove(older_than_seconds) if remove else 0

    # -- keys --------------------------------------------------------------------------------------
    def _sealing_key(self) -> tuple[str, AESGCM]:
        with self._lock:
            if self._current is None or time.time() - self._current[1] >= self._rotate_after:
                self._current = self._newest_or_new()
            key_id = self._current[0]
            return key_id, self._keys[key_id]

    def _newest_or_new(self) -> tuple[str, float]:
        assert self._dir is not None and self._wrapper is not None
        private_dir(self._dir)
        now = time.time()
        for path in sorted(self._dir.glob("*.json"), reverse=True):
            created = path.stat().st_mtime
            if now - created < self._rotate_after and self._load(path.stem) is not None:
                return path.stem, created
            break
        key_id = f"{int(now):012d}-{secrets.token_hex(4)}"
        key = AESGCM.generate_key(bit_length=256)
        wrapped = self._wrapper.wrap(key)
        write_private(self._dir / f"{key_id}.json", json.dumps(
            {"kid": wrapped.kid, "alg": wrapped.alg, "key": base64.b64encode(wrapped.ciphertext).decode()}).encode())
        self._keys[key_id] = AESGCM(key)
        self._retire(now)
        return key_id, now

    def _retire(self, now: float) -> None:
        for path in self._dir.glob("*.json"):
            if now - path.stat().st_mtime >= self._retire_after:
                path.unlink(missing_ok=True)
                self._keys.pop(path.stem, None)

    def _load(self, key_id: str) -> AESGCM | None:
        if key_id in self._keys:
            return self._keys[key_id]
        if self._dir is None or self._wrapper is None or not key_id.replace("-", "").isalnum():
            return None
        try:
            stored = json.loads((self._dir / f"{key_id}.json").read_bytes())
            key = self._wrapper.unwrap(WrappedKey(stored["kid"], stored["alg"], base64.b64decode(stored["key"])))
        except (OSError, ValueError, KeyError, KeyUnavailable):
            return None
        self._keys[key_id] = AESGCM(key)
        return self._keys[key_id]

    def _unseal(self, sealed: bytes, aad: bytes) -> bytes | None:
        if not sealed.startswith(_MAGIC) or len(sealed) < len(_MAGIC) + 1:
            return None
        id_end = len(_MAGIC) + 1 + sealed[len(_MAGIC)]
        key_id = sealed[len(_MAGIC) + 1:id_end].decode(errors="replace")
        with self._lock:
            aead = self._load(key_id)
        if aead is None:
            return None
        try:
            return aead.decrypt(sealed[id_end:id_end + _NONCE], sealed[id_end + _NONCE:], aad)
        except (InvalidTag, ValueError):
            return None
