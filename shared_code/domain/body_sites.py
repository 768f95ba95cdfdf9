"""Body sites a folder may name: SNOMED CT codes (all is-a 442083009 anatomical structure), with
laterality as SNOMED qualifiers. The FHIR export uses the same table."""
from __future__ import annotations

SNOMED = "http://snomed.info/sct"

BODY_SITES: dict[str, str] = {
    "39937001": "Skin structure",
    "89545001": "Face",
    "41695006": "Scalp",
    "45048000": "Neck",
    "302551006": "Entire thorax",
    "77568009": "Back of trunk",
    "113345001": "Abdomen",
    "16982005": "Shoulder region",
    "53120007": "Upper limb",
    "14975008": "Forearm",
    "85562004": "Hand",
    "29836001": "Hip region",
    "61685007": "Lower limb",
    "68367000": "Thigh",
    "56459004": "Foot",
}

LATERALITY_ATTRIBUTE = "272741003"
LATERALITY: dict[str, tuple[str, str]] = {"right": ("24028007", "Right"), "left": ("7771000", "Left")}
