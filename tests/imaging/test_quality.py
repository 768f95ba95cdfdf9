"""Quality advice on every processed photograph: blurred, too dark, overexposed, too small; never a
refusal. Measured through process_image, as an upload is (JPEG, PNG and HEIC paths)."""
import pytest
from PIL import ImageFilter

from shared_code.imaging import QualityIssue, process_image
from shared_code.imaging.quality import MIN_SHORTER_SIDE
from tests.imaging import builders as b

BLURRED, TOO_DARK, OVEREXPOSED, TOO_SMALL = (QualityIssue.BLURRED, QualityIssue.TOO_DARK, QualityIssue.OVEREXPOSED,
                                             QualityIssue.TOO_SMALL)


def issues(img, fmt: str = "JPEG") -> set[QualityIssue]:
    data = b.heic(img) if fmt == "HEIC" else b.encoded(img, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return set(process_image(data).quality_issues)


@pytest.mark.parametrize("size", [(1200, 900), (1600, 1200), (4032, 3024)])
def test_a_sharp_well_exposed_photograph_has_no_issue(size):
    assert issues(b.scene(size)) == set()


@pytest.mark.parametrize("fmt", ["PNG", "HEIC"])
def test_other_formats_are_measured_alike(fmt):
    assert issues(b.scene((1200, 900)), fmt) == set()
    assert issues(b.scene((1200, 900)).filter(ImageFilter.GaussianBlur(6)), fmt) == {BLURRED}


@pytest.mark.parametrize("size, radius", [((1600, 1200), 4), ((4032, 3024), 10)])
def test_an_out_of_focus_photograph_is_blurred(size, radius):
    assert issues(b.scene(size).filter(ImageFilter.GaussianBlur(radius))) == {BLURRED}


def test_an_underexposed_photograph_is_too_dark():
    assert TOO_DARK in issues(b.scene().point(lambda v: v // 6))  # 2.5 stops under


def test_a_dim_sharp_photograph_is_not_blurred():
    """Weaker edges are not softer ones: up to two stops under, contrast is judged as if stretched."""
    dim = b.scene().point(lambda v: v // 3)
    assert issues(dim) == set()
    assert issues(dim.filter(ImageFilter.GaussianBlur(4))) == {BLURRED}


def test_a_blown_out_photograph_is_overexposed():
    bright = b.scene().point(lambda v: min(255, v + 110))
    assert issues(bright) == {OVEREXPOSED}


def test_a_photograph_below_hd_is_too_small():
    assert issues(b.scene((640, 480))) == {TOO_SMALL}
    side = MIN_SHORTER_SIDE
    assert issues(b.scene((side * 4 // 3, side))) == set()  # the limit itself is enough


def test_a_sideways_photograph_is_judged_by_its_shorter_side():
    assert issues(b.scene((480, 1600))) == {TOO_SMALL}


def test_quality_never_refuses_even_with_every_issue():
    hopeless = b.scene((300, 200)).filter(ImageFilter.GaussianBlur(8)).point(lambda v: v // 8)
    processed = process_image(b.encoded(hopeless, "JPEG", quality=90))
    assert processed.data and processed.thumbnail
    assert set(processed.quality_issues) == {BLURRED, TOO_DARK, TOO_SMALL}


def test_a_featureless_picture_reads_as_blurred():
    """Nothing in focus to judge by (a lens cap, a blank wall) is advice to retake, like blur."""
    assert BLURRED in issues(b.photo((1600, 1200), noise=False).filter(ImageFilter.GaussianBlur(20)))
