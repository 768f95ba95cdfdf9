"""EPR export: one photograph as a FHIR R4 Bundle (`collection`), built and validated with
`fhir.resources.R4B` (R4B's Media has the R4 shape).

Entries: the Patient (NHS number identifier when the patient gave one, with UK Core's NHS number
verification status: `01` traced, `02` present but not traced), the clinic as Organization,
the photograph as Media (R4; gone in R5) AND as DocumentReference (what R5 and most EPRs file), both
carrying the same image inline, and the Consent the share rests on.

Codes used, and why:
- Media.modality: DICOM `XC` (external-camera photography), system http://dicom.nema.org/resources/ontology/DCM.
- Media.view: text only (distant / close-up / dermoscopic): no SNOMED CT view codes have been
  verified for these, and a wrong code in a record is worse than none.
- Media.bodySite: the folder's SNOMED CT body structure; with laterality as a post-coordinated
  expression `<site>:272741003=<side>` (FHIR allows SNOMED CT expressions as codes).
- DocumentReference.type: LOINC 72170-4 "Photographic image" (check against the trust's EPR
  document-type mapping when integrating).
- Consent: scope `patient-privacy`, category LOINC 59284-0, provision `permit` with the share's
  period, the clinic as actor (role IRCP, information recipient), purposes as v3-ActReason
  PurposeOfUse: TREAT (clinical_care, medical_record), HRESCH (research), TRAIN (teaching) —
  TRAIN "training" verified in the v3-ActReason code system (THO 2.1.0 expansion).
- Attachment.hash: SHA-1 of the data, base64 (as FHIR Attachment.hash defines it).

fhir.resources is imported inside `build_bundle` only: it is slow to import, and only the export
endpoint needs it (import time is cold-start time).
"""
from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared_code.accounts.records import AccountRecord
from shared_code.clock import iso
from shared_code.domain.body_sites import BODY_SITES, LATERALITY, LATERALITY_ATTRIBUTE, SNOMED
from shared_code.folders.records import FolderRecord
from shared_code.images.records import ImageRecord
from shared_code.sharing.records import Clinic, Consent, Grant

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
# UK Core's NHS number verification status, on the identifier: `01` once traced against PDS, `02`
# for a number the patient typed that nobody has traced (an EPR must not file it as verified).
NHS_NUMBER_VERIFICATION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
NHS_NUMBER_VERIFICATION_CODES = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
VERIFIED = ("01", "Number present and verified")
NOT_TRACED = ("02", "Number present but not traced")
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
LOINC = "http://loinc.org"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
MEDIA_TYPE = "http://terminology.hl7.org/CodeSystem/media-type"
ID_BASE = "https://telederm.dev/Id/"
CONSENT_POLICY_BASE = "https://telederm.dev/consent/"
FHIR_JSON = "application/fhir+json"

PURPOSE_OF_USE: dict[str, tuple[str, str]] = {
    "clinical_care": ("TREAT", "treatment"),
    "medical_record": ("TREAT", "treatment"),
    "research": ("HRESCH", "healthcare research"),
    "teaching": ("TRAIN", "training"),
}
VIEW_TEXT = {"distant": "Distant view", "close_up": "Close-up view", "dermoscopic": "Dermoscopic view"}


@dataclass(frozen=True)
class ExportInput:
    patient: AccountRecord
    folder: FolderRecord
    image: ImageRecord
    content: bytes                 # the decrypted original
    content_type: str
    clinic: Clinic
    grant: Grant
    consent: Consent | None        # the consent record behind the grant
    exported_at: datetime


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def body_site(site: dict[str, Any] | None) -> dict[str, Any] | None:
    if not site:
        return None
    code, side = site["code"], site.get("laterality")
    display = BODY_SITES.get(code, site.get("display"))
    if side in LATERALITY:
        side_code, side_display = LATERALITY[side]
        return {"coding": [{"system": SNOMED, "code": f"{code}:{LATERALITY_ATTRIBUTE}={side_code}",
                            "display": f"{display} ({side_display.lower()})"}],
                "text": f"{side_display} {display.lower()}"}
    return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display}


def nhs_number_identifier(nhs_number: str, verified: bool) -> dict[str, Any]:
    code, display = VERIFIED if verified else NOT_TRACED
    status = {"coding": [{"system": NHS_NUMBER_VERIFICATION_CODES, "code": code, "display": display}]}
    return {"extension": [{"url": NHS_NUMBER_VERIFICATION, "valueCodeableConcept": status}],
            "system": NHS_NUMBER_SYSTEM, "value": nhs_number}


