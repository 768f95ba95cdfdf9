"""The images' API bodies: metadata (a patient's image, a referral's), the merge patch, the upload
ticket, the template."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from shared_code.api_schemas import Request, Response, Timestamp

View = Literal["distant", "close_up", "dermoscopic"]


class Quality(Response):
    issues: list[Literal["blurred", "too_dark", "overexposed", "too_small"]] = Field(
        description="Advice measured on the pixels (blurred, too dark, overexposed, too small) for the app "
                    "to show, e.g. to suggest a retake; never a reason the image was refused. Empty: none found.")


class ImageMetadata(Response):
    """What every stored photograph shows, a patient's or a referral's."""
    id: str
    takenAt: datetime | None = None
    uploadedAt: datetime
    note: str | None = None
    view: View | None = None
    width: int | None = None
    height: int | None = None
    contentType: str | None = None
    sizeBytes: int | None = None
    sha256: str | None = Field(None, description="Hex SHA-256 of the stored (metadata-stripped) image.")
    quality: Quality


class Image(ImageMetadata):
    folderId: str
    status: Literal["pending", "ready", "rejected"]
    rejectedReason: str | None = Field(None, description="Why an upload was refused: empty, too_large, "
                                       "unsupported_type, corrupt, truncated, too_many_pixels.")


class ReferralImage(ImageMetadata):
    """A photograph of a referral's lesion (always stored: a refused upload is a 422, never a record)."""
    referralId: str
    lesionId: str
    view: View


def _aware_past(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("must include a time zone (RFC 3339)")
    if value > datetime.now(timezone.utc) + timedelta(minutes=10):
        raise ValueError("must not be in the future")
    if value.year < 1990:
        raise ValueError("must be after 1990")
    return value


# When the photograph was taken: RFC 3339 with a zone, not in the future.
TakenAt = Annotated[Timestamp | None, AfterValidator(_aware_past),
                    Field(description="RFC 3339 with an offset, after 1990 and not in the future.")]
Note = Annotated[str | None, Field(max_length=1000)]


class ImagePatch(Request):
    """JSON merge patch: `note` and `takenAt` may change; `null` clears."""
    note: Note = None
    takenAt: TakenAt = None


class UploadStart(Request):
    takenAt: TakenAt = None
    note: Note = None
    view: View | None = None


class UploadTicket(Response):
    imageId: str
    uploadUrl: str = Field(description="PUT the image bytes here (Azure: add header x-ms-blob-type: BlockBlob).")
    expiresAt: datetime
    maxBytes: int


class TemplateIn(Request):
    imageId: str | None = Field(description="A ready image of this folder, or null for no template.")


class Template(Response):
    imageId: str | None
    image: Image | None = None
