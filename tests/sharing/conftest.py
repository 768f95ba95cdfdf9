"""The sharing tests stand on a FrozenClock (shares expire to the second), starting at the real
current second so tokens, uploads and expiry all agree."""
from __future__ import annotations

import pytest

from shared_code.clock import Clock, FrozenClock


@pytest.fixture
def api(family, tmp_path):
    """Like tests/conftest.py's `api` (both adapter families), with a FrozenClock at the container."""
    from tests.support.app import make_api

    return make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()))
