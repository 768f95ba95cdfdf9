"""Azure adapter of the document port: azure-cosmos. Only imported when azure adapters are built.

Every container is partitioned on /pk; the adapter writes `pk` into each document so the partition
key value is part of the stored item, as Cosmos DB requires."""
from __future__ import annotations

from typing import Any

from azure.core import MatchConditions
from azure.cosmos import DatabaseProxy
from azure.cosmos.exceptions import CosmosAccessConditionFailedError, CosmosHttpResponseError, CosmosResourceExistsError, CosmosResourceNotFoundError

from shared_code.ports.documents import Page, Query, ReadCounter, Stored
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import DIRECTORY

# Cosmos puts its own properties on every item; the domain never sees them.
_SYSTEM = ("_rid", "_self", "_etag", "_attachments", "_ts", "pk")


def _clean(item: dict[str, Any]) -> Stored:
    etag = item.get("_etag", "")
    return Stored({k: v for k, v in item.items() if k not in _SYSTEM}, etag)


def _check_field(name: str) -> None:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad field name {name!r}")


class CosmosDocumentStore:
    def __init__(self, database: DatabaseProxy):
        self._database = database
        self._containers: dict[str, Any] = {}
        self.reads = ReadCounter()

    def _c(self, name: str):
        if name not in self._containers:
            self._containers[name] = self._database.get_container_client(name)
        return self._containers[name]

    @staticmethod
    def _body(partition_key: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "pk": partition_key}

    def read(self, container: str, partition_key: str, id: str) -> Stored:
        self.reads.count("point")
        try:
            return _clean(self._c(container).read_item(id, partition_key=partition_key))
        except CosmosResourceNotFoundError:
            raise NotFound(id) from None

    def create(self, container: str, partition_key: str, doc: dict[str, Any]) -> Stored:
        try:
            return _clean(self._c(container).create_item(self._body(partition_key, doc)))
        except CosmosResourceExistsError:
            raise Conflict(doc["id"]) from None

    def replace(self, container: str, partition_key: str, doc: dict[str, Any], if_match: str | None) -> Stored:
        kwargs = {"etag": if_match, "match_condition": MatchConditions.IfNotModified} if if_match else {}
        try:
            return _clean(self._c(container).replace_item(doc["id"], self._body(partition_key, doc), **kwargs))
        except CosmosResourceNotFoundError:
            raise NotFound(doc["id"]) from None
        except CosmosAccessConditionFailedError:
            raise PreconditionFailed(doc["id"]) from None

    def upsert(self, container: str, partition_key: str, doc: dict[str, Any]) -> Stored:
        return _clean(self._c(container).upsert_item(self._body(partition_key, doc)))

    def delete(self, container: str, partition_key: str, id: str, if_match: str | None = None) -> None:
        kwargs = {"etag": if_match, "match_condition": MatchConditions.IfNotModified} if if_match else {}
        try:
            self._c(container).delete_item(id, partition_key=partition_key, **kwargs)
        except CosmosResourceNotFoundError:
            raise NotFound(id) from None
        except CosmosAccessConditionFailedError:
            raise PreconditionFailed(id) from None

    def query(self, container: str, query: Query) -> Page:
        self.reads.count("query")
        clauses, params = ["c.pk = @pk"], [{"name": "@pk", "value": query.partition_key}]
        for n, (field, value) in enumerate(query.equals.items()):
            _check_field(field)
            clauses.append(f"c.{field} = @v{n}")
            params.append({"name": f"@v{n}", "value": value})
        _check_field(query.order_by)
        direction = "DESC" if query.descending else "ASC"
        # ORDER BY the index's fields (the equality fields lead; each has one value, so the order is
        # the same): only then is the page read from the composite index in index order.
        order = ", ".join(f"c.{field} {direction}" for field in query.index_fields())
        sql = f"SELECT * FROM c WHERE {' AND '.join(clauses)} ORDER BY {order}"
        pages = self._c(container).query_items(
            sql, parameters=params, partition_key=query.partition_key, max_item_count=query.limit
        ).by_page(query.continuation)
        try:
            items = [_clean(item) for item in next(pages)]
        except StopIteration:
            items = []
        except CosmosHttpResponseError as exc:
            if exc.status_code == 400 and query.continuation:
                raise ValueError("malformed continuation token") from exc
            raise
        return Page(items, pages.continuation_token or None)

    def delete_partition(self, container: str, partition_key: str) -> int:
        client = self._c(container)
        ids = [
            item["id"]
            for item in client.query_items(
                "SELECT c.id FROM c WHERE c.pk = @pk",
                parameters=[{"name": "@pk", "value": partition_key}],
                partition_key=partition_key,
            )
        ]
        for id in ids:
            try:
                client.delete_item(id, partition_key=partition_key)
            except CosmosResourceNotFoundError:
                pass
        return len(ids)

    def check(self) -> None:
        """A point read in the app's own container (an id that is never written, so 404 is the
        healthy answer): what the data-plane role allows, unlike reading the database's metadata."""
        try:
            self._database.get_container_client(DIRECTORY).read_item("health-probe", partition_key="health-probe")
        except CosmosResourceNotFoundError:
            pass
