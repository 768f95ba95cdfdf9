"""Everything that must be refused, with the reason code the app will show."""
import random
import struct
import time
import tracemalloc
import warnings
import zlib

import pytest
from PIL import Image, ImageFile

from shared_code.imaging import ImageRejected, ProcessedImage, Reason, process_image
from tests.imaging import builders as b

SMALL = b.photo((120, 80))


def rejected(data: bytes, **kwargs) -> Reason:
    with pytest.raises(ImageRejected) as err:
        process_image(data, **kwargs)
    assert err.value.message and str(err.value).startswith(err.value.reason_code)
    return err.value.reason_code


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 10_000, 9)  # a few rows' worth; the rest would be "zeros"
    return (b"\x89PNG\r\n\x1a\n" + b.png_chunk(b"IHDR", ihdr) + b.png_chunk(b"IDAT", idat)
            + b.png_chunk(b"IEND", b""))


def with_sof(data: bytes, marker: int | None = None, precision: int | None = None,
             height: int | None = None, width: int | None = None) -> bytes:
    marker_at, body, offset = next(s for s in b.jpeg_segments(data) if s[0] in (0xC0, 0xC2))
    body = bytearray(body)
    if precision is not None:
        body[0] = precision
    if height is not None:
        body[1:3] = height.to_bytes(2, "big")
    if width is not None:
        body[3:5] = width.to_bytes(2, "big")
    seg = b.segment(marker if marker is not None else marker_at, bytes(body))
    return data[:offset] + seg + data[offset + len(seg):]


JPEG = b.jpeg(SMALL)
PNG = b.png(SMALL)
UNSUPPORTED = {
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "svg-no-prolog": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    "html": b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
    "gif": b.encoded(SMALL, "GIF"),
    "webp": b.encoded(SMALL, "WEBP"),
    "tiff": b.encoded(SMALL, "TIFF"),
    "pdf": b.encoded(SMALL, "PDF"),
    "bmp": b.encoded(SMALL, "BMP"),
    "avif": b.encoded(SMALL, "AVIF"),
    "text": b"This is my rash, it started on Tuesday.\n",
    "text-named-like-jpeg": b"JFIF photo.jpg\n" * 10,
    "random-bytes": b"\x00" + b.noise_bytes(4096, 1),
    "heif-brand-without-hevc": b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf" + bytes(64),
}


@pytest.mark.parametrize("data", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_not_jpeg_png_or_heic(data):
    assert rejected(data) == Reason.UNSUPPORTED_TYPE


def test_empty():
    assert rejected(b"") == Reason.EMPTY


def test_too_many_bytes():
    assert rejected(JPEG, max_bytes=len(JPEG) - 1) == Reason.TOO_LARGE


CORRUPT = {
    "text-with-jpeg-header": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                             + b"Dear doctor, please see attached.\n" * 20,
    "garbage-after-soi": b"\xff\xd8" + b"\x00" + b.noise_bytes(5000, 2),
    "jpeg-no-scan": b"\xff\xd8" + b.segment(0xFE, b"hi") + b"\xff\xd9",
    "jpeg-zero-height": with_sof(JPEG, height=0),
    "jpeg-bad-marker-in-scan": JPEG[:-200] + b"\xff\x01" + JPEG[-198:],
    "jpeg-two-frames": JPEG[:b.scan_offset(JPEG)] + b.segment(0xC0, next(
        s[1] for s in b.jpeg_segments(JPEG) if s[0] == 0xC0)) + JPEG[b.scan_offset(JPEG):],
    "jpeg-scan-flood": JPEG[:b.scan_offset(JPEG)]
                       + (b.segment(0xDA, next(s[1] for s in b.jpeg_segments(JPEG) if s[0] == 0xDA)) + b"\x00") * 101
                       + b"\xff\xd9",
    "jpeg-segment-flood": JPEG[:2] + b.segment(0xFE, b"") * 5000 + JPEG[2:],
    "png-bad-crc": PNG[:40] + bytes([PNG[40] ^ 0xFF]) + PNG[41:],
    "png-no-idat": PNG[:33] + b.png_chunk(b"IEND", b""),
    "png-idat-not-zlib": PNG[:33] + b.png_chunk(b"IDAT", b"not zlib data at all") + b.png_chunk(b"IEND", b""),
    "png-ihdr-not-first": PNG[:8] + b.png_chunk(b"gAMA", b"\x00\x00\xb1\x8f") + PNG[8:],
    "png-zero-width": PNG[:8] + b.png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)) + PNG[33:],
}


