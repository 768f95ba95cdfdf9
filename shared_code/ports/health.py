"""Port: a dependency the deep health check (`GET /api/health?deep=1`) can probe.

A probe does what the app itself does, with only the rights the app has: in Azure a small
data-plane read in the app's own container or queue (the data roles refuse account-level calls
such as service properties, so those would report a healthy store as failing); locally a real small
write (a full disk or a read-only directory fails the probe as it would fail an upload)."""
from __future__ import annotations

from typing import Protocol


class HealthCheck(Protocol):
    def check(self) -> None:
        """Returns if the dependency answers; raises otherwise (the deep check shows the exception's
        type, e.g. `StorageFull`, never its message)."""
