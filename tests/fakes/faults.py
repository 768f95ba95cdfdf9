"""Scripted failures for the fakes: what an outage or a crash looks like to the code under test.

    queue.faults.fail("send", ConnectionError("queue down"))          # the next send raises
    documents.faults.fail("delete", TimeoutError(), times=None,        # every delete of a marker
                          when=lambda container, pk, id, *_: pk == "outbox")
    documents.faults.fail("replace", TimeoutError(), after=True)       # written, answer lost

A fake calls `before(operation, *args)` when an operation starts and `after(...)` once its effect
is done; a rule fires on the first matching call, `times` times (None: for ever)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class _Rule:
    operation: str
    error: BaseException
    times: int | None
    when: Callable[..., bool] | None
    after: bool


class Faults:
    def __init__(self) -> None:
        self._rules: list[_Rule] = []

    def fail(self, operation: str, error: BaseException, *, times: int | None = 1,
             when: Callable[..., bool] | None = None, after: bool = False) -> None:
        self._rules.append(_Rule(operation, error, times, when, after))

    def clear(self) -> None:
        self._rules.clear()

    def before(self, operation: str, *args: Any) -> None:
        self._fire(operation, False, args)

    def after(self, operation: str, *args: Any) -> None:
        self._fire(operation, True, args)

    def _fire(self, operation: str, after: bool, args: tuple[Any, ...]) -> None:
        for rule in self._rules:
            if rule.operation == operation and rule.after == after and (rule.when is None or rule.when(*args)):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                raise rule.error
