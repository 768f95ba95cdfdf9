"""The contract suites run on both adapter families and on `memory`, the in-memory fakes of
tests/fakes: the unit layer stands on fakes proven to keep the same contract as the adapters."""
from __future__ import annotations

import pytest

from tests.support import backends


@pytest.fixture(params=["local", "azure", "memory"])
def family(request, tmp_path) -> backends.Family:
    return backends.family_named(request.param, tmp_path, request)
