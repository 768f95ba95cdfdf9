"""A trigger's local twin: what `make run` calls, and how often, in place of the Functions host.
Each Blueprint module lists its own in LOCAL_JOBS; functions/local_triggers.py runs them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from shared_code.container import Container


@dataclass(frozen=True)
class LocalJob:
    name: str
    every_seconds: float
    run: Callable[["Container"], None]
    # A span per run (the Azure timer's twin); off for a queue poller, whose messages have their own.
    traced: bool = True
