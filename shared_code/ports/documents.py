"""Port: a JSON document store partitioned like Cosmos DB.

Documents are dicts with an `id`; each lives in one partition of one container. Writes carry
optimistic concurrency through ETags. Queries stay inside one partition: equality filters on
top-level fields and one ORDER BY field, paged by an opaque continuation string.

Every store counts its reads by kind (`point`, `query`), so tests can prove that a hot path such as
the clinician access check uses point reads only.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Stored:
    doc: dict[str, Any]
    etag: str


@dataclass(frozen=True)
class Page:
    items: list[Stored]
    continuation: str | None


@dataclass(frozen=True)
class Query:
    partition_key: str
    equals: dict[str, Any] = field(default_factory=dict)
    order_by: str = "id"
    descending: bool = False
    limit: int = 50
    continuation: str | None = None

    def index_fields(self) -> tuple[str, ...]:
        """The index that serves this query, field by field: the equality fields (sorted; each has
        one value, so they do not change the order), then the order field. Cosmos DB serves a filter
        with an ORDER BY from a composite index only when the ORDER BY names exactly these fields
        (infra/modules/cosmos-indexes.json holds one per query shape); SQLite gets an index of them."""
        return (*sorted(self.equals), self.order_by)


class ReadCounter:
    """Counts reads by kind. Shared by all adapters; `snapshot()` for before/after comparisons."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def count(self, kind: str) -> None:
        self._counts[kind] += 1

    def snapshot(self) -> dict[str, int]:
        return dict(self._counts)


class DocumentStore(Protocol):
    reads: ReadCounter

    def read(self, container: str, partition_key: str, id: str) -> Stored:
        """Point read. Raises NotFound."""

    def create(self, container: str, partition_key: str, doc: dict[str, Any]) -> Stored:
        """Insert. Raises Conflict if the id exists in that partition."""

    def replace(self, container: str, partition_key: str, doc: dict[str, Any], if_match: str | None) -> Stored:
        """Overwrite. Raises NotFound, or PreconditionFailed if `if_match` is stale."""

    def upsert(self, container: str, partition_key: str, doc: dict[str, Any]) -> Stored: ...

    def delete(self, container: str, partition_key: str, id: str, if_match: str | None = None) -> None:
        """Raises NotFound, or PreconditionFailed if `if_match` is stale."""

    def query(self, container: str, query: Query) -> Page: ...

    def delete_partition(self, container: str, partition_key: str) -> int:
        """Delete every document of one partition; returns how many. Used by erasure."""

    def check(self) -> None:
        """Deep health check."""
