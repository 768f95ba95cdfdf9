import io
import random

import pytest
from PIL import Image

from tests.imaging import builders as b


@pytest.fixture(scope="session")
def large_jpeg() -> bytes:
    """~40 MB, 6000x4000 (24 MP) JPEG of seeded uniform noise at quality 87, 4:4:4: noise does not
    compress, so this is what a near-limit upload looks like to the decoder. Built in memory once."""
    raw = random.Random(42).randbytes(6000 * 4000 * 3)
    img = Image.frombytes("RGB", (6000, 4000), raw)
    del raw
    out = io.BytesIO()
    img.save(out, "JPEG", quality=87, subsampling=0, exif=b.identifying_exif(6))
    return out.getvalue()


@pytest.fixture(scope="session")
def photo_48mp() -> bytes:
    """8000x6000 (48 MP) JPEG of a smooth gradient: what a high-resolution phone camera sends."""
    img = b.photo((8000, 6000), noise=False)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()
