"""The only two facts we take from an upload's EXIF, and the minimal EXIF we write back.

Everything else in EXIF (GPS, serial numbers, owner/artist, maker notes, embedded thumbnails...)
is dropped by the container walkers; this module never copies a tag forward except Orientation,
which is re-created from scratch, so nothing unknown can ride along with it.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from PIL import ExifTags, Image

ORIENTATION = 0x0112
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
EXIF_HEADER = b"Exif\x00\x00"  # prefix of the JPEG APP1 payload (not used in PNG eXIf)

_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


@dataclass(frozen=True)
class ExifFacts:
    orientation: int = 1              # 1..8 as in TIFF/EXIF; 1 = stored as displayed
    taken_at: datetime | None = None  # UTC-aware


def read(payload: bytes | None, *, naive_tz: tzinfo = timezone.utc) -> ExifFacts:
    """Orientation and DateTimeOriginal(+OffsetTimeOriginal) from an EXIF block ("Exif\\0\\0"
    prefix optional). Garbled EXIF yields defaults rather than a rejection: the block is being
    discarded anyway, and a phone's odd metadata must not cost the patient their upload."""
    if not payload:
        return ExifFacts()
    try:
        exif = Image.Exif()
        exif.load(payload)
        orientation = exif.get(ORIENTATION, 1)
        sub_ifd = exif.get_ifd(ExifTags.IFD.Exif)
        original = sub_ifd.get(DATETIME_ORIGINAL)
        offset = sub_ifd.get(OFFSET_TIME_ORIGINAL)
    except Exception:  # Pillow's TIFF parser raises many types on hostile data; all mean "no facts"
        return ExifFacts()
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    return ExifFacts(orientation, _taken_at(original, offset, naive_tz))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else ""


def _taken_at(original: object, offset: object, naive_tz: tzinfo) -> datetime | None:
    match = _DATETIME.fullmatch(_text(original))
    if not match:
        return None  # absent, or a camera's "0000:00:00 00:00:00"/blank placeholder
    try:
        local = datetime(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    tz = naive_tz  # EXIF without an offset is camera wall-clock time in an unknown zone
    off = _OFFSET.fullmatch(_text(offset))
    if off:
        minutes = int(off[2]) * 60 + int(off[3])
        if minutes < 24 * 60:
            tz = timezone(timedelta(minutes=-minutes if off[1] == "-" else minutes))
    try:
        return local.replace(tzinfo=tz).astimezone(timezone.utc)
    except (OverflowError, ValueError):  # e.g. year 1 shifted before datetime.min
        return None


def orientation_tiff(orientation: int) -> bytes:
    """A complete big-endian TIFF structure with one IFD holding one entry: Orientation (SHORT).
    This is the body of a PNG eXIf chunk; JPEG wants EXIF_HEADER in front (orientation_app1)."""
    if not 1 <= orientation <= 8:
        raise ValueError(f"orientation {orientation} outside 1..8")
    header = b"MM\x00\x2a" + struct.pack(">I", 8)  # byte order, magic 42, first IFD at offset 8
    entry = struct.pack(">HHIHH", ORIENTATION, 3, 1, orientation, 0)  # tag, SHORT, count 1, value+pad
    return header + struct.pack(">H", 1) + entry + struct.pack(">I", 0)  # 1 entry; no next IFD


def orientation_app1(orientation: int) -> bytes:
    return EXIF_HEADER + orientation_tiff(orientation)
