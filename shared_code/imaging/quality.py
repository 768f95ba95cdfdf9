"""Image quality advice: is a photograph blurred, too dark, overexposed or too small to review?

Measured on pixels processing already holds (never a second decode): the upright, flattened,
thumbnail-sized picture (longest side at most `thumbnail.MAX_SIDE`) for sharpness and exposure, and
the displayed resolution for size. Measuring sharpness at one fixed scale is what lets one threshold
serve a 1 MP and a 48 MP upload alike (the variance of the Laplacian grows with the scale it is
measured at). So `blurred` means blurred as a reviewer first sees the picture: slight softness that
only shows at full size on a high-resolution photo is not reported.

The result is advice for the app and the referrer to show ("retake?"), never a reason to refuse:
a clinician may still need a poor photograph of a lesion that cannot be photographed better.

The thresholds were set on synthetic photographs (random shapes with sharp edges, skin-toned, at
1200x900 to 4032x3024, and their Gaussian-blurred copies: tests/imaging/test_quality.py) and
should be re-checked against real referral photographs once there are some."""
from __future__ import annotations

from enum import Enum

from PIL import Image, ImageFilter, ImageStat


class QualityIssue(str, Enum):
    BLURRED = "blurred"
    TOO_DARK = "too_dark"
    OVEREXPOSED = "overexposed"
    TOO_SMALL = "too_small"


# Variance of the 4-neighbour Laplacian of the thumbnail-sized greyscale picture, as if its contrast
# were stretched to the full range (so exposure does not read as blur: a dark picture has weak edges,
# not soft ones), below which it is `blurred`. Sharp synthetic photographs measured 650-880; a
# Gaussian blur of radius 1 px at 1200 px wide (3.4 px at 4032) 240-380, radius 2 (6.7 px at 4032)
# 55-100, radius 3 20-36.
BLUR_MAX_LAPLACIAN_VARIANCE = 60.0
# The stretch: from the 1st to the 99th percentile grey level (a specular highlight or a dark border
# does not count), by at most 4x (two stops). Beyond that what would be stretched is mostly the
# sensor's noise and the 8-bit steps, which read as detail and would hide blur; so a picture more
# than two stops under may read as blurred as well as too dark: either way the advice is a retake.
_STRETCH_PERCENTILE = 0.01
_STRETCH_MAX_GAIN = 4.0
# Median grey level (0-255) below which the picture is `too_dark`. Set well under where we expect
# correctly lit skin of Fitzpatrick type VI to sit (an estimate, about 60-90 in sRGB, not measured on
# photographs), so that the light, not the skin, is what this reports.
DARK_MAX_MEDIAN = 40
# `overexposed` when more than this share of the pixels is blown out to (near) white: detail in
# those areas is gone, and flash on skin typically blows out only small specular highlights.
CLIPPED_WHITE_LEVEL = 250
OVEREXPOSED_MIN_CLIPPED_SHARE = 0.25
# `too_small` when the shorter displayed side is under this many pixels (below HD): a lesion of a
# few millimetres then spans too few pixels to zoom into, while a phone photograph recompressed by a
# messaging app (about 1600x1200) still passes.
MIN_SHORTER_SIDE = 720

# The discrete Laplacian; the offset centres it in 8-bit grey (Pillow's kernels on "L" clip to 0-255,
# which only caps the contribution of the strongest edges: a sharp picture stays far above the limit).
_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=128)


def assess(small: Image.Image, width: int, height: int) -> tuple[QualityIssue, ...]:
    """The issues of a picture whose thumbnail-sized rendering is `small` and whose displayed size
    is `width` x `height`, in the order of `QualityIssue`. Cost: about 2 ms of CPU (512 x 384)."""
    grey = small if small.mode == "L" else small.convert("L")
    histogram = grey.histogram()
    pixels = sum(histogram)
    issues = []
    spread = _level(histogram, pixels, 1 - _STRETCH_PERCENTILE) - _level(histogram, pixels, _STRETCH_PERCENTILE)
    gain = min(_STRETCH_MAX_GAIN, 255 / max(1, spread))
    if _laplacian_variance(grey) * gain * gain < BLUR_MAX_LAPLACIAN_VARIANCE:
        issues.append(QualityIssue.BLURRED)
    if _level(histogram, pixels, 0.5) < DARK_MAX_MEDIAN:
        issues.append(QualityIssue.TOO_DARK)
    if sum(histogram[CLIPPED_WHITE_LEVEL:]) > OVEREXPOSED_MIN_CLIPPED_SHARE * pixels:
        issues.append(QualityIssue.OVEREXPOSED)
    if min(width, height) < MIN_SHORTER_SIDE:
        issues.append(QualityIssue.TOO_SMALL)
    return tuple(issues)


def _laplacian_variance(grey: Image.Image) -> float:
    if grey.width < 3 or grey.height < 3:
        return 0.0  # no interior pixel: nothing to judge sharpness by
    # Pillow's kernel filters leave the 1-pixel border unfiltered (the source grey levels, far from
    # the offset): cropped, or the border alone would read as detail.
    laplacian = grey.filter(_LAPLACIAN).crop((1, 1, grey.width - 1, grey.height - 1))
    return ImageStat.Stat(laplacian).var[0]


def _level(histogram: list[int], pixels: int, share: float) -> int:
    """The grey level at or below which `share` of the pixels lie (0.5: the median)."""
    seen = 0
    for level, count in enumerate(histogram):
        seen += count
        if seen >= share * pixels:
            return level
    return 255
