import io
from datetime import datetime, timezone

import pytest
from PIL import Image

from shared_code.imaging import process_image
from shared_code.imaging.exif import orientation_tiff
from shared_code.imaging.png_chunks import KEEP
from tests.imaging import builders as b


@pytest.fixture(scope="module")
def hostile() -> bytes:
    return b.hostile_png()


@pytest.fixture(scope="module")
def result(hostile):
    return process_image(hostile)


def test_text_exif_time_and_private_chunks_are_gone(result):
    types = [t for t, _ in b.png_chunks(result.data)]
    for dropped in (b"tEXt", b"zTXt", b"iTXt", b"tIME", b"prIv"):
        assert dropped not in types
    assert set(types) <= KEEP | {b"eXIf"}
    for secret in b.SECRETS:
        assert secret not in result.data, secret
    assert result.data.endswith(b"IEND\xaeB`\x82")  # nothing after IEND


def test_exif_replaced_by_orientation_only_before_idat(result):
    chunks = b.png_chunks(result.data)
    types = [t for t, _ in chunks]
    assert types.count(b"eXIf") == 1 and types.index(b"eXIf") < types.index(b"IDAT")
    assert dict(chunks)[b"eXIf"] == orientation_tiff(6)
    assert dict(Image.open(io.BytesIO(result.data)).getexif()) == {0x0112: 6}


def test_kept_chunks_byte_identical_and_pixels_unchanged(hostile, result):
    keep = lambda data: [(t, body) for t, body in b.png_chunks(data) if t != b"eXIf"]  # noqa: E731
    assert keep(result.data) == [(t, body) for t, body in b.png_chunks(hostile) if t in KEEP]
    before, after = Image.open(io.BytesIO(hostile)), Image.open(io.BytesIO(result.data))
    assert before.mode == after.mode and before.tobytes() == after.tobytes()
    assert after.info["icc_profile"] == b.srgb_icc()


def test_size_as_displayed_and_taken_at(result):
    assert (result.width, result.height) == (800, 1200)
    assert (result.thumbnail_width, result.thumbnail_height) == (341, 512)
    assert result.taken_at == datetime(2024, 5, 6, 6, 8, 9, tzinfo=timezone.utc)
    assert result.content_type == result.source_content_type == "image/png"


def test_plain_png_has_no_exif_added():
    result = process_image(b.png(b.photo((640, 480))))
    assert b"eXIf" not in [t for t, _ in b.png_chunks(result.data)]
    assert (result.width, result.height, result.taken_at) == (640, 480, None)


def test_transparent_areas_become_white_in_thumbnail():
    img = Image.new("RGBA", (100, 100), (0, 0, 0, 0))  # fully transparent black
    img.paste((200, 0, 0, 255), (0, 0, 50, 100))
    result = process_image(b.png(img))
    thumb = Image.open(io.BytesIO(result.thumbnail)).convert("RGB")
    r, g, bl = thumb.getpixel((90, 50))
    assert min(r, g, bl) > 240
    assert thumb.getpixel((10, 50))[0] > 180


def test_palette_and_16_bit_pngs():
    palette = process_image(b.png(b.photo((300, 200)).convert("P")))
    assert Image.open(io.BytesIO(palette.thumbnail)).size == (300, 200)
    grey16 = Image.new("I;16", (64, 64), 40000)
    thumb = Image.open(io.BytesIO(process_image(b.png(grey16)).thumbnail))
    assert 150 <= thumb.convert("L").getpixel((32, 32)) <= 160  # scaled, not clipped to white
