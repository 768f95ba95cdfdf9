"""The one container of a worker process, shared by the HTTP app and every trigger Blueprint.

Built lazily on first use (never at import). `make run` installs its own container here, so the
local trigger runner and the HTTP app share it too."""
from __future__ import annotations

from typing import TYPE_CHECKING

from shared_code.lazy import Lazy

if TYPE_CHECKING:
    from shared_code.container import Container


def _from_environment() -> "Container":
    from shared_code.container import container_from_environment

    return container_from_environment()


_lazy: Lazy["Container"] = Lazy(_from_environment)


def get_container() -> "Container":
    return _lazy.get()


def install(container: "Container") -> None:
    global _lazy
    _lazy = Lazy(lambda: container)
