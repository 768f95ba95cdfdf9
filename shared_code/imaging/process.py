"""Prove, clean and thumbnail one uploaded photograph, entirely in memory.

Order of work, and why:
  1. Sniff magic bytes only to pick a decoder (JPEG, PNG, HEIC); anything else is refused.
  2. Walk the container (JPEG segments / PNG chunks): proves structure, finds the declared size
     and the EXIF facts we keep, and refuses oversized, truncated or malformed files *before* any
     pixel memory is allocated.
  3. Build the sanitised file (metadata removed, pixels untouched) and decode *that*, so what we
     store is exactly what we proved decodable. JPEG is decoded in draft mode (libjpeg's reduced
     DCT scaling: every entropy-coded byte is still decoded, but only a 1/2..1/8-scale image is
     produced); that image also feeds the thumbnail. PNG has no reduced decode: a full load(),
     bounded by the pixel limit.
  4. HEIC is transcoded to JPEG (reasons in `heic`).
  5. Quality advice (`quality`: blurred, too dark, overexposed, too small) is measured on the
     thumbnail's picture, already in memory: never a second decode, never a refusal.

Decompression bombs: the pixel limit is checked against the container's declared size before
decoding, and so is the memory budget: the bytes the decoded bitmap will occupy (width x height x
bytes per pixel of the mode the decoder will produce, after draft scaling for JPEG; see
`thumbnail.decoded_bytes`), so a small file of many deep pixels (a 16-bit 7000x7000 PNG) is refused
without allocating them. The limit is never above Pillow's own MAX_IMAGE_PIXELS, so Pillow's
DecompressionBombWarning cannot fire for anything we decode; we refuse first. (Turning that warning
into an error with warnings.catch_warnings() would mutate process-wide filter state, which is not
thread-safe: the Functions worker runs sync handlers on a thread pool.) DecompressionBombError is
still mapped, in case other code lowers the global later. ImageFile.LOAD_TRUNCATED_IMAGES is left at
False and, independently, the walkers require EOI/IEND, so truncation is caught even if some other
code flips that global.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo

from PIL import Image

from . import exif, heic, jpeg_segments, png_chunks, quality, sniff, thumbnail
from .errors import ImageRejected, Reason
from .quality import QualityIssue

DEFAULT_MAX_PIXELS = 50_000_000      # 48 MP phone sensors fit; a 50000x50000 "PNG" does not
DEFAULT_MAX_BYTES = 40 * 1024 * 1024  # the upload limit; memory use is measured against this
# Bitmap bytes one upload may decode to (see thumbnail.decoded_bytes). Fits a 24 MP HEIC (73 MB of
# RGB), a 12 MP RGBA PNG (49 MB) and any JPEG up to the pixel limit (draft decoding: a 48 MP photo is
# ~2 MB); refuses a 7000x7000 16-bit greyscale PNG (98 MB from a 100 KB file).
DEFAULT_MAX_DECODED_BYTES = 80 * 1024 * 1024


@dataclass(frozen=True)
class ProcessedImage:
    content_type: str                 # of `data`: image/jpeg or image/png (HEIC is stored as JPEG)
    data: bytes = field(repr=False)   # sanitised bytes to store; repr=False keeps images out of logs
    width: int                        # as displayed (EXIF orientation applied)
    height: int
    sha256: str                       # hex digest of `data`
    taken_at: datetime | None         # UTC-aware
    thumbnail: bytes = field(repr=False)  # JPEG, longest side <= 512, upright, no metadata
    thumbnail_width: int
    thumbnail_height: int
    source_content_type: str          # what the upload proved to be: image/jpeg, image/png, image/heic
    quality_issues: tuple[QualityIssue, ...]  # advice only (see `quality`); empty when none


@dataclass(frozen=True)
class _Result:
    content_type: str
    data: bytes
    width: int
    height: int
    facts: exif.ExifFacts
    small: Image.Image  # the thumbnail's picture, not yet encoded (see thumbnail.shrink)


def process_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    client_taken_at: datetime | None = None,
    exif_naive_tz: tzinfo = timezone.utc,
) -> ProcessedImage:
    """Raises ImageRejected (with a `Reason`) for anything we will not store; ValueError for a
    naive `client_taken_at` (a caller bug, not the patient's). `exif_naive_tz` is the zone assumed
    for an EXIF DateTimeOriginal that carries no OffsetTimeOriginal (camera wall-clock time)."""
    if client_taken_at is not None and client_taken_at.utcoffset() is None:
        raise ValueError("client_taken_at must be timezone-aware")
    if not data:
        raise ImageRejected(Reason.EMPTY, "no bytes received")
    if len(data) > max_bytes:
        raise ImageRejected(Reason.TOO_LARGE, f"{len(data)} bytes exceeds the {max_bytes}-byte limit")
    if not isinstance(data, bytes):
        data = bytes(data)

    kind = sniff.detect(data)
    limits = _Limits(_pixel_limit(max_pixels), max_decoded_bytes)
    if kind == sniff.JPEG:
        result = _jpeg(data, limits, exif_naive_tz)
    elif kind == sniff.PNG:
        result = _png(data, limits, exif_naive_tz)
    elif kind == sniff.HEIC:
        result = _heic(data, limits, exif_naive_tz)
    else:
        raise ImageRejected(Reason.UNSUPPORTED_TYPE, "not a JPEG, PNG or HEIC image")

    taken_at = client_taken_at.astimezone(timezone.utc) if client_taken_at else result.facts.taken_at
    thumb, thumb_width, thumb_height = thumbnail.encode(result.small)
    return ProcessedImage(
        content_type=result.content_type,
        data=result.data,
        width=result.width,
        height=result.height,
        sha256=hashlib.sha256(result.data).hexdigest(),
        taken_at=taken_at,
        thumbnail=thumb,
        thumbnail_width=thumb_width,
        thumbnail_height=thumb_height,
        source_content_type=kind,
        quality_issues=quality.assess(result.small, result.width, result.height),
    )


@dataclass(frozen=True)
class _Limits:
    pixels: int          # declared by the container: bounds the work of decoding
    decoded_bytes: int   # bitmap bytes decoding will allocate: bounds the memory


def _check_budget(size: tuple[int, int], mode: str, needed: int, budget: int) -> None:
    if needed > budget:
        raise ImageRejected(Reason.TOO_MANY_PIXELS,
                            f"{size[0]}x{size[1]} {mode} decodes to {needed} bytes, over the {budget}-byte budget")


def _pixel_limit(max_pixels: int) -> int:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return max_pixels if pillow_limit is None else min(max_pixels, pillow_limit)


def _check_pixels(width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise ImageRejected(Reason.TOO_MANY_PIXELS, f"{width}x{height} exceeds {limit} pixels")


def _displayed(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)  # 5-8 turn 90 degrees


@contextmanager
def _decoding(fmt: str) -> Iterator[None]:
    """Map what third-party decoders raise on hostile input to reason codes. It also wraps the
    thumbnail, which works on whatever the decoder made of that input. Deliberately a list, not
    `Exception`: a bug in our own code should surface as a bug, not as 'corrupt'."""
    try:
        yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(Reason.TOO_MANY_PIXELS, f"{fmt}: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, IndexError, KeyError, TypeError) as exc:
        text = str(exc).lower()
        truncated = "truncated" in text or "end of file" in text
        if "security limit" in text:
            raise ImageRejected(Reason.TOO_MANY_PIXELS, f"{fmt}: {exc}") from exc
        raise ImageRejected(Reason.TRUNCATED if truncated else Reason.CORRUPT, f"{fmt}: {exc}") from exc


def _open(stored: bytes, fmt: str, size: tuple[int, int]) -> Image.Image:
    # formats=[fmt]: only that one plugin may claim the bytes; no fallback probing of others.
    img = Image.open(io.BytesIO(stored), formats=[fmt])
    if img.size != size:
        raise ImageRejected(Reason.CORRUPT, f"{fmt}: decoder size {img.size} != declared {size}")
    return img


def _jpeg(data: bytes, limits: _Limits, naive_tz: tzinfo) -> _Result:
    layout = jpeg_segments.parse(data)
    _check_pixels(layout.width, layout.height, limits.pixels)
    facts = exif.read(layout.exif, naive_tz=naive_tz)
    app1 = exif.orientation_app1(facts.orientation) if facts.orientation != 1 else None
    stored = jpeg_segments.rebuild(data, layout, app1)
    with _decoding("JPEG"):
        img = _open(stored, "JPEG", (layout.width, layout.height))
        img.draft("RGB", thumbnail.draft_size(*img.size))  # from here img.size is the reduced size
        _check_budget(img.size, img.mode, thumbnail.decoded_bytes(img), limits.decoded_bytes)
        img.load()  # decodes every scan; raises on truncation or broken structure
        small = thumbnail.shrink(img, img.info.get("icc_profile"))
    width, height = _displayed(layout.width, layout.height, facts.orientation)
    return _Result(sniff.JPEG, stored, width, height, facts, small)


def _png(data: bytes, limits: _Limits, naive_tz: tzinfo) -> _Result:
    layout = png_chunks.parse(data)
    _check_pixels(layout.width, layout.height, limits.pixels)
    facts = exif.read(layout.exif, naive_tz=naive_tz)
    tiff = exif.orientation_tiff(facts.orientation) if facts.orientation != 1 else None
    stored = png_chunks.rebuild(data, layout, tiff)
    with _decoding("PNG"):
        img = _open(stored, "PNG", (layout.width, layout.height))
        # The mode (from IHDR's colour type and bit depth) is known before any pixel is decoded.
        _check_budget(img.size, img.mode, thumbnail.decoded_bytes(img), limits.decoded_bytes)
        img.load()  # full decode: PNG has no reduced mode
        small = thumbnail.shrink(img, img.info.get("icc_profile"))
    width, height = _displayed(layout.width, layout.height, facts.orientation)
    return _Result(sniff.PNG, stored, width, height, facts, small)


def _heic(data: bytes, limits: _Limits, naive_tz: tzinfo) -> _Result:
    with _decoding("HEIC"):
        heif = heic.open_file(data)
        _check_pixels(*heif.size, limits.pixels)
        # libheif's buffer in heif.mode, then one Pillow copy (freed with `heif` below): no reduced decode.
        _check_budget(heif.size, heif.mode, heif.size[0] * heif.size[1] * thumbnail.pixel_bytes(heif.mode),
                      limits.decoded_bytes)
        info = heif.info
        facts = exif.read(info.get("exif"), naive_tz=naive_tz)
        icc = info.get("icc_profile")
        img = heic.decode(heif)
        del heif  # drop libheif's decoded buffer before encoding
        stored = heic.to_jpeg(img, icc)
        width, height = img.size  # libheif has already applied the HEIF rotation/mirror
        small = thumbnail.shrink(img, icc)
    return _Result(sniff.JPEG, stored, width, height, facts, small)
