import hashlib
import io
from datetime import datetime, timezone

import pytest
from PIL import ExifTags, Image, ImageChops, ImageOps, ImageStat

from shared_code.imaging import process_image
from tests.imaging import builders as b

APP1, APP2, APP13, APP14, COM = 0xE1, 0xE2, 0xED, 0xEE, 0xFE


@pytest.fixture(scope="module")
def hostile() -> bytes:
    return b.hostile_jpeg()


@pytest.fixture(scope="module")
def result(hostile):
    return process_image(hostile)


def primary_length(data: bytes) -> int:
    """Length of the first image in `data` (the hostile fixture has a trailing second JPEG)."""
    return data.index(b"\xff\xd9\xff\xd8") + 2


def test_identifying_metadata_is_gone(result):
    for secret in b.SECRETS:
        assert secret not in result.data, secret
    markers = [m for m, _, _ in b.jpeg_segments(result.data)]
    assert APP13 not in markers and COM not in markers
    assert not any(0xE3 <= m <= 0xEF and m != APP14 for m in markers)
    # the only APP2s are ICC chunks; the only APP1 is our minimal Exif
    assert all(body.startswith(b"ICC_PROFILE\x00") for m, body, _ in b.jpeg_segments(result.data) if m == APP2)
    app1 = [body for m, body, _ in b.jpeg_segments(result.data) if m == APP1]
    assert len(app1) == 1 and app1[0].startswith(b"Exif\x00\x00") and len(app1[0]) == 32


def test_exif_keeps_orientation_only(result):
    exif = Image.open(io.BytesIO(result.data)).getexif()
    assert dict(exif) == {0x0112: 6}
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert not exif.get_ifd(ExifTags.IFD.Exif)


def test_jfif_thumbnail_and_trailer_removed(result):
    first = b.jpeg_segments(result.data)[0]
    assert first[0] == 0xE0 and first[1] == b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    assert result.data.endswith(b"\xff\xd9") and result.data.count(b"\xff\xd8") == 1


def test_colour_segments_kept(hostile, result):
    assert Image.open(io.BytesIO(result.data)).info["icc_profile"] == b.srgb_icc()
    cmyk = b.jpeg(b.photo((200, 100), mode="CMYK"))
    stored = process_image(cmyk).data
    adobe = [body for m, body, _ in b.jpeg_segments(stored) if m == APP14]
    assert adobe and adobe[0].startswith(b"Adobe")
    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(cmyk)).tobytes()


def test_scan_data_is_byte_identical(hostile, result):
    original = hostile[:primary_length(hostile)]
    assert original[b.scan_offset(original):] == result.data[b.scan_offset(result.data):]
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()


# Opening the *original* makes Pillow parse the fixture's fake MPF segment and complain.
@pytest.mark.filterwarnings("ignore:Image appears to be a malformed MPO", "ignore:Corrupt EXIF data")
@pytest.mark.parametrize("save", [{}, {"progressive": True}, {"subsampling": 0}, {"quality": 60}],
                         ids=["baseline", "progressive", "444", "q60"])
def test_decoded_pixels_identical(save):
    original = b.hostile_jpeg(b.photo((333, 257)), **save)
    stored = process_image(original).data
    before = Image.open(io.BytesIO(original[:primary_length(original)]))
    after = Image.open(io.BytesIO(stored))
    assert before.size == after.size and before.mode == after.mode
    assert before.tobytes() == after.tobytes()


def test_greyscale_jpeg():
    result = process_image(b.jpeg(b.photo((640, 480), mode="L")))
    assert (result.width, result.height) == (640, 480)
    assert Image.open(io.BytesIO(result.thumbnail)).mode == "L"


def test_orientation_kept_and_size_reported_as_displayed(result):
    # 1200x800 coded, Orientation 6 (rotate 90 clockwise to display)
    assert (result.width, result.height) == (800, 1200)
    assert (result.thumbnail_width, result.thumbnail_height) == (341, 512)


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_thumbnail_matches_the_stored_image_as_displayed(orientation):
    original = b.jpeg(b.photo((600, 400), noise=False), exif=b.identifying_exif(orientation))
    result = process_image(original)
    displayed = ImageOps.exif_transpose(Image.open(io.BytesIO(result.data)))
    assert displayed.size == (result.width, result.height)
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.size == (result.thumbnail_width, result.thumbnail_height)
    expected = displayed.resize(thumb.size).convert("RGB")
    diff = ImageStat.Stat(ImageChops.difference(thumb.convert("RGB"), expected)).mean
    assert max(diff) < 8, diff


def test_no_orientation_means_no_exif_at_all():
    result = process_image(b.jpeg(exif=b.identifying_exif(orientation=None)))
    assert 0xE1 not in [m for m, _, _ in b.jpeg_segments(result.data)]
    assert (result.width, result.height) == (1200, 800)


def test_thumbnail_is_small_jpeg_without_metadata(result):
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "JPEG" and max(thumb.size) == 512
    assert not thumb.getexif() and "icc_profile" not in thumb.info
    markers = [m for m, _, _ in b.jpeg_segments(result.thumbnail)]
    assert not any(0xE1 <= m <= 0xEF for m in markers) and COM not in markers


def test_small_image_thumbnail_is_not_upscaled():
    result = process_image(b.jpeg(b.photo((300, 200))))
    assert (result.thumbnail_width, result.thumbnail_height) == (300, 200)


def test_taken_at_from_exif_with_offset(result):
    assert result.taken_at == datetime(2024, 5, 6, 6, 8, 9, tzinfo=timezone.utc)


def test_content_types(result):
    assert result.content_type == result.source_content_type == "image/jpeg"
