"""Photographs made in memory for the image tests: a phone-like JPEG with GPS and other identifying
EXIF, a PNG, a HEIC."""
from __future__ import annotations

import io
import random

from PIL import Image


def _pixels(width: int, height: int, seed: int = 1) -> Image.Image:
    rnd = random.Random(seed)
    img = Image.new("RGB", (width, height))
    img.putdata([(rnd.randrange(256), (x * 7) % 256, (y * 5) % 256) for y in range(height) for x in range(width)])
    return img


def phone_jpeg(width: int = 640, height: int = 480, *, taken: str = "2026:03:01 10:15:00", seed: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"        # Make
    exif[0x0110] = "Model X"           # Model
    exif[0x013B] = "Alice Patient"     # Artist
    exif[0x0112] = 1                   # Orientation
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = taken                # DateTimeOriginal
    ifd[0xA431] = "SN-123456789"       # BodySerialNumber
    ifd[0x927C] = b"maker secrets"     # MakerNote
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (54.0, 58.0, 30.0), "W", (1.0, 36.0, 50.0)
    out = io.BytesIO()
    _pixels(width, height, seed).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def plain_png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    _pixels(width, height, 3).save(out, "PNG")
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img
