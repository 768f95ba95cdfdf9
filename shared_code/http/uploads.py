"""An upload's bytes and fields as the routes that take image bytes read them: a patient's direct
upload, a referral's photograph (`direct_upload`), and the local upload URL's PUT (`admitted_body`).
The bytes are read only within one of the instance's upload slots (shared_code/images/admission.py)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import unquote

from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from shared_code.http.problems import Problem, validation_problem
from shared_code.images.admission import upload_admission
from shared_code.images.schemas import UploadStart

IMAGE_TYPES = ("image/jpeg", "image/png", "image/heic", "image/heif")
_upload_fields = TypeAdapter(UploadStart)


@dataclass
class AdmittedBody:
    """An upload's bytes while it holds one of the instance's upload slots; emptied as it gives it back."""

    data: bytes


@asynccontextmanager
async def admitted_body(request: Request) -> AsyncIterator[AdmittedBody]:
    """The request's bytes, read only once this instance may process them (shared_code/images/
    admission.py), else 503 `uploads-busy` with the body unread; process them inside the `async
    with`. They are dropped before the slot is given back, so the next upload's memory never adds
    to this one's: not `request.body()`, which keeps them on the request until the answer is sent."""
    async with upload_admission(request.app.state.container.get().settings).slot():
        # Into one growing buffer, each chunk dropped as it is copied: a list of the chunks, joined,
        # would scatter the body over the heap in pieces the allocator keeps after they are freed.
        received = bytearray()
        async for chunk in request.stream():
            received += chunk
        body = AdmittedBody(bytes(received))
        del received
        try:
            yield body
        finally:
            body.data = b""


@asynccontextmanager
async def direct_upload(request: Request, takenAt: str | None, note: str | None,
                        view: str | None) -> AsyncIterator[tuple[UploadStart, AdmittedBody]]:
    """A direct upload's fields (query parameters, or headers of the same names) and its bytes
    (`admitted_body`), as a patient's and a referral's upload take them: 415 for another content
    type, 422 for a bad field, before waiting for a slot."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise Problem(415, detail="Send the image as image/jpeg, image/png or image/heic.")
    fields = {"takenAt": takenAt or request.headers.get("takenAt"),
              "note": note if note is not None else _header_text(request, "note"),
              "view": view or request.headers.get("view")}
    try:
        meta = _upload_fields.validate_python({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise validation_problem(list(exc.errors())) from None
    async with admitted_body(request) as body:
        yield meta, body


def _header_text(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    return unquote(value) if value is not None else None
