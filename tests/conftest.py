"""Shared fixtures. `family` runs a test once per adapter family: `local` (embedded) and `azure`
(real Azure SDKs against Azurite and cosmosdb-server). `make test` starts the emulators around
pytest; a bare `pytest` run starts them here instead."""
from __future__ import annotations

import os

import pytest

from tests.support import backends
from tests.support.emulators import ENV_NAMES, Emulators


@pytest.fixture(scope="session")
def emulator_env():
    if all(os.environ.get(name) for name in ENV_NAMES):
        yield
        return
    emulators = Emulators()
    os.environ.update(emulators.start())
    try:
        yield
    finally:
        emulators.stop()
        for name in ENV_NAMES:
            os.environ.pop(name, None)


@pytest.fixture(scope="session")
def azure_clients(emulator_env):
    return backends.azure_clients()


@pytest.fixture(params=["local", "azure"])
def family(request, tmp_path) -> backends.Family:
    return backends.family_named(request.param, tmp_path, request)


@pytest.fixture
def api(family, tmp_path):
    """The API on one adapter family (runs each test on both)."""
    from tests.support.app import make_api

    return make_api(family, tmp_path / "data")
