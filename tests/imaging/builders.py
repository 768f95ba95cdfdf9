"""In-memory fixtures for the imaging tests (nothing is written to disk), plus small independent
readers for JPEG segments and PNG chunks so assertions do not trust the code under test."""
from __future__ import annotations

import io
import random
import struct
import zlib
from functools import cache

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageDraw

# Identifying values planted in fixtures; none may appear in anything we store.
SECRETS = (
    b"Jane Artist", b"Jane Owner", b"SERIAL-12345", b"MAKERNOTE-SECRET", b"PhoneModel X",
    b"Copyright Jane", b"GPSLatitude", b"IPTC-Jane", b"COMMENT-SECRET", b"THUMB-SECRET",
    b"TRAILER-SECRET", b"Leeds General", b"PNG-Author-Jane",
)
TAKEN = "2024:05:06 07:08:09"
OFFSET = "+01:00"


@cache  # the profile embeds its creation time; one value per session so comparisons hold
def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def photo(size: tuple[int, int] = (1200, 800), *, noise: bool = True, mode: str = "RGB") -> Image.Image:
    """Gradient with a red block top-left (so orientation is visible), optionally noisy (so pixel
    comparisons are not trivially satisfied)."""
    w, h = size
    base = Image.merge("RGB", [
        Image.linear_gradient("L").resize(size),
        Image.linear_gradient("L").rotate(90).resize(size),
        Image.new("L", size, 128),
    ])
    ImageDraw.Draw(base).rectangle((0, 0, w // 4, h // 4), fill=(255, 0, 0))
    if noise:
        base = Image.blend(base, Image.effect_noise(size, 64).convert("RGB"), 0.25)
    return base.convert(mode)


def identifying_exif(orientation: int | None = 6, taken: str | None = TAKEN,
                     offset: str | None = OFFSET) -> Image.Exif:
    ex = Image.Exif()
    if orientation is not None:
        ex[0x0112] = orientation
    ex[0x010F] = "PhoneMaker"
    ex[0x0110] = "PhoneModel X"
    ex[0x013B] = "Jane Artist"
    ex[0x8298] = "Copyright Jane"
    sub = ex.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        sub[0x9003] = taken
    if offset is not None:
        sub[0x9011] = offset
    sub[0xA430] = "Jane Owner"        # CameraOwnerName
    sub[0xA431] = "SERIAL-12345"      # BodySerialNumber
    sub[0x927C] = b"MAKERNOTE-SECRET"  # MakerNote
    gps = ex.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2] = "N", (53.0, 48.0, 12.5)
    gps[3], gps[4] = "W", (1.0, 32.0, 39.0)
    return ex


# ---------------------------------------------------------------- JPEG

def jpeg(img: Image.Image | None = None, **save) -> bytes:
    img = img if img is not None else photo()
    save.setdefault("quality", 90)
    out = io.BytesIO()
    img.save(out, "JPEG", **save)
    return out.getvalue()


def segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def jpeg_segments(data: bytes) -> list[tuple[int, bytes, int]]:
    """(marker, body, offset) for every segment up to and including the first SOS."""
    assert data[:2] == b"\xff\xd8"
    pos, found = 2, []
    while True:
        assert data[pos] == 0xFF, pos
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        found.append((marker, data[pos + 4:pos + 2 + length], pos))
        if marker == 0xDA:
            return found
        pos += 2 + length


def scan_offset(data: bytes) -> int:
    return jpeg_segments(data)[-1][2]


def insert_after_app0(data: bytes, *segments: bytes) -> bytes:
    first = jpeg_segments(data)[0]
    pos = 2 + (4 + len(first[1]) if first[0] == 0xE0 else 0)
    return data[:pos] + b"".join(segments) + data[pos:]


def replace_app0(data: bytes, body: bytes) -> bytes:
    marker, old, _ = jpeg_segments(data)[0]
    assert marker == 0xE0
    return data[:2] + segment(0xE0, body) + data[2 + 4 + len(old):]


def hostile_metadata_segments() -> list[bytes]:
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="53,48.2N" '
           b'dc:creator="Jane Artist"/></x:xmpmeta>')
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0d\x1c\x02\x50\x00\x09IPTC-Jane"
    return [
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp),  # XMP
        segment(0xED, iptc),                                        # APP13 IPTC
        segment(0xEC, b"Ducky\x00Copyright Jane"),                  # APP12
        segment(0xE2, b"MPF\x00MM\x00\x2a\x00\x00\x00\x08"),        # APP2 MPF (not ICC)
        segment(0xE3, b"Leeds General"),                            # APP3 vendor
        segment(0xEF, b"TRAILER-SECRET"),                           # APP15
        segment(0xFE, b"COMMENT-SECRET"),                           # COM
    ]


