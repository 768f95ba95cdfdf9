"""The decode budget is a setting: an upload whose bitmap would exceed it is refused before decoding."""
import pytest

from shared_code.container import Container
from shared_code.errors import UploadRejected
from shared_code.settings import Settings
from tests import fakes
from tests.support.steps import jpeg
from tests.unit.conftest import Domain


def test_an_upload_over_the_configured_decode_budget_is_refused_as_too_many_pixels(clock, tmp_path):
    # jpeg() is 96x64: under draft decoding still a 96x64 RGB bitmap of 18,432 bytes
    settings = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(tmp_path), PUBLIC_BASE_URL="http://testserver",
                        LOCAL_ISSUER_ENABLED=False, IMAGE_DECODE_BUDGET_BYTES=96 * 64 * 3 - 1)
    domain = Domain(Container(settings, fakes.adapters(clock), clock))
    alice = domain.account("alice")
    folder_id = domain.folder(alice)
    with pytest.raises(UploadRejected) as refused:
        domain.upload(alice, folder_id, jpeg())
    assert refused.value.reason == "too_many_pixels"
    roomy = Domain(Container(settings.model_copy(update={"image_decode_budget_bytes": 96 * 64 * 3}),
                             fakes.adapters(clock), clock))
    bob = roomy.account("bob")
    assert roomy.upload(bob, roomy.folder(bob), jpeg()).width == 96
