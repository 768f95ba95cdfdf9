"""Which lesions an AI decision-support result may recommend discharging (NICE HTE24 for DERM: autonomous
use only for Fitzpatrick I-IV; ulcerated and subungual lesions go straight to a dermatologist; and no
recommendation from a poor photograph). Pure functions of the referral; no I/O.

Where each fact comes from (the API's fields are fixed, so nothing new is asked of the referrer):
- Fitzpatrick V or VI: the history's `fitzpatrickSkinType`.
- ulcerated: the lesion's `description` names an ulcer (`ulcer`, `ulcerated`, `ulceration`, ...).
- subungual: the description says so (`subungual`, `nail bed`, `under the nail`): the body-site
  vocabulary (shared_code/domain/body_sites.py) has no nail structure, a subungual lesion is filed
  under the hand or the foot.
- poor quality: the assessed (dermoscopic) image has any quality issue (`blurred`, `too_dark`,
  `overexposed`, `too_small`: shared_code/referrals/images.py measures them).
Reading free text errs one way only: a description that mentions an ulcer or a nail without the
lesion being one makes the result ineligible for discharge (a dermatologist decides), never the
reverse. The referral's detail carries the reason, so the reviewer sees why.

An ineligible result never carries a `discharge` recommendation: it is shown as `refer`."""
from __future__ import annotations

import re

from shared_code.images.records import View
from shared_code.referrals.records import (
    FitzpatrickType, IneligibleReason, Lesion, LesionImage, Recommendation, Referral,
)

_DARK_SKIN = frozenset({FitzpatrickType.V, FitzpatrickType.VI})
_ULCERATED = re.compile(r"\bulcer", re.IGNORECASE)
_SUBUNGUAL = re.compile(r"\bsub-?ungual|\bnail[ -]?bed|\bunder (?:the |a )?(?:finger|toe)?nail", re.IGNORECASE)


def dermoscopic_image(lesion: Lesion) -> LesionImage | None:
    """The image an assessment is made of: the lesion's newest dermoscopic photograph."""
    found = [image for image in lesion.images if image.view is View.DERMOSCOPIC]
    return found[-1] if found else None


def ineligible_reason(referral: Referral, lesion: Lesion, quality_issues: list[str]) -> IneligibleReason | None:
    """The first reason a discharge recommendation may not stand, or None (eligible)."""
    if referral.history.fitzpatrick_skin_type in _DARK_SKIN:
        return IneligibleReason.FITZPATRICK_V_VI
    description = lesion.description or ""
    if _ULCERATED.search(description):
        return IneligibleReason.ULCERATED
    if _SUBUNGUAL.search(description):
        return IneligibleReason.SUBUNGUAL
    if quality_issues:
        return IneligibleReason.POOR_QUALITY
    return None


def shown_recommendation(recommendation: Recommendation, reason: IneligibleReason | None) -> Recommendation:
    return Recommendation.REFER if reason is not None else recommendation