def jfif_with_thumbnail() -> bytes:
    # JFIF 1.01, aspect-ratio units, 1:1 density, a 2x2 RGB thumbnail of 12 bytes.
    return b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x02\x02" + b"THUMB-SECRET"


def hostile_jpeg(img: Image.Image | None = None, *, orientation: int | None = 6, **save) -> bytes:
    """A JPEG carrying every kind of identifying metadata we know of, plus a trailing second
    image with its own EXIF (as MPF/vendor trailers do)."""
    data = jpeg(img, exif=identifying_exif(orientation), comment=b"COMMENT-SECRET",
                icc_profile=srgb_icc(), **save)
    data = replace_app0(data, jfif_with_thumbnail())
    data = insert_after_app0(data, *hostile_metadata_segments())
    trailer = jpeg(photo((64, 48)), exif=identifying_exif())
    return data + trailer + b"TRAILER-SECRET"


# ---------------------------------------------------------------- PNG

def png(img: Image.Image | None = None, **save) -> bytes:
    img = img if img is not None else photo()
    out = io.BytesIO()
    img.save(out, "PNG", **save)
    return out.getvalue()


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, found = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        found.append((ctype, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
        if ctype == b"IEND":
            break
    return found


def insert_before_iend(data: bytes, *chunks: bytes) -> bytes:
    at = data.rindex(b"IEND") - 4
    return data[:at] + b"".join(chunks) + data[at:]


def hostile_png(img: Image.Image | None = None, *, orientation: int | None = 6) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "PNG-Author-Jane")
    info.add_text("Comment", "COMMENT-SECRET", zip=True)   # zTXt
    info.add_itxt("Location", "Leeds General")              # iTXt
    data = png(img, pnginfo=info, exif=identifying_exif(orientation), icc_profile=srgb_icc(), dpi=(72, 72))
    data = insert_before_iend(
        data,
        png_chunk(b"tIME", struct.pack(">HBBBBB", 2024, 5, 6, 7, 8, 9)),
        png_chunk(b"prIv", b"SERIAL-12345"),                # a private ancillary chunk
        png_chunk(b"tEXt", b"Comment\x00TRAILER-SECRET"),    # text after IDAT too
    )
    return data + b"TRAILER-SECRET"                          # bytes after IEND


# ---------------------------------------------------------------- HEIC

def heic(img: Image.Image | None = None, *, exif: Image.Exif | None = None, icc: bytes | None = None,
         xmp: bytes | None = None, quality: int = 80) -> bytes:
    img = img if img is not None else photo((320, 240))
    if icc:
        img.info["icc_profile"] = icc
    heif = pillow_heif.from_pillow(img)
    out = io.BytesIO()
    extra: dict[str, object] = {}
    if exif is not None:
        extra["exif"] = exif.tobytes()
    if xmp is not None:
        extra["xmp"] = xmp
    heif.save(out, quality=quality, **extra)
    return out.getvalue()


# ---------------------------------------------------------------- other formats

def encoded(img: Image.Image, fmt: str, **save) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **save)
    return out.getvalue()


def noise_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def scene(size: tuple[int, int] = (1600, 1200), seed: int = 1) -> Image.Image:
    """Photo-like: skin-toned, with edges at every scale (discs and strokes of random sizes and
    colours) and a little sensor noise. Sharp, well exposed, large enough: no quality issue."""
    rnd = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size, (200, 160, 140))
    draw = ImageDraw.Draw(img)
    for _ in range(150):
        x, y, r = rnd.randrange(w), rnd.randrange(h), rnd.randrange(5, max(6, w // 12))
        colour = tuple(200 + (rnd.randrange(256) - 200) // 2 for _ in range(3))
        if rnd.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.line((x, y, x + rnd.randrange(-w // 4, w // 4), y + rnd.randrange(-h // 4, h // 4)), fill=colour,
                      width=rnd.randrange(1, 8))
    return Image.blend(img, Image.effect_noise(size, 20).convert("RGB"), 0.05)

