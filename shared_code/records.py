"""The base of every stored record: a typed view of one document of the document port.

Repositories build records from documents (`from_stored`) and write them back (`to_doc`); nothing
above a repository handles a bare dict. Field names are Python's; the stored names are the
camelCase aliases, so documents keep the shape the API and the indexes know; unset optional
fields are left out. Unknown fields are
refused: a document this code did not write is a bug to see, not data to drop silently."""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from shared_code.ports.documents import DocumentStore, Stored
from shared_code.ports.errors import NotFound

R = TypeVar("R", bound="Record")


class Record(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              use_enum_values=False, validate_assignment=False)

    # The store's version of the document this record was read from (None: never stored).
    etag: str | None = Field(None, exclude=True)

    @classmethod
    def from_stored(cls: type[R], stored: Stored) -> R:
        return cls.model_validate({**stored.doc, "etag": stored.etag})

    def to_doc(self) -> dict[str, Any]:
        """Absent, not null: an unset optional field is left out of the document (a query for a
        field's value never matches a document that lacks it, on Cosmos DB and SQLite alike)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def but(self: R, **changes: Any) -> R:
        """A copy with `changes` (Python field names), the etag kept: what a guarded write sends."""
        return self.model_copy(update=changes)


def read_record(documents: DocumentStore, container: str, partition_key: str, id: str, cls: type[R]) -> R | None:
    """Point read of one record; absent, or a document of another type, is None (never another
    record type by mistake: ids of different types may share a partition)."""
    try:
        stored = documents.read(container, partition_key, id)
    except NotFound:
        return None
    return cls.from_stored(stored) if stored.doc.get("type") == cls.model_fields["type"].default else None
