"""Port: a dependency the deep health check (`GET /api/health?deep=1`) can probe."""
from __future__ import annotations

from typing import Protocol


class HealthCheck(Protocol):
    def check(self) -> None:
        """Returns if the dependency answers; raises otherwise (the message is never shown)."""
