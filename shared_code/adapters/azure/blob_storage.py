"""Azure adapter of the blob port: azure-storage-blob. Only imported when azure adapters are built."""
from __future__ import annotations

from typing import Iterable, Iterator

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from shared_code.ports.blobs import BlobInfo
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import IMAGES_CONTAINER

_CHUNK = 4 << 20


class _ChunkReader:
    """Presents an iterable of chunks as a file-like object so uploads stream in blocks."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


def _info(name: str, props) -> BlobInfo:
    return BlobInfo(name, props.etag, props.size, props.last_modified)


class AzureBlobStore:
    def __init__(self, service: BlobServiceClient):
        self._service = service

    def _blob(self, container: str, name: str):
        return self._service.get_blob_client(container, name)

    def put(self, container: str, name: str, chunks: Iterable[bytes], *, overwrite: bool = True) -> BlobInfo:
        blob = self._blob(container, name)
        try:
            blob.upload_blob(_ChunkReader(chunks), overwrite=overwrite, max_concurrency=1)
        except ResourceExistsError:
            raise Conflict(name) from None
        return _info(name, blob.get_blob_properties())

    def info(self, container: str, name: str) -> BlobInfo:
        try:
            return _info(name, self._blob(container, name).get_blob_properties())
        except ResourceNotFoundError:
            raise NotFound(name) from None

    def open(self, container: str, name: str, *, if_match: str | None = None) -> tuple[BlobInfo, Iterator[bytes]]:
        kwargs = {"etag": if_match, "match_condition": MatchConditions.IfNotModified} if if_match else {}
        try:
            downloader = self._blob(container, name).download_blob(max_concurrency=1, **kwargs)
        except ResourceNotFoundError:
            raise NotFound(name) from None
        except ResourceModifiedError:
            raise PreconditionFailed(name) from None
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise PreconditionFailed(name) from None
            raise
        # The downloader pins the ETag it first saw, so later chunks cannot come from another version.
        return _info(name, downloader.properties), downloader.chunks()

    def delete(self, container: str, name: str) -> None:
        try:
            self._blob(container, name).delete_blob(delete_snapshots="include")
        except ResourceNotFoundError:
            pass

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        client = self._service.get_container_client(container)
        try:
            for props in client.list_blobs(name_starts_with=prefix or None):
                yield _info(props.name, props)
        except ResourceNotFoundError:
            return

    def check(self) -> None:
        """A small read in the app's own container (list at most one blob): what the data-plane
        role allows. Service-properties calls need more than the app's identity is given."""
        pages = self._service.get_container_client(IMAGES_CONTAINER).list_blobs(results_per_page=1).by_page()
        next(pages, None)
