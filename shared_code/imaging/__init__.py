"""Uploaded photographs: prove the type by decoding, strip identifying metadata without touching
pixels, record size/hash/time, make a thumbnail and measure quality (advice, never a refusal). In
memory only: plaintext images never touch disk. See `process` for the flow and `heic` for why HEIC is stored as JPEG."""
from .errors import ImageRejected, Reason
from .process import DEFAULT_MAX_BYTES, DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_PIXELS, ProcessedImage, process_image
from .quality import QualityIssue

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DECODED_BYTES",
    "DEFAULT_MAX_PIXELS",
    "ImageRejected",
    "ProcessedImage",
    "QualityIssue",
    "Reason",
    "process_image",
]
