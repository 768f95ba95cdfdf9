"""Retention runs over years: the API stands on a FrozenClock the tests move (both adapter families)."""
from __future__ import annotations

import pytest

from shared_code.clock import Clock, FrozenClock


@pytest.fixture
def api(family, tmp_path):
    from tests.support.app import make_api

    return make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()))
