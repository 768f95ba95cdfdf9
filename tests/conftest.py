"""Shared fixtures. `family` runs a test once per adapter family: `local` (embedded) and `azure`
(real Azure SDKs against Azurite and cosmosdb-server). Each pytest-xdist worker has emulators of
its own (the azure family empties the shared containers and queues at every test): `make test`
starts one set per worker around pytest (scripts/with_emulators.py); a worker that finds none, as
in a bare `pytest` run, starts its own here."""
from __future__ import annotations

import os

import pytest

from tests.support import backends
from tests.support.emulators import ENV_NAMES, Emulators, exported_for


@pytest.fixture(scope="session")
def emulator_env():
    # Without -n there is no worker: that run takes the first set.
    given = exported_for(os.environ.get("PYTEST_XDIST_WORKER", "gw0"))
    if given:
        os.environ.update(given)
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
