"""Strip metadata from a PNG by walking its chunks, without re-encoding.

An allow-list, not a deny-list: we keep the chunks that define the pixels and their colour and
re-emit them byte-identical (CRC included); everything else goes. That removes tEXt/zTXt/iTXt
(authors, comments, software, locations), eXIf (GPS etc.), tIME, and also private or future chunks
(C2PA caBX, vendor data, APNG animation frames) that could carry identifying data we cannot vet.
`rebuild` may add a fresh minimal eXIf carrying only Orientation, before the first IDAT as PNG
requires.

The walk also proves the structure: signature, IHDR first, CRCs of what we keep, an IEND; a file
that stops before IEND is `truncated`, whatever the decoder would make of it.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

from .errors import ImageRejected, Reason

SIGNATURE = b"\x89PNG\r\n\x1a\n"

KEEP = frozenset({
    b"IHDR", b"PLTE", b"IDAT", b"IEND",           # critical
    b"tRNS",                                       # transparency is part of the pixels
    b"cHRM", b"gAMA", b"iCCP", b"sRGB", b"cICP",   # colour
    b"mDCV", b"cLLI", b"sBIT",                     # HDR / significant-bit hints
    b"bKGD", b"pHYs",                              # background colour, pixel aspect/density
})
MAX_CHUNKS = 100_000  # 40 MB of 12-byte empty chunks would otherwise be a multi-second Python loop
MAX_EXIF_BYTES = 1 << 20  # an eXIf we read for orientation/date; larger ones are ignored, not parsed
_MAX_DIMENSION = 2**31 - 1
# Allowed bit depths per colour type (PNG spec, table 11.1), checked so the decoder is never handed
# a combination it would have to improvise with (e.g. a palette image without a palette).
_BIT_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
PALETTE = 3


@dataclass(frozen=True)
class PngLayout:
    width: int
    height: int
    exif: bytes | None                  # first eXIf body (a TIFF structure), read for facts only
    kept: tuple[tuple[int, int], ...]   # byte ranges of whole chunks to copy, in order
    first_idat: int                     # index in `kept` of the range that starts with the first IDAT


def _reject(reason: Reason, message: str) -> ImageRejected:
    return ImageRejected(reason, f"PNG: {message}")


def parse(data: bytes) -> PngLayout:
    if not data.startswith(SIGNATURE):
        raise _reject(Reason.CORRUPT, "bad signature")
    view = memoryview(data)
    n, pos, count = len(data), len(SIGNATURE), 0
    kept: list[list[int]] = []
    first_idat: int | None = None
    ihdr: tuple[int, int, int] | None = None
    has_palette = False
    exif: bytes | None = None
    while True:
        if pos + 8 > n:
            raise _reject(Reason.TRUNCATED, "data ends before IEND")
        length = int.from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        if length > _MAX_DIMENSION or not ctype.isalpha():  # isalpha: ASCII letters only
            raise _reject(Reason.CORRUPT, f"bad chunk header at byte {pos}")
        end = pos + 12 + length
        if end > n:
            raise _reject(Reason.TRUNCATED, "data ends inside a chunk")
        count += 1
        if count > MAX_CHUNKS:
            raise _reject(Reason.CORRUPT, "too many chunks")
        # Upper-case first letter = critical: a decoder must not skip what it does not understand
        # (e.g. Apple's non-standard CgBI), so neither may we.
        if ctype not in KEEP and ctype[0:1].isupper():
            raise _reject(Reason.UNSUPPORTED_TYPE, f"unknown critical chunk {ctype.decode('ascii')}")
        if (count == 1) != (ctype == b"IHDR"):
            raise _reject(Reason.CORRUPT, "IHDR is not the first and only header chunk")
        body = view[pos + 8:pos + 8 + length]
        if ctype in KEEP or ctype == b"eXIf":
            if zlib.crc32(view[pos + 4:pos + 8 + length]) != int.from_bytes(data[end - 4:end], "big"):
                raise _reject(Reason.CORRUPT, f"CRC mismatch in {ctype.decode('ascii')}")
        if ctype == b"IHDR":
            ihdr = _ihdr(body)
        elif ctype == b"PLTE":
            if has_palette or first_idat is not None or length % 3 or not 3 <= length <= 768:
                raise _reject(Reason.CORRUPT, "bad PLTE")
            has_palette = True
        elif ctype == b"IDAT" and first_idat is None:
            assert ihdr is not None  # IHDR is enforced as the first chunk
            if ihdr[2] == PALETTE and not has_palette:
                raise _reject(Reason.CORRUPT, "palette image without PLTE before IDAT")
            kept.append([pos, end])  # its own range, so rebuild can insert eXIf in front of it
            first_idat = len(kept) - 1
            pos = end
            continue
        elif ctype == b"eXIf" and exif is None and length <= MAX_EXIF_BYTES:
            exif = bytes(body)
        if ctype in KEEP:
            if kept and kept[-1][1] == pos:
                kept[-1][1] = end
            else:
                kept.append([pos, end])
        pos = end
        if ctype == b"IEND":
            break  # trailing bytes after IEND are dropped
    if first_idat is None:
        raise _reject(Reason.CORRUPT, "no image data")
    assert ihdr is not None
    return PngLayout(ihdr[0], ihdr[1], exif, tuple((s, e) for s, e in kept), first_idat)


def _ihdr(body: memoryview) -> tuple[int, int, int]:
    if len(body) != 13:
        raise _reject(Reason.CORRUPT, "IHDR has the wrong length")
    width = int.from_bytes(body[0:4], "big")
    height = int.from_bytes(body[4:8], "big")
    depth, colour, compression, filtering, interlace = body[8:13]
    if not (0 < width <= _MAX_DIMENSION and 0 < height <= _MAX_DIMENSION):
        raise _reject(Reason.CORRUPT, "bad dimensions")
    if depth not in _BIT_DEPTHS.get(colour, ()) or compression or filtering or interlace > 1:
        raise _reject(Reason.CORRUPT, "bad IHDR parameters")
    return width, height, colour


def chunk(ctype: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + ctype + body + zlib.crc32(ctype + body).to_bytes(4, "big")


def rebuild(data: bytes, layout: PngLayout, exif_tiff: bytes | None = None) -> bytes:
    """The sanitised file: signature, the kept chunks, and the optional new eXIf before IDAT."""
    view = memoryview(data)
    parts: list[bytes | memoryview] = [SIGNATURE]
    for index, (start, end) in enumerate(layout.kept):
        if index == layout.first_idat and exif_tiff is not None:
            parts.append(chunk(b"eXIf", exif_tiff))
        parts.append(view[start:end])
    return b"".join(parts)
