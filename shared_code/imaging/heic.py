"""HEIC uploads are decoded with pillow-heif and stored as a high-quality JPEG.

Why not strip HEIC metadata in place, as we do for JPEG and PNG? HEIF keeps Exif and XMP as items
referenced from the `meta` box (iinf/iloc/iref), with byte offsets into `mdat`; removing them means
rewriting the box tree and every offset. pillow-heif exposes no such operation (only decode and
encode), and a hand-written ISO-BMFF rewriter is a large new attack surface for one format.

Why JPEG rather than re-encoding to HEIC without metadata? Both are one lossy generation. But:
  * clinicians review on NHS Windows desktops, where Edge/Chrome/Firefox cannot display HEIC, so
    a HEIC would need converting on every view anyway;
  * re-encoding HEIC needs the x265 encoder at run time: GPL-licensed, and slow (measured here:
    ~1 s for 0.3 MP, ~90 s for a noisy 12 MP image; JPEG encodes the same in well under a second);
  * one output format means one thumbnail/viewer path and one sanitiser to trust.
Quality 95 with 4:4:4 chroma (no colour subsampling: colour detail matters in skin) keeps the
generation loss small; the ICC profile (e.g. Display P3) is carried over so colour is unchanged.
Orientation: libheif applies the HEIF irot/imir transforms while decoding, so the pixels are
already upright and the JPEG needs no Orientation tag at all. Nothing else from the HEIC survives:
no Exif, XMP, depth maps, auxiliary or thumbnail images.
"""
from __future__ import annotations

import io

import pillow_heif
from PIL import Image

JPEG_QUALITY = 95


def open_file(data: bytes) -> pillow_heif.HeifFile:
    """Parse the container only (no pixel decoding yet), so the size can be checked first.
    We call pillow-heif directly rather than `register_heif_opener()`, which would change how
    Pillow's Image.open behaves for every other caller in the process."""
    return pillow_heif.open_heif(data, convert_hdr_to_8bit=True)


def decode(heif: pillow_heif.HeifFile) -> Image.Image:
    """Decode the primary image. Its info (Exif, XMP...) is discarded on the spot."""
    img = heif.to_pillow()
    img.info = {}
    return img


def to_jpeg(img: Image.Image, icc_profile: bytes | None) -> bytes:
    if img.mode not in ("RGB", "L"):
        if img.has_transparency_data:  # JPEG has no alpha: composite onto white
            rgba = img.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            flat.alpha_composite(rgba)
            img = flat
        img = img.convert("RGB")
    out = io.BytesIO()
    options: dict[str, object] = {"quality": JPEG_QUALITY, "subsampling": 0}
    if icc_profile:
        options["icc_profile"] = icc_profile
    img.save(out, "JPEG", **options)
    return out.getvalue()
