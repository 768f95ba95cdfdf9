"""Choose a decoder from the first bytes. This only picks which decoder gets to *prove* the type;
nothing is trusted until that decoder has decoded the pixels (see `process`). Headers, file names
and the client's declared content type are never consulted."""
from __future__ import annotations

JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# ISO-BMFF brands that mean "HEVC-coded HEIF". Generic brands such as mif1/msf1 alone do not:
# AVIF and JPEG-in-HEIF use them too, and our pillow-heif build decodes HEVC only.
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_MAX_BRANDS = 64  # a real ftyp lists a handful; don't let a hostile box make us loop


def detect(data: bytes) -> str | None:
    """The content type whose decoder should try `data`, or None for anything else (GIF, WebP,
    TIFF, PDF, SVG, HTML, text...)."""
    if data[:2] == b"\xff\xd8":  # SOI alone: what follows is for the segment walker to judge
        return JPEG
    if data[:8] == _PNG_SIGNATURE:
        return PNG
    if _is_heic(data):
        return HEIC
    return None


def _is_heic(data: bytes) -> bool:
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(data[0:4], "big")
    if box_size < 16 or box_size > len(data):
        return False
    brands = {data[8:12]}  # major brand, then compatible brands after the 4-byte minor version
    end = min(box_size, 16 + 4 * _MAX_BRANDS)
    brands.update(data[i:i + 4] for i in range(16, end - 3, 4))
    return not brands.isdisjoint(_HEVC_BRANDS)
