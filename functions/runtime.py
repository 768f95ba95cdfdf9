"""The one container of a worker process, shared by the HTTP app and every trigger Blueprint.

Built lazily on first use (never at import). `make run` installs its own container here, so the
local trigger runner and the HTTP app share it too."""
from __future__ import annotations

from shared_code.container import Container, LazyContainer, container_from_environment

_lazy = LazyContainer(container_from_environment)


def get_container() -> Container:
    return _lazy.get()


def install(container: Container) -> None:
    global _lazy
    _lazy = LazyContainer(lambda: container)
