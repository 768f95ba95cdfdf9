"""Strip metadata from a JPEG by walking its marker segments, without re-encoding.

What survives: SOI, the JFIF APP0 (with any embedded JFIF thumbnail removed), APP2 ICC_PROFILE
chunks (colour), APP14 Adobe (tells the decoder whether to colour-transform), the tables (DQT, DHT,
DRI, DAC), the frame header (SOF), scan headers (SOS), DNL, and the entropy-coded scan data, which is
copied byte for byte so decoded pixels are identical. `rebuild` may add a fresh minimal APP1 Exif
carrying only Orientation.

What goes: every APP1 (Exif: GPS, serials, owner, maker notes, EXIF thumbnail; XMP), APP13
(IPTC/Photoshop), APP2 other than ICC (e.g. MPF, which indexes extra images appended after EOI),
all other APPn, COM, and anything after EOI (MPF secondary images, vendor trailers).

The walk is also the first proof of structure: it needs one supported frame, at least one scan and
an EOI, and it refuses (by reason code) what a browser could not show or what would cost us
unbounded CPU. The decoder then has to agree (see `process`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ImageRejected, Reason

SOI = b"\xff\xd8"

_SOF_SUPPORTED = frozenset({0xC0, 0xC1, 0xC2})  # baseline, extended, progressive (Huffman)
# Lossless, hierarchical and arithmetic-coded JPEG: libjpeg may decode some, browsers do not,
# and phones never write them.
_SOF_UNSUPPORTED = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xDE, 0xDF})
_DHT, _DAC, _SOS, _DQT, _DNL, _DRI, _EOI = 0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD, 0xD9
_TABLES = frozenset({_DHT, _DAC, _DQT, _DRI, _DNL})
_APP0, _APP1, _APP2, _APP14, _COM = 0xE0, 0xE1, 0xE2, 0xEE, 0xFE

# Structural limits. Real files have ~10-20 segments and <= ~20 scans; without caps a 40 MB file of
# 4-byte segments would keep a Python loop busy for seconds, and libjpeg re-walks the whole
# coefficient buffer for every progressive scan (a known CPU-exhaustion trick).
MAX_SEGMENTS = 4096
MAX_SCANS = 100

# Inside entropy-coded data 0xFF is followed by 0x00 (byte stuffing) or RST0-7, and 0xFF 0xFF is
# fill; any other pair is a marker. A regex finds it at C speed instead of a Python byte loop.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class JpegLayout:
    width: int                  # as coded in the frame header (before EXIF orientation)
    height: int
    components: int
    exif: bytes | None          # first APP1 Exif payload, only to read Orientation/DateTimeOriginal
    jfif: bytes | None          # sanitised APP0 JFIF payload to re-emit first
    kept: tuple[tuple[int, int], ...]  # byte ranges of the input to copy, in order, ending at EOI


def _reject(reason: Reason, message: str) -> ImageRejected:
    return ImageRejected(reason, f"JPEG: {message}")


def _keep(kept: list[list[int]], start: int, end: int) -> None:
    if kept and kept[-1][1] == start:
        kept[-1][1] = end  # contiguous with the previous range: one slice instead of many
    else:
        kept.append([start, end])


def parse(data: bytes) -> JpegLayout:
    n = len(data)
    if data[:2] != SOI:
        raise _reject(Reason.CORRUPT, "no start-of-image marker")
    pos, segments, scans = 2, 0, 0
    kept: list[list[int]] = []
    frame: tuple[int, int, int] | None = None
    exif = jfif = None
    in_scan = False
    while True:
        if in_scan:
            found = _MARKER_IN_SCAN.search(data, pos)
            if found is None:
                raise _reject(Reason.TRUNCATED, "data ends inside a scan (no end-of-image marker)")
            _keep(kept, pos, found.start())  # entropy-coded bytes, verbatim
            pos = found.start()
        if pos >= n:
            raise _reject(Reason.TRUNCATED, "data ends between segments")
        if data[pos] != 0xFF:
            raise _reject(Reason.CORRUPT, f"expected a marker at byte {pos}")
        while pos < n and data[pos] == 0xFF:  # optional fill bytes before a marker
            pos += 1
        if pos >= n:
            raise _reject(Reason.TRUNCATED, "data ends inside a marker")
        marker, start = data[pos], pos - 1
        pos += 1
        if marker == _EOI:
            if not in_scan:
                raise _reject(Reason.CORRUPT, "end of image before any scan")
            _keep(kept, start, pos)
            break  # anything after EOI (MPF images, vendor trailers) is dropped
        if marker == 0x00 or marker == 0x01 or 0xD0 <= marker <= 0xD8:
            raise _reject(Reason.CORRUPT, f"unexpected marker 0x{marker:02X}")
        segments += 1
        if segments > MAX_SEGMENTS:
            raise _reject(Reason.CORRUPT, "too many segments")
        if pos + 2 > n:
            raise _reject(Reason.TRUNCATED, "data ends inside a segment length")
        length = int.from_bytes(data[pos:pos + 2], "big")
        end = pos + length
        if length < 2:
            raise _reject(Reason.CORRUPT, "segment length below 2")
        if end > n:
            raise _reject(Reason.TRUNCATED, "data ends inside a segment")
        body_start, pos = pos + 2, end

        if marker in _SOF_SUPPORTED:
            if frame is not None or in_scan:
                raise _reject(Reason.CORRUPT, "more than one frame header")
            frame = _frame(data[body_start:end])
            _keep(kept, start, end)
        elif marker in _SOF_UNSUPPORTED:
            raise _reject(Reason.UNSUPPORTED_TYPE, f"JPEG process SOF/0x{marker:02X} is not supported")
        elif marker == _SOS:
            if frame is None:
                raise _reject(Reason.CORRUPT, "scan before frame header")
            scans += 1
            if scans > MAX_SCANS:
                raise _reject(Reason.CORRUPT, "too many scans")
            _keep(kept, start, end)
            in_scan = True
        elif marker in _TABLES:
            _keep(kept, start, end)
        elif marker == _APP0:
            body = data[body_start:end]
            if jfif is None and not in_scan and body.startswith(b"JFIF\x00") and len(body) >= 14:
                # version, units, densities; thumbnail size forced to 0x0 and its pixels dropped
                # (a JFIF thumbnail can show what a later crop removed).
                jfif = body[:12] + b"\x00\x00"
        elif marker == _APP1:
            if exif is None and data.startswith(b"Exif\x00\x00", body_start):
                exif = data[body_start:end]
        elif marker == _APP2:
            if data.startswith(b"ICC_PROFILE\x00", body_start):
                _keep(kept, start, end)
        elif marker == _APP14:
            if data.startswith(b"Adobe", body_start):
                _keep(kept, start, end)
        elif 0xE0 <= marker <= 0xEF or marker == _COM:
            pass  # metadata we do not need: dropped
        else:
            raise _reject(Reason.CORRUPT, f"unexpected marker 0x{marker:02X}")

    assert frame is not None  # a scan was required before EOI, and a scan requires a frame
    width, height, components = frame
    return JpegLayout(width, height, components, exif, jfif, tuple((s, e) for s, e in kept))


def _frame(body: bytes) -> tuple[int, int, int]:
    if len(body) < 6:
        raise _reject(Reason.CORRUPT, "short frame header")
    precision = body[0]
    height = int.from_bytes(body[1:3], "big")
    width = int.from_bytes(body[3:5], "big")
    components = body[5]
    if len(body) != 6 + 3 * components:
        raise _reject(Reason.CORRUPT, "frame header length does not match its components")
    if precision != 8:
        raise _reject(Reason.UNSUPPORTED_TYPE, f"{precision}-bit samples are not supported")
    if components not in (1, 3, 4):
        raise _reject(Reason.UNSUPPORTED_TYPE, f"{components} colour components are not supported")
    if width == 0 or height == 0:  # height 0 means "defined later by DNL": nobody supports it
        raise _reject(Reason.CORRUPT, "zero width or height")
    return width, height, components


def segment(marker: int, body: bytes) -> bytes:
    if len(body) + 2 > 0xFFFF:
        raise ValueError("segment body too long")
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def rebuild(data: bytes, layout: JpegLayout, exif_app1: bytes | None = None) -> bytes:
    """The sanitised file: SOI, JFIF, the optional new APP1 (EXIF wants it right after SOI/APP0),
    then the kept ranges of `data`. One allocation of about len(data); the slices are views."""
    view = memoryview(data)
    parts: list[bytes | memoryview] = [SOI]
    if layout.jfif is not None:
        parts.append(segment(_APP0, layout.jfif))
    if exif_app1 is not None:
        parts.append(segment(_APP1, exif_app1))
    parts.extend(view[s:e] for s, e in layout.kept)
    return b"".join(parts)
