"""Embedded document store: SQLite (WAL), one table, JSON bodies, ETags as random tokens.

Paging is keyset-based on (order value, id) and the continuation is opaque to callers, like
Cosmos DB's own continuation tokens.

Every query shape (its equality fields and its order field) gets an expression index the first time
it is asked for: (container, pk, the equality fields, the order field, id). A page then reads its
rows in index order and stops at the limit, so a page of 50 costs the same with 100 or 100,000
documents in the partition (`make bench`, section "scale"), as Cosmos DB's range indexes do."""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any

from pydantic_core import from_json

from shared_code.adapters.local.sqlite_util import SqliteDatabase
from shared_code.ports.documents import Page, Query, ReadCounter, Stored
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    container TEXT NOT NULL,
    pk TEXT NOT NULL,
    id TEXT NOT NULL,
    etag TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (container, pk, id)
) WITHOUT ROWID;
"""


def _new_etag() -> str:
    return f'"{uuid.uuid4()}"'


def _encode_continuation(value: Any, id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, id]).encode()).decode()


def _decode_continuation(token: str) -> tuple[Any, str]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(decoded, list):  # a two-key object would unpack into its keys
            raise ValueError("not a list")
        value, id = decoded
    except Exception as exc:  # noqa: BLE001 - any malformed token is the caller's error
        raise ValueError("malformed continuation token") from exc
    # The value is bound as an SQL parameter: only a JSON scalar can be one (a list or object would
    # make sqlite3 raise ProgrammingError, i.e. a 500 for a doctored token).
    if not isinstance(id, str) or not (value is None or isinstance(value, (str, int, float, bool))):
        raise ValueError("malformed continuation token")
    return value, id


class SqliteDocumentStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, _SCHEMA, "documents")
        self.reads = ReadCounter()
        self._indexed: set[tuple[str, ...]] = set()
        self._index_lock = threading.Lock()

    def _ensure_index(self, fields: tuple[str, ...]) -> None:
        """The expression index for one query shape (the module docstring); created once per store."""
        if fields in self._indexed:
            return
        with self._index_lock:
            if fields in self._indexed:
                return
            name = "ix_" + hashlib.sha256("|".join(fields).encode()).hexdigest()[:16]
            columns = ", ".join(f"json_extract(body, '$.{field}')" for field in fields)
            with self._db.transaction() as conn:
                conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON documents (container, pk, {columns}, id)")
            self._indexed.add(fields)

    def read(self, container: str, partition_key: str, id: str) -> Stored:
        self.reads.count("point")
        row = self._db.connect().execute(
            "SELECT body, etag FROM documents WHERE container=? AND pk=? AND id=?", (container, partition_key, id)
        ).fetchone()
        if row is None:
            raise NotFound(id)
        return Stored(_loads(row[0]), row[1])

    def create(self, container: str, partition_key: str, doc: dict[str, Any]) -> Stored:
        etag = _new_etag()
        with self._db.transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO documents (container, pk, id, etag, body) VALUES (?,?,?,?,?)",
                    (container, partition_key, doc["id"], etag, json.dumps(doc)),
                )
            except Exception as exc:
                if "UNIQUE" in str(exc):
                    raise Conflict(doc["id"]) from exc
                raise
        return Stored(doc, etag)

    def replace(self, container: str, partition_key: str, doc: dict[str, Any], if_match: str | None) -> Stored:
        etag = _new_etag()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT etag FROM documents WHERE container=? AND pk=? AND id=?", (container, partition_key, doc["id"])
            ).fetchone()
            if row is None:
                raise NotFound(doc["id"])
            if if_match is not None and row[0] != if_match:
                raise PreconditionFailed(doc["id"])
            conn.execute(
                "UPDATE documents SET etag=?, body=? WHERE container=? AND pk=? AND id=?",
                (etag, json.dumps(doc), container, partition_key, doc["id"]),
            )
        return Stored(doc, etag)

    def upsert(self, container: str, partition_key: str, doc: dict[str, Any]) -> Stored:
        etag = _new_etag()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO documents (container, pk, id, etag, body) VALUES (?,?,?,?,?) "
                "ON CONFLICT (container, pk, id) DO UPDATE SET etag=excluded.etag, body=excluded.body",
                (container, partition_key, doc["id"], etag, json.dumps(doc)),
            )
        return Stored(doc, etag)

    def delete(self, container: str, partition_key: str, id: str, if_match: str | None = None) -> None:
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT etag FROM documents WHERE container=? AND pk=? AND id=?", (container, partition_key, id)
            ).fetchone()
            if row is None:
                raise NotFound(id)
            if if_match is not None and row[0] != if_match:
                raise PreconditionFailed(id)
            conn.execute("DELETE FROM documents WHERE container=? AND pk=? AND id=?", (container, partition_key, id))

    def query(self, container: str, query: Query) -> Page:
        self.reads.count("query")
        where = ["container = ?", "pk = ?"]
        params: list[Any] = [container, query.partition_key]
        for field, value in query.equals.items():
            _check_field(field)
            where.append(f"json_extract(body, '$.{field}') IS ?")
            params.append(_sqlite_value(value))
        _check_field(query.order_by)
        self._ensure_index(query.index_fields())
        order_expr = f"json_extract(body, '$.{query.order_by}')"
        direction = "DESC" if query.descending else "ASC"
        if query.continuation:
            value, last_id = _decode_continuation(query.continuation)
            op = "<" if query.descending else ">"
            where.append(f"({order_expr} {op} ? OR ({order_expr} IS ? AND id {op} ?))")
            params += [_sqlite_value(value), _sqlite_value(value), last_id]
        sql = (
            f"SELECT body, etag, {order_expr} FROM documents WHERE {' AND '.join(where)} "
            f"ORDER BY {order_expr} {direction}, id {direction} LIMIT ?"
        )
        params.append(query.limit + 1)
        rows = self._db.connect().execute(sql, params).fetchall()
        items = [Stored(_loads(body), etag) for body, etag, _ in rows[: query.limit]]
        continuation = None
        if len(rows) > query.limit:
            last = items[-1].doc
            continuation = _encode_continuation(last.get(query.order_by), last["id"])
        return Page(items, continuation)

    def delete_partition(self, container: str, partition_key: str) -> int:
        with self._db.transaction() as conn:
            cursor = conn.execute("DELETE FROM documents WHERE container=? AND pk=?", (container, partition_key))
            return cursor.rowcount

    def check(self) -> None:
        self._db.check()


def _loads(body: str) -> dict[str, Any]:
    """A stored body: pydantic-core's JSON parser (in Rust, over twice json.loads' speed on these
    documents: a page of 50 parses 50), and json.loads for the one thing it refuses that json.dumps
    writes, a lone surrogate escaped in a string."""
    try:
        return from_json(body)
    except ValueError:
        return json.loads(body)


def _check_field(name: str) -> None:
    # Field names come from code, never from clients; refuse anything that is not a plain name.
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad field name {name!r}")


def _sqlite_value(value: Any) -> Any:
    # json_extract returns 1/0 for JSON booleans.
    if isinstance(value, bool):
        return int(value)
    return value
