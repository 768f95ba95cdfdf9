"""KeyWrapper adapter for the embedded (local) mode: the KEK is a set of key files.

Layout: `<directory>/<n>.key` (`000001.key`, `000002.key`, ...), each holding exactly 32 random
bytes (an AES-256 key), file mode 0600 in a 0700 directory; `directory` is normally
`LOCAL_DATA_DIR/kek`. The highest number is current. The first use creates `000001.key`,
`rotate()` adds the next one. A version file is written under a temporary name and
hard-linked into place, so a reader never sees a partial key and two processes starting at once
end up sharing one version. Files are read on every operation (no cache): deleting a version file
takes effect immediately, as disabling a Key Vault version does, and a second process (the local
server and the local worker share the directory) sees rotations at once.

kid: `local:kek/<n>-<check>`, e.g. `local:kek/000001-3f9a61c2`, where `<check>` is a key check
value (32 bits of SHA-256 over a label and the key). If key files are deleted and a new key is
later created under the same number, kids of the old key no longer match it, so their wrapped keys
fail with KeyUnavailable (the key is gone) rather than looking like tampered data. Algorithm: `A256GCMKW` (AES-256-GCM key wrap, JWA RFC 7518 §4.7):
ciphertext = 12-byte random nonce || encrypted key || 16-byte tag, with the kid as associated data,
so wrapping the same key twice gives different ciphertexts and a ciphertext cannot be moved to
another version.

Errors:
* `KeyUnavailable`: the version named by a kid has no key file (deleted) or its file now holds
  another key, or the file is unreadable or not 32 bytes, or the directory cannot be created/read.
* `ValueError`: the wrapped key is bad: not a local kid, wrong algorithm, too short, or the GCM tag
  does not verify (tampered/truncated ciphertext, or wrapped under another key). The crypto layer
  maps it to a decryption failure.

This is development/test key storage: the KEK lies on the same disk as the data it protects.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared_code.adapters.local.private import private_dir
from shared_code.ports.keys import KeyUnavailable, WrappedKey

ALGORITHM = "A256GCMKW"
KID_PREFIX = "local:kek/"
_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_VERSION = re.compile(r"^([0-9]{6,12})-([0-9a-f]{8})$")
_FILE = re.compile(r"^([0-9]{6,12})\.key$")

_log = logging.getLogger(__name__)


def _check_value(kek: bytes) -> str:
    return hashlib.sha256(b"local-kek key check value\x00" + kek).hexdigest()[:8]


class LocalKeyWrapper:
    """`KeyWrapper` over versioned AES-256 key files in `directory` (see module docstring)."""

    def __init__(self, directory: Path | str):
        self._dir = Path(directory)
        self._warned_mode = False

    @property
    def directory(self) -> Path:
        return self._dir

    # -- port ----------------------------------------------------------------------------------------

    def current_kid(self) -> str:
        return self._current()[0]

    def wrap(self, key: bytes) -> WrappedKey:
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise ValueError("wrap() takes the data key as non-empty bytes")
        kid, kek = self._current()
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = nonce + AESGCM(kek).encrypt(nonce, bytes(key), kid.encode())
        return WrappedKey(kid=kid, alg=ALGORITHM, ciphertext=ciphertext)

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        number, check = self._parse(wrapped.kid)
        if wrapped.alg != ALGORITHM:
            raise ValueError(f"local KEK cannot unwrap algorithm {wrapped.alg!r} (expected {ALGORITHM})")
        data = wrapped.ciphertext
        if len(data) <= _NONCE_BYTES + _TAG_BYTES:
            raise ValueError("wrapped key is too short")
        kek = self._read(number)
        if _check_value(kek) != check:
            raise KeyUnavailable(f"local KEK version {wrapped.kid} is gone: {number}.key now holds another key")
        try:
            return AESGCM(kek).decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], wrapped.kid.encode())
        except InvalidTag:
            raise ValueError(f"wrapped key failed authentication under {wrapped.kid} (tampered or wrong key)") from None

    def check(self) -> None:
        """Raises KeyUnavailable unless the current version can wrap and unwrap."""
        probe = os.urandom(_KEY_BYTES)
        if self.unwrap(self.wrap(probe)) != probe:  # pragma: no cover - AES-GCM would have raised
            raise KeyUnavailable("local KEK self-test failed")

    # -- extras --------------------------------------------------------------------------------------

    def rotate(self) -> str:
        """Add a new version and make it current. Returns its kid. Older versions keep unwrapping."""
        numbers = self._numbers()
        number = self._format((int(numbers[-1]) if numbers else 0) + 1)
        try:
            self._create(number)
        except FileExistsError:
            pass  # another process rotated at the same moment: its new version serves as ours
        return self._kid(number, self._read(number))

    def kids(self) -> list[str]:
        """The kids of all versions present, oldest first."""
        return [self._kid(number, self._read(number)) for number in self._numbers()]

    # -- internals -----------------------------------------------------------------------------------

    @staticmethod
    def _format(number: int) -> str:
        return f"{number:06d}"

    def _path(self, number: str) -> Path:
        return self._dir / f"{number}.key"

    @staticmethod
    def _kid(number: str, kek: bytes) -> str:
        return f"{KID_PREFIX}{number}-{_check_value(kek)}"

    @staticmethod
    def _parse(kid: str) -> tuple[str, str]:
        match = _VERSION.match(kid[len(KID_PREFIX):]) if isinstance(kid, str) and kid.startswith(KID_PREFIX) else None
        if not match:
            raise ValueError(f"{kid!r} is not a local KEK id ({KID_PREFIX}<n>-<check>)")
        return match.group(1), match.group(2)

    def _numbers(self) -> list[str]:
        try:
            names = os.listdir(self._dir)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise KeyUnavailable(f"cannot list local KEK directory {self._dir}: {exc}") from exc
        found = [m.group(1) for m in map(_FILE.match, names) if m]
        return sorted(found, key=int)

    def _current(self) -> tuple[str, bytes]:
        numbers = self._numbers()
        if numbers:
            number = numbers[-1]
        else:
            number = self._format(1)
            try:
                self._create(number)
            except FileExistsError:
                pass  # created concurrently by another instance/process: use theirs
        kek = self._read(number)
        return self._kid(number, kek), kek

    def _create(self, number: str) -> None:
        """Write a new random key as `number`, atomically; FileExistsError if it already exists."""
        try:
            self._write_new(number)
        except FileExistsError:
            raise
        except OSError as exc:
            raise KeyUnavailable(f"cannot create local KEK version {number} in {self._dir}: {exc}") from exc

    def _write_new(self, number: str) -> None:
        private_dir(self._dir)
        final = self._path(number)
        tmp = self._dir / f".{number}.{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.write(fd, os.urandom(_KEY_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, final)  # atomic, and fails if `final` exists: never overwrite a KEK
            except FileExistsError:
                raise
            except OSError:
                # File systems without hard links: exclusive create, then copy the bytes in.
                data = tmp.read_bytes()
                out = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(out, data)
                    os.fsync(out)
                finally:
                    os.close(out)
        finally:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
        self._fsync_dir()

    def _fsync_dir(self) -> None:
        try:
            fd = os.open(self._dir, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _read(self, number: str) -> bytes:
        path = self._path(number)
        try:
            data = path.read_bytes()
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyUnavailable(f"local KEK version {number} does not exist in {self._dir}") from None
        except OSError as exc:
            raise KeyUnavailable(f"cannot read local KEK version {number} in {self._dir}: {exc}") from exc
        if len(data) != _KEY_BYTES:
            raise KeyUnavailable(f"local KEK file {path} is corrupt ({len(data)} bytes, expected {_KEY_BYTES})")
        if os.name == "posix" and mode & 0o077 and not self._warned_mode:
            self._warned_mode = True
            _log.warning("local KEK file %s is readable by group/others (mode %o); expected 0600", path, mode & 0o777)
        return data
