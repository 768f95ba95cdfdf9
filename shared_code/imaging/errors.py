"""Why an upload was refused, as a stable code the app can show or translate.

The codes are part of the API contract with the mobile app: add new ones, never rename them.
The message is for logs and support staff; it never contains image content or metadata values.
"""
from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    EMPTY = "empty"                      # zero bytes
    TOO_LARGE = "too_large"              # more bytes than the caller allows
    UNSUPPORTED_TYPE = "unsupported_type"  # not JPEG/PNG/HEIC, or a variant browsers cannot show
    CORRUPT = "corrupt"                  # structure or pixel data does not decode
    TRUNCATED = "truncated"              # the data ends before the image does
    TOO_MANY_PIXELS = "too_many_pixels"  # declared dimensions exceed the pixel limit (bomb guard)


class ImageRejected(Exception):
    """The upload is not an image we will store. `reason_code` is a `Reason` (a str)."""

    def __init__(self, reason_code: Reason, message: str) -> None:
        super().__init__(f"{reason_code}: {message}")
        self.reason_code = Reason(reason_code)
        self.message = message
