"""In-memory DocumentStore, as strict as the strictest real adapter.

Documents are kept as JSON text, so every read is a fresh copy and a document that would not
survive the wire fails here too. Queries follow Cosmos DB where the adapters differ: equality is
typed (`true` is not `1`, a missing field is not `null`), and ORDER BY puts a missing field first,
then null, booleans, numbers, strings (ties broken by id, in the same direction). A continuation
names the query it belongs to; a foreign or malformed one raises ValueError, like both adapters.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from typing import Any

from shared_code.ports.documents import Page, Query, ReadCounter, Stored
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from tests.fakes.faults import Faults

_MISSING, _NULL, _BOOL, _NUMBER, _STRING, _OTHER = range(6)
_BAD_ID_CHARS = set("/\\?#")


class FakeDocumentStore:
    def __init__(self) -> None:
        self._partitions: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}  # -> id -> (json, etag)
        self._lock = threading.RLock()
        self.reads = ReadCounter()
        self.faults = Faults()

    def read(self, container: str, partition_key: str, id: str) -> Stored:
        self.reads.count("point")
        self.faults.before("read", container, partition_key, id)
        with self._lock:
            found = self._partition(container, partition_key).get(id)
        if found is None:
            raise NotFound(id)
        return _stored(found)

    def create(self, container: str, partition_key: str, doc: dict[str, Any]) -> Stored:
        self.faults.before("create", container, partition_key, doc.get("id"))
        with self._lock:
            items = self._partition(container, partition_key)
            if _id_of(doc) in items:
                raise Conflict(doc["id"])
            stored = self._put(items, doc)
        self.faults.after("create", container, partition_key, doc["id"])
        return stored

    def replace(self, container: str, partition_key: str, doc: dict[str, Any], if_match: str | None) -> Stored:
        self.faults.before("replace", container, partition_key, doc.get("id"))
        with self._lock:
            items = self._partition(container, partition_key)
            self._current(items, _id_of(doc), if_match)
            stored = self._put(items, doc)
        self.faults.after("replace", container, partition_key, doc["id"])
        return stored

    def upsert(self, container: str, partition_key: str, doc: dict[str, Any]) -> Stored:
        self.faults.before("upsert", container, partition_key, doc.get("id"))
        with self._lock:
            stored = self._put(self._partition(container, partition_key), doc)
        self.faults.after("upsert", container, partition_key, doc["id"])
        return stored

    def delete(self, container: str, partition_key: str, id: str, if_match: str | None = None) -> None:
        self.faults.before("delete", container, partition_key, id)
        with self._lock:
            items = self._partition(container, partition_key)
            self._current(items, id, if_match)
            del items[id]
        self.faults.after("delete", container, partition_key, id)

    def query(self, container: str, query: Query) -> Page:
        self.reads.count("query")
        self.faults.before("query", container, query)
        for name in (*query.equals, query.order_by):
            _check_field(name)
        wanted = {name: _json(value) for name, value in query.equals.items()}
        scope = _fingerprint(container, query)
        after = _decode(query.continuation, scope) if query.continuation else None
        with self._lock:
            found = [_stored(item) for item in self._partition(container, query.partition_key).values()]
        matching = [s for s in found if all(name in s.doc and _same(s.doc[name], value) for name, value in wanted.items())]
        matching.sort(key=lambda s: _key(s.doc, query.order_by), reverse=query.descending)
        if after is not None:
            matching = [s for s in matching
                        if (_key(s.doc, query.order_by) < after if query.descending else _key(s.doc, query.order_by) > after)]
        items = matching[: max(query.limit, 1)]
        more = len(matching) > len(items)
        return Page(items, _encode(_key(items[-1].doc, query.order_by), scope) if more else None)

    def delete_partition(self, container: str, partition_key: str) -> int:
        self.faults.before("delete_partition", container, partition_key)
        with self._lock:
            return len(self._partitions.pop((container, partition_key), {}))

    def check(self) -> None:
        self.faults.before("check")

    # -- internals -----------------------------------------------------------------------------------

    def _partition(self, container: str, partition_key: str) -> dict[str, tuple[str, str]]:
        return self._partitions.setdefault((container, partition_key), {})

    @staticmethod
    def _current(items: dict[str, tuple[str, str]], id: str, if_match: str | None) -> None:
        if id not in items:
            raise NotFound(id)
        if if_match is not None and items[id][1] != if_match:
            raise PreconditionFailed(id)

    @staticmethod
    def _put(items: dict[str, tuple[str, str]], doc: dict[str, Any]) -> Stored:
        entry = (json.dumps(doc), f'"{uuid.uuid4()}"')
        items[_id_of(doc)] = entry
        return _stored(entry)


def _stored(entry: tuple[str, str]) -> Stored:
    return Stored(json.loads(entry[0]), entry[1])


def _id_of(doc: dict[str, Any]) -> str:
    id = doc["id"]
    # Cosmos DB refuses these ids; SQLite would take them. Refuse them here so local runs cannot hide one.
    if not isinstance(id, str) or not id or len(id) > 255 or _BAD_ID_CHARS & set(id):
        raise ValueError(f"bad document id {id!r}")
    return id


def _check_field(name: str) -> None:
    # Field names come from code, never from clients; refuse anything that is not a plain name.
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad field name {name!r}")


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return type(stored) is type(wanted) and stored == wanted
    return stored == wanted


def _key(doc: dict[str, Any], field: str) -> tuple[int, Any, str]:
    """Where `doc` stands in ORDER BY `field`: (type rank, comparable value, id)."""
    if field not in doc:
        return _MISSING, 0, doc["id"]
    value = doc[field]
    if value is None:
        return _NULL, 0, doc["id"]
    if isinstance(value, bool):
        return _BOOL, int(value), doc["id"]
    if isinstance(value, (int, float)):
        return _NUMBER, value, doc["id"]
    if isinstance(value, str):
        return _STRING, value, doc["id"]
    return _OTHER, json.dumps(value, sort_keys=True), doc["id"]


def _fingerprint(container: str, query: Query) -> str:
    what = [container, query.partition_key, sorted(query.equals), query.order_by, query.descending]
    return hashlib.sha256(json.dumps(what, default=str).encode()).hexdigest()[:12]


def _encode(key: tuple[int, Any, str], scope: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([scope, *key]).encode()).decode()


def _decode(token: str, scope: str) -> tuple[int, Any, str]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(decoded, list):  # an object would unpack into its keys
            raise ValueError("not a list")
        token_scope, rank, value, id = decoded
    except Exception as exc:  # noqa: BLE001 - any malformed token is the caller's error
        raise ValueError("malformed continuation token") from exc
    valid_value = {
        _MISSING: value == 0, _NULL: value == 0, _BOOL: value in (0, 1),
        _NUMBER: isinstance(value, (int, float)) and not isinstance(value, bool),
        _STRING: isinstance(value, str), _OTHER: isinstance(value, str),
    }
    if token_scope != scope or not isinstance(id, str) or type(rank) is not int or not valid_value.get(rank, False):
        raise ValueError("malformed continuation token")
    return rank, value, id
