"""The problem vocabulary (RFC 9457) shared by the domain and the HTTP layer.

Services raise `Problem` with a status and a stable slug; `shared_code.http.problems` renders it.
This module imports nothing from the web framework, so the domain stays free of it."""
from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://telederm.dev/problems/"

_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "Validation failed"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}


class Problem(Exception):
    """Raise anywhere below the HTTP layer's handlers to answer with a problem document."""

    def __init__(self, status: int, slug: str | None = None, title: str | None = None, detail: str | None = None,
                 headers: dict[str, str] | None = None, **extensions: Any):
        default_slug, default_title = _TITLES.get(status, ("error", "Error"))
        self.status = status
        self.slug = slug or default_slug
        self.title = title or default_title
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions
        super().__init__(self.slug)


