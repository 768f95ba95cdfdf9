import io
from datetime import datetime, timezone

import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageStat

from shared_code.imaging import ImageRejected, Reason, process_image
from tests.imaging import builders as b

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="53,48.2N"/></x:xmpmeta>'


@pytest.fixture(scope="module")
def original() -> bytes:
    # 320x240 coded with Orientation 6: pillow-heif turns that into an irot transform on encode.
    return b.heic(exif=b.identifying_exif(6), icc=b.srgb_icc(), xmp=XMP)


@pytest.fixture(scope="module")
def result(original):
    return process_image(original)


def test_fixture_really_carries_gps(original):
    exif = Image.Exif()
    exif.load(pillow_heif.open_heif(original).info["exif"])
    assert exif.get_ifd(0x8825)  # GPS IFD present in the upload


def test_stored_as_jpeg_without_any_metadata(result):
    assert result.source_content_type == "image/heic" and result.content_type == "image/jpeg"
    stored = Image.open(io.BytesIO(result.data))
    assert stored.format == "JPEG"
    assert not stored.getexif() and "xmp" not in stored.info
    assert not any(m == 0xE1 for m, _, _ in b.jpeg_segments(result.data))  # no Exif/XMP segment
    for secret in b.SECRETS:
        assert secret not in result.data, secret
    assert stored.info["icc_profile"] == b.srgb_icc()


def test_upright_pixels_and_displayed_size(original, result):
    decoded = pillow_heif.open_heif(original).to_pillow()  # libheif applies irot
    assert (result.width, result.height) == decoded.size == (240, 320)
    stored = Image.open(io.BytesIO(result.data)).convert("RGB")
    assert max(ImageStat.Stat(ImageChops.difference(stored, decoded.convert("RGB"))).mean) < 2


def test_taken_at_and_thumbnail(result):
    assert result.taken_at == datetime(2024, 5, 6, 6, 8, 9, tzinfo=timezone.utc)
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "JPEG" and thumb.size == (240, 320) and not thumb.getexif()


def test_heic_over_the_pixel_limit(original):
    with pytest.raises(ImageRejected) as err:
        process_image(original, max_pixels=50_000)
    assert err.value.reason_code == Reason.TOO_MANY_PIXELS


def test_heic_over_the_decode_budget(original):
    # 320x240 decodes to 8-bit RGB: 230,400 bytes; libheif has no reduced decode, so that is the figure
    with pytest.raises(ImageRejected) as err:
        process_image(original, max_decoded_bytes=320 * 240 * 3 - 1)
    assert err.value.reason_code == Reason.TOO_MANY_PIXELS
    assert process_image(original, max_decoded_bytes=320 * 240 * 3).width == 240


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_heic(original, cut):
    with pytest.raises(ImageRejected) as err:
        process_image(original[: int(len(original) * cut)])
    assert err.value.reason_code == Reason.TRUNCATED


def test_heic_header_with_garbage_body(original):
    with pytest.raises(ImageRejected) as err:
        process_image(original[:40] + b.noise_bytes(2000, 7))
    assert err.value.reason_code in (Reason.CORRUPT, Reason.TRUNCATED)
