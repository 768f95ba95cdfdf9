"""Builds what the benchmarks measure: a local-mode container in a temporary directory, patients,
folders, and noisy JPEGs of a chosen size (noise defeats compression, like skin texture does)."""
from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path

from PIL import Image

from shared_code.accounts.schemas import AccountIn
from shared_code.adapters.factory import build_adapters
from shared_code.adapters.local.kek_file import LocalKeyWrapper
from shared_code.container import Container
from shared_code.folders.schemas import FolderIn
from shared_code.settings import Settings


class CountingKeys(LocalKeyWrapper):
    """The local KEK, counting unwraps (each would be one Key Vault operation in Azure)."""

    unwraps = 0

    def unwrap(self, wrapped):
        self.unwraps += 1
        return super().unwrap(wrapped)


def local_container(keys_wrapper=None) -> tuple[Container, str, str]:
    data = Path(tempfile.mkdtemp(prefix="bench-"))
    settings = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(data), MAX_UPLOAD_BYTES=str(64 << 20))
    adapters = build_adapters(settings)
    if keys_wrapper is not None:
        adapters.keys = keys_wrapper(data / "kek")
    container = Container(settings, adapters)
    pid, folder = make_patient(container, "bench")
    return container, pid, folder


def make_patient(container: Container, subject: str) -> tuple[str, str]:
    pid = f"p_{subject}"
    container.accounts.put(pid, AccountIn(displayName=subject))
    folder = container.folders.create(pid, FolderIn(label="bench")).id
    return pid, folder


def jpeg_of_size(target: int, seed: int = 1) -> bytes:
    """A JPEG of roughly `target` bytes: random pixels at quality 90 take about 0.85 bytes a pixel."""
    side = max(64, int((target / 0.85) ** 0.5))
    img = Image.frombytes("RGB", (side, side), random.Random(seed).randbytes(side * side * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()
