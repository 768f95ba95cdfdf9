"""The document store contract, run on SQLite, on azure-cosmos against cosmosdb-server, and on the fake."""
import base64

import pytest

from shared_code.ports.documents import Query
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed

C = "contract"


def test_create_then_point_read_returns_the_document_and_an_etag(family):
    stored = family.documents.create(C, "p1", {"id": "a", "n": 1, "nested": {"x": [1, 2]}})
    read = family.documents.read(C, "p1", "a")
    assert read.doc == {"id": "a", "n": 1, "nested": {"x": [1, 2]}}
    assert read.etag == stored.etag and read.etag


def test_create_twice_conflicts_and_keeps_the_first(family):
    family.documents.create(C, "p1", {"id": "a", "n": 1})
    with pytest.raises(Conflict):
        family.documents.create(C, "p1", {"id": "a", "n": 2})
    assert family.documents.read(C, "p1", "a").doc["n"] == 1


def test_partitions_are_separate(family):
    family.documents.create(C, "p1", {"id": "a", "n": 1})
    family.documents.create(C, "p2", {"id": "a", "n": 2})
    assert family.documents.read(C, "p2", "a").doc["n"] == 2
    with pytest.raises(NotFound):
        family.documents.read(C, "p3", "a")


def test_replace_with_a_stale_etag_fails_and_changes_nothing(family):
    first = family.documents.create(C, "p1", {"id": "a", "n": 1})
    second = family.documents.replace(C, "p1", {"id": "a", "n": 2}, if_match=first.etag)
    assert second.etag != first.etag
    with pytest.raises(PreconditionFailed):
        family.documents.replace(C, "p1", {"id": "a", "n": 3}, if_match=first.etag)
    assert family.documents.read(C, "p1", "a").doc["n"] == 2


def test_replace_and_delete_of_a_missing_document_is_not_found(family):
    with pytest.raises(NotFound):
        family.documents.replace(C, "p1", {"id": "zz"}, if_match=None)
    with pytest.raises(NotFound):
        family.documents.delete(C, "p1", "zz")


def test_delete_with_stale_etag_fails_then_succeeds_with_current(family):
    first = family.documents.create(C, "p1", {"id": "a", "n": 1})
    current = family.documents.upsert(C, "p1", {"id": "a", "n": 2})
    with pytest.raises(PreconditionFailed):
        family.documents.delete(C, "p1", "a", if_match=first.etag)
    family.documents.delete(C, "p1", "a", if_match=current.etag)
    with pytest.raises(NotFound):
        family.documents.read(C, "p1", "a")


def test_query_filters_orders_and_pages_with_continuation(family):
    for i in range(7):
        family.documents.create(C, "p1", {"id": f"d{i}", "kind": "folder", "rank": 10 - i})
    family.documents.create(C, "p1", {"id": "other", "kind": "image", "rank": 0})
    family.documents.create(C, "p2", {"id": "elsewhere", "kind": "folder", "rank": 0})
    seen, continuation = [], None
    for _ in range(10):
        page = family.documents.query(C, Query("p1", {"kind": "folder"}, order_by="rank", limit=3, continuation=continuation))
        assert len(page.items) <= 3
        seen += [s.doc["id"] for s in page.items]
        continuation = page.continuation
        if not continuation:
            break
    assert seen == [f"d{i}" for i in reversed(range(7))]


def test_query_descending(family):
    for i in range(3):
        family.documents.create(C, "p1", {"id": f"d{i}", "kind": "x", "at": f"2026-01-0{i + 1}"})
    page = family.documents.query(C, Query("p1", {"kind": "x"}, order_by="at", descending=True, limit=50))
    assert [s.doc["id"] for s in page.items] == ["d2", "d1", "d0"]
    assert page.continuation is None


def test_reads_are_counted_by_kind(family):
    family.documents.create(C, "p1", {"id": "a", "kind": "x"})
    before = family.documents.reads.snapshot()
    family.documents.read(C, "p1", "a")
    family.documents.read(C, "p1", "a")
    family.documents.query(C, Query("p1", {"kind": "x"}))
    after = family.documents.reads.snapshot()
    assert after.get("point", 0) - before.get("point", 0) == 2
    assert after.get("query", 0) - before.get("query", 0) == 1


def test_delete_partition_removes_only_that_partition(family):
    for i in range(3):
        family.documents.create(C, "p1", {"id": f"d{i}"})
    family.documents.create(C, "p2", {"id": "keep"})
    assert family.documents.delete_partition(C, "p1") == 3
    assert family.documents.query(C, Query("p1")).items == []
    assert family.documents.read(C, "p2", "keep").doc == {"id": "keep"}


def test_check_passes(family):
    family.documents.check()


def _doctored(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode()


DOCTORED = {  # shaped like the embedded adapter's [value, id] and the fake's [scope, rank, value, id]
    "list-as-value": _doctored('[[1, 2], "d1"]'),
    "object-as-value": _doctored('[{"a": 1}, "d1"]'),
    "object-as-token": _doctored('{"value": 1, "id": "d1"}'),
    "object-of-four": _doctored('{"a": 1, "b": 2, "c": 3, "d": 4}'),
    "list-as-id": _doctored('[1, ["d1"]]'),
    "scope-and-list": _doctored('["x", 3, [1], "d1"]'),
    "not-base64": "%%%",
    "not-json": _doctored("not json"),
}


@pytest.mark.parametrize("token", DOCTORED.values(), ids=DOCTORED.keys())
def test_a_doctored_continuation_is_refused_as_a_value_error(family, token):
    """The paging module turns ValueError into 400 invalid-continuation; anything else would be a 500."""
    for i in range(3):
        family.documents.create(C, "p1", {"id": f"d{i}", "kind": "folder", "rank": i})
    try:
        family.documents.query(C, Query("p1", {"kind": "folder"}, order_by="rank", limit=2, continuation=token))
    except ValueError:
        return
    # Cosmos DB answers 400 to a continuation it did not issue (the adapter maps that to ValueError);
    # cosmosdb-server instead ignores a token it cannot parse and starts from the beginning. Either
    # way no other exception (a 500) escapes; the embedded adapter and the fake must refuse it.
    assert family.name == "azure"
