"""The list-view thumbnail: JPEG, longest side at most 512 px, upright, sRGB, no metadata."""
from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageCms, ImageMode, ImageOps

MAX_SIDE = 512
QUALITY = 85


def draft_size(width: int, height: int) -> tuple[int, int]:
    """What to ask JPEG draft mode for: the thumbnail's own size. libjpeg then decodes at the
    largest 1/8, 1/4 or 1/2 scale that still covers it, which is most of the saving."""
    scale = MAX_SIDE / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def decoded_bytes(img: Image.Image) -> int:
    """What decoding `img` (opened, not yet loaded) and thumbnailing it hold in full-size bitmaps:
    width x height x the bytes per pixel of the larger of its decoded mode and the mode it must be
    converted to before resampling. At most these two are alive at once (everything after the
    resize is thumbnail-sized), so the peak stays about twice this figure (a little over where
    Pillow keeps a 3-band pixel in 4 bytes)."""
    return img.width * img.height * max(pixel_bytes(img.mode), pixel_bytes(_working_mode(img)))


def pixel_bytes(mode: str) -> int:
    described = ImageMode.getmode(mode)
    return len(described.bands) * int(described.typestr[-1])  # typestr: "|u1", "<u2", "<i4"...


def shrink(img: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """The thumbnail's picture (RGB or L, sRGB, upright), before encoding: `quality` measures it too.
    Consumes `img` (it is resized in place). Orientation comes from the image's own EXIF, i.e.
    the minimal one we stored, so the thumbnail always matches how the stored file displays.
    Full-size work is at most one converted copy (see `decoded_bytes`); every other conversion
    happens on the thumbnail-sized image."""
    working = _working_mode(img)
    if working != img.mode:
        img = img.convert(working)
    # Box is square: order vs transpose is free. Pillow's reduce() step has no 16-bit mode: those resample
    # in one Lanczos pass (its intermediate is thumbnail-wide, so still no full-size copy).
    gap = None if img.mode.startswith("I") else 2.0
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=gap)
    ImageOps.exif_transpose(img, in_place=True)
    if img.mode.startswith("I"):
        # 16-bit greyscale: Pillow's I;16 -> L conversion clips at 255 (a white image); scale instead.
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    img = _flatten(img)
    if icc_profile and img.mode == "RGB":
        img = _to_srgb(img, icc_profile)
    return img


def encode(img: Image.Image) -> tuple[bytes, int, int]:
    """The thumbnail file of `shrink`'s picture: (JPEG bytes, width, height)."""
    out = io.BytesIO()
    # No exif=/icc_profile=/xmp= arguments: Pillow writes only JFIF and the pixels.
    img.save(out, "JPEG", quality=QUALITY)
    return out.getvalue(), img.width, img.height


def _working_mode(img: Image.Image) -> str:
    """The mode Lanczos resamples `img` in. RGB/RGBA/L/LA and 16-bit greyscale resample as they
    are (no full-size copy, which matters for a full-size PNG); others need one converted copy."""
    if img.mode in ("RGB", "L") and "transparency" in img.info:
        return "RGBA"  # tRNS colour key: make it real alpha before blending
    if img.mode in ("RGB", "RGBA", "L", "LA") or img.mode.startswith("I"):
        return img.mode
    if img.has_transparency_data:
        return "RGBA"
    return "RGB"  # P, 1, CMYK, YCbCr...


def _flatten(img: Image.Image) -> Image.Image:
    """JPEG has no alpha. Composite onto white: dropping alpha instead would reveal whatever
    colour data sits under fully transparent pixels."""
    if img.mode not in ("RGBA", "LA"):
        return img
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    background.alpha_composite(rgba)
    return background.convert("RGB" if img.mode == "RGBA" else "L")


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(img: Image.Image, icc_profile: bytes) -> Image.Image:
    """Phones tag photos Display P3; without conversion the untagged thumbnail would look duller
    than the photo, which matters for skin. A broken profile just means no conversion."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if source.profile.xcolor_space.strip() != "RGB":
            return img
        converted = ImageCms.profileToProfile(img, source, _srgb(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img
    return converted if converted is not None else img
