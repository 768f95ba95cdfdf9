"""Referral tests stand on a FrozenClock (the review clock counts London working days, and `sla`
turns at midnight), starting at the real time; both adapter families, like tests/conftest.py's `api`.
`scene` is tests/support/referrals.ReferralScene: a practice referring to a dermatology service."""
from __future__ import annotations

import pytest

from shared_code.clock import Clock, FrozenClock
from tests.support.referrals import ReferralScene


@pytest.fixture
def api(family, tmp_path):
    from tests.support.app import make_api

    return make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()))


@pytest.fixture
def scene(api) -> ReferralScene:
    return ReferralScene(api)
