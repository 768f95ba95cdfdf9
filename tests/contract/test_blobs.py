"""The blob store contract, run on files, on azure-storage-blob against Azurite, and on the fake."""
import pytest

from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed

C = "contract"


def _read(family, name, **kw):
    info, chunks = family.blobs.open(C, name, **kw)
    return info, b"".join(chunks)


def test_put_streams_chunks_and_open_returns_the_same_bytes(family):
    chunks = [bytes([i]) * 300_000 for i in range(20)]  # 6 MB in uneven pieces
    info = family.blobs.put(C, "a/b/c", iter(chunks))
    assert info.size == 6_000_000
    read_info, data = _read(family, "a/b/c")
    assert data == b"".join(chunks)
    assert read_info.etag == info.etag


def test_overwrite_false_conflicts_and_keeps_the_first(family):
    family.blobs.put(C, "x", [b"first"])
    with pytest.raises(Conflict):
        family.blobs.put(C, "x", [b"second"], overwrite=False)
    assert _read(family, "x")[1] == b"first"


def test_etag_changes_on_overwrite_and_if_match_refuses_the_old_one(family):
    old = family.blobs.put(C, "x", [b"one"])
    new = family.blobs.put(C, "x", [b"two"])
    assert old.etag != new.etag
    with pytest.raises(PreconditionFailed):
        family.blobs.open(C, "x", if_match=old.etag)
    assert _read(family, "x", if_match=new.etag)[1] == b"two"


def test_missing_blob_is_not_found_and_delete_is_idempotent(family):
    with pytest.raises(NotFound):
        family.blobs.open(C, "nope")
    with pytest.raises(NotFound):
        family.blobs.info(C, "nope")
    family.blobs.put(C, "gone", [b"x"])
    family.blobs.delete(C, "gone")
    family.blobs.delete(C, "gone")
    with pytest.raises(NotFound):
        family.blobs.info(C, "gone")


def test_list_by_prefix(family):
    for name in ("p1/a", "p1/b", "p2/a"):
        family.blobs.put(C, name, [b"x"])
    assert sorted(i.name for i in family.blobs.list(C, "p1/")) == ["p1/a", "p1/b"]


def test_empty_blob(family):
    family.blobs.put(C, "empty", [])
    assert _read(family, "empty") [1] == b""


def test_check_passes(family):
    family.blobs.check()
