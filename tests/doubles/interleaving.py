"""Interleaving: a DocumentStore (any adapter or fake) that runs another instance's work at one
chosen moment of this instance's: just before its first delete of one document. Two instances over
the same store can so be made to race deterministically (no threads, no timing): instance A has
decided and not yet acted when instance B runs start to end."""
from __future__ import annotations

from typing import Any, Callable


class BeforeDelete:
    def __init__(self, inner: Any, container: str, doc_id: str, then: Callable[[], None]):
        self._inner, self._container, self._doc_id = inner, container, doc_id
        self._then: Callable[[], None] | None = then

    def delete(self, container: str, partition_key: str, id: str, if_match: str | None = None) -> None:
        if (container, id) == (self._container, self._doc_id) and self._then is not None:
            then, self._then = self._then, None
            then()
        return self._inner.delete(container, partition_key, id, if_match)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