@pytest.mark.parametrize("data", CORRUPT.values(), ids=CORRUPT.keys())
def test_corrupt(data):
    assert rejected(data) == Reason.CORRUPT


TRUNCATED = {
    "jpeg-half": JPEG[: len(JPEG) // 2],
    "jpeg-without-eoi": JPEG[:-2],
    "jpeg-last-byte-missing": JPEG[:-1],
    "jpeg-inside-header": JPEG[:30],
    "progressive-jpeg-half": (lambda d: d[: len(d) * 2 // 3])(b.jpeg(SMALL, progressive=True)),
    "png-half": PNG[: len(PNG) // 2],
    "png-without-iend": PNG[:-12],
    "png-signature-only": PNG[:8],
}


@pytest.mark.parametrize("data", TRUNCATED.values(), ids=TRUNCATED.keys())
def test_truncated(data):
    assert rejected(data) == Reason.TRUNCATED


UNSUPPORTED_VARIANTS = {
    "jpeg-arithmetic": with_sof(JPEG, marker=0xC9),
    "jpeg-lossless": with_sof(JPEG, marker=0xC3),
    "jpeg-12-bit": with_sof(JPEG, precision=12),
    "png-unknown-critical-chunk": PNG[:8] + b.png_chunk(b"CgBI", b"\x50\x00\x20\x02") + PNG[8:],
}


@pytest.mark.parametrize("data", UNSUPPORTED_VARIANTS.values(), ids=UNSUPPORTED_VARIANTS.keys())
def test_unsupported_variants(data):
    assert rejected(data) == Reason.UNSUPPORTED_TYPE


def test_png_bomb_is_refused_before_any_pixel_memory():
    bomb = png_bomb()
    assert len(bomb) < 200
    tracemalloc.start()
    started = time.perf_counter()
    try:
        assert rejected(bomb) == Reason.TOO_MANY_PIXELS
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5 and peak < 1_000_000


@pytest.mark.parametrize("data", [JPEG, PNG], ids=["jpeg", "png"])
def test_pixels_over_the_limit(data):
    assert rejected(data, max_pixels=120 * 80 - 1) == Reason.TOO_MANY_PIXELS
    assert isinstance(process_image(data, max_pixels=120 * 80), ProcessedImage)


def test_jpeg_bomb_declaring_huge_frame():
    # a 2 KB file claiming 65535x65535 (4.3 GP): refused from the header, nothing decoded
    assert rejected(with_sof(JPEG, width=65_535, height=65_535)) == Reason.TOO_MANY_PIXELS


def test_pillow_global_limit_is_a_ceiling_and_no_warning_escapes(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 120 * 80 - 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert rejected(JPEG) == Reason.TOO_MANY_PIXELS
        assert rejected(PNG) == Reason.TOO_MANY_PIXELS
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_global_state_untouched():
    filters_before = list(warnings.filters)
    limit_before = Image.MAX_IMAGE_PIXELS
    process_image(JPEG)
    process_image(PNG)
    with pytest.raises(ImageRejected):
        process_image(JPEG[:-2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert Image.MAX_IMAGE_PIXELS == limit_before
    assert warnings.filters == filters_before
    assert "HEIF" not in Image.OPEN  # we never register the pillow-heif opener globally


def test_truncation_caught_even_if_someone_enables_load_truncated_images(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert rejected(JPEG[: len(JPEG) // 2]) == Reason.TRUNCATED
    assert rejected(PNG[: len(PNG) // 2]) == Reason.TRUNCATED


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's EXIF parser complains about the mutations
@pytest.mark.parametrize("source", ["jpeg", "progressive", "png", "png-interlaced"])
def test_mutated_files_are_processed_or_rejected_never_crash(source):
    img = b.photo((48, 32))
    data = {
        "jpeg": lambda: b.jpeg(img, exif=b.identifying_exif()),
        "progressive": lambda: b.jpeg(img, progressive=True),
        "png": lambda: b.png(img, exif=b.identifying_exif()),
        "png-interlaced": lambda: b.hostile_png(img),
    }[source]()
    rng = random.Random(source)
    outcomes = {"ok": 0, "rejected": 0}
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        if rng.random() < 0.3:
            del mutated[rng.randrange(len(mutated)):]
        try:
            process_image(bytes(mutated))
            outcomes["ok"] += 1
        except ImageRejected:
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 0
