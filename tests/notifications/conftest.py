from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from shared_code.clock import FrozenClock
from tests.notifications import helpers


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone.utc))


@pytest.fixture
def api(family, tmp_path, clock):
    """The API and its container on one adapter family, at a frozen time, with the seed data."""
    from tests.support.app import make_api

    api = make_api(family, tmp_path / "data", clock=clock, PORTAL_BASE_URL="https://portal.telederm.example")
    helpers.seed(family.documents)
    return api


@pytest.fixture
def logs():
    """Every record our code logs (pytest's own log capture is off in these runs: -p no:logging)."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("shared_code", "functions")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield records
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


def assert_nothing_personal(text: str) -> None:
    for secret in (*helpers.SECRETS, *helpers.ADDRESSES):
        assert secret.lower() not in text.lower(), f"{secret!r} leaked"
