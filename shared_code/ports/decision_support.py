"""Port: an AI decision-support provider that assesses one dermoscopic image of a skin lesion
(services such as Skin Analytics' DERM). Advisory only: the answer is shown to the service's
reviewers beside the images, and never changes a referral.

What goes to the provider: the image bytes, their content type, and a context WITHOUT the patient's
identity (`AssessmentContext`: the view, the SNOMED body site, the lesion's size; no name, NHS number,
date of birth or free text). What comes back: the model's version, its one suspected class, the
risk tier and its recommendation. Eligibility (skin type, ulceration, site, image quality) is this
service's rule (shared_code/referrals/decision_support.py), not the provider's.

No adapter is configured locally: then nothing is ever sent."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared_code.referrals.records import Recommendation, RiskTier


class DecisionSupportError(Exception):
    """The provider gave no usable answer. `code` is a short reason, never the provider's text."""
    code = "unavailable"


class Throttled(DecisionSupportError):
    """429: try again after `retry_after` seconds (None: the provider did not say)."""
    code = "throttled"

    def __init__(self, retry_after: float | None):
        super().__init__(f"throttled (Retry-After {retry_after})")
        self.retry_after = retry_after


class Unavailable(DecisionSupportError):
    """Network failure, timeout, 5xx, or the credential was refused: try again later."""
    code = "unavailable"


class Malformed(DecisionSupportError):
    """An answer this adapter cannot read (not JSON, a field missing, a value outside the vocabulary)."""
    code = "malformed"


class Rejected(DecisionSupportError):
    """The provider refuses this image for good (4xx other than 401/403/429): no retry helps."""
    code = "rejected"


@dataclass(frozen=True)
class AssessmentContext:
    view: str                     # always "dermoscopic" today
    body_site: str                # SNOMED CT code
    laterality: str | None = None
    size_mm: float | None = None


@dataclass(frozen=True)
class Assessment:
    model_version: str
    predicted_class: str
    risk_tier: RiskTier
    recommendation: Recommendation


class DecisionSupportProvider(Protocol):
    name: str  # shown with every result (e.g. "DERM")

    def assess(self, image: bytes, content_type: str, context: AssessmentContext) -> Assessment:
        """Raises Throttled, Unavailable, Malformed or Rejected."""
