"""The list-view thumbnail: JPEG, longest side at most 512 px, upright, sRGB, no metadata."""
from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageCms, ImageOps

MAX_SIDE = 512
QUALITY = 85


def draft_size(width: int, height: int) -> tuple[int, int]:
    """What to ask JPEG draft mode for: the thumbnail's own size. libjpeg then decodes at the
    largest 1/8, 1/4 or 1/2 scale that still covers it, which is most of the saving."""
    scale = MAX_SIDE / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def make(img: Image.Image, icc_profile: bytes | None) -> tuple[bytes, int, int]:
    """Consumes `img` (it is resized in place). Orientation comes from the image's own EXIF, i.e.
    the minimal one we stored, so the thumbnail always matches how the stored file displays."""
    img = _resampling_mode(img)
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)  # box is square: order vs transpose is free
    ImageOps.exif_transpose(img, in_place=True)
    img = _flatten(img)
    if icc_profile and img.mode == "RGB":
        img = _to_srgb(img, icc_profile)
    out = io.BytesIO()
    # No exif=/icc_profile=/xmp= arguments: Pillow writes only JFIF and the pixels.
    img.save(out, "JPEG", quality=QUALITY)
    return out.getvalue(), img.width, img.height


def _resampling_mode(img: Image.Image) -> Image.Image:
    """A mode Lanczos can resample without surprises. RGB/RGBA/L/LA pass through uncopied, which
    matters for a full-size PNG; others pay one converted copy."""
    if img.mode in ("RGB", "RGBA", "L", "LA"):
        if img.mode in ("RGB", "L") and "transparency" in img.info:
            return img.convert("RGBA")  # tRNS colour key: make it real alpha before blending
        return img
    if img.mode.startswith("I"):
        # 16-bit greyscale: Pillow's I;16 -> L conversion clips at 255 (a white image); scale instead.
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if img.has_transparency_data:
        return img.convert("RGBA")
    return img.convert("RGB")  # P, 1, CMYK, YCbCr...


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