def purposes_of_use(purposes: list[str]) -> list[dict[str, str]]:
    codings: dict[str, dict[str, str]] = {}
    for purpose in purposes:
        code, display = PURPOSE_OF_USE[purpose]
        codings.setdefault(code, {"system": ACT_REASON, "code": code, "display": display})
    return list(codings.values())


def build_bundle(x: ExportInput) -> str:
    """The Bundle as FHIR JSON text (validated by fhir.resources while it is built)."""
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.consent import Consent
    from fhir.resources.R4B.documentreference import DocumentReference
    from fhir.resources.R4B.media import Media
    from fhir.resources.R4B.organization import Organization
    from fhir.resources.R4B.patient import Patient

    patient_url, org_url, media_url, doc_url, consent_url = (_urn() for _ in range(5))
    image, grant = x.image, x.grant
    taken = image.taken_at or image.uploaded_at
    view = image.view.value if image.view else None
    label = x.folder.label or "Skin photograph"
    title = f"{label}: {VIEW_TEXT.get(view, 'photograph').lower()}, {str(taken)[:10]}"

    patient: dict[str, Any] = {"name": [{"text": x.patient.display_name}]}
    if x.patient.nhs_number:
        patient["identifier"] = [nhs_number_identifier(x.patient.nhs_number, x.patient.nhs_number_verified)]
    if x.patient.date_of_birth:
        patient["birthDate"] = x.patient.date_of_birth.isoformat()

    attachment = {"contentType": x.content_type, "data": base64.b64encode(x.content).decode(),
                  "size": len(x.content), "hash": base64.b64encode(hashlib.sha1(x.content).digest()).decode(),
                  "title": title, "creation": taken}
    patient_ref = {"reference": patient_url, "display": x.patient.display_name}
    media: dict[str, Any] = {
        "identifier": [{"system": ID_BASE + "image", "value": image.id}],
        "status": "completed",
        "type": {"coding": [{"system": MEDIA_TYPE, "code": "image", "display": "Image"}]},
        "modality": {"coding": [{"system": DICOM, "code": "XC", "display": "External-camera Photography"}]},
        "subject": patient_ref,
        "createdDateTime": taken,
        "operator": {**patient_ref, "display": "The patient (self-taken photograph)"},
        "content": attachment,
    }
    if view in VIEW_TEXT:
        media["view"] = {"text": VIEW_TEXT[view]}
    if image.uploaded_at:
        media["issued"] = image.uploaded_at
    site = body_site(x.folder.body_site.to_doc() if x.folder.body_site else None)
    if site:
        media["bodySite"] = site
    for dimension in ("width", "height"):
        if getattr(image, dimension):
            media[dimension] = getattr(image, dimension)
    if image.note:
        media["note"] = [{"text": image.note}]

    document = {
        "identifier": [{"system": ID_BASE + "image", "value": image.id}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": "72170-4", "display": "Photographic image"}],
                 "text": "Clinical photograph"},
        "category": [{"text": "Clinical photography"}],
        "subject": patient_ref,
        "date": iso(x.exported_at),
        "author": [patient_ref],
        "description": title,
        "content": [{"attachment": attachment}],
        "context": {"period": {"start": taken}, "sourcePatientInfo": {"reference": patient_url},
                    "related": [{"reference": media_url}]},
    }

    consent = {
        "identifier": [{"system": ID_BASE + "share-grant", "value": grant.id}],
        "status": "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0"}], "text": "Patient consent to share"}],
        "patient": {"reference": patient_url},
        "dateTime": (x.consent.accepted_at if x.consent else None) or grant.created_at,
        "policy": [{"uri": CONSENT_POLICY_BASE + (x.consent.version if x.consent else "unknown")}],
        "provision": {
            "type": "permit",
            "period": {"start": grant.created_at, "end": grant.expires_at},
            "actor": [{"role": {"coding": [{"system": PARTICIPATION_TYPE, "code": "IRCP",
                                            "display": "information recipient"}]},
                       "reference": {"reference": org_url, "display": x.clinic.name}}],
            "purpose": purposes_of_use([p.value for p in grant.purposes]),
        },
    }
    organization = {"identifier": [{"system": ID_BASE + "clinic", "value": x.clinic.clinic_id}],
                    "name": x.clinic.name, "active": True}

    bundle = Bundle(
        identifier={"system": "urn:ietf:rfc:3986", "value": _urn()},
        type="collection",
        timestamp=iso(x.exported_at),
        entry=[
            {"fullUrl": patient_url, "resource": Patient(**patient)},
            {"fullUrl": org_url, "resource": Organization(**organization)},
            {"fullUrl": media_url, "resource": Media(**media)},
            {"fullUrl": doc_url, "resource": DocumentReference(**document)},
            {"fullUrl": consent_url, "resource": Consent(**consent)},
        ],
    )
    return bundle.model_dump_json()
