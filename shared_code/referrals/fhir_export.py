"""The referral for the electronic patient record: a FHIR R4 Bundle (`collection`) built and validated
with `fhir.resources.R4B`, each resource declaring its UK Core profile.

Entries:
- Patient (UKCore-Patient): the NHS number with UK Core's verification status (`01` traced, `02`
  present but not traced: the helpers of shared_code/sharing/fhir_export.py), name, birth date, sex.
- Organization x2 (UKCore-Organization): the referring practice and the dermatology service.
- ServiceRequest (UKCore-ServiceRequest): the referral. `priority` is the CURRENT one
  (Referral.priority: as requested until an outcome changes it); `urgent_suspected_cancer` is
  `urgent` with the category SNOMED CT 276281000000104 "fast-track referral for suspected skin
  cancer" (FHIR has no suspected-cancer priority). `code` 700241009 dermatology service; the
  clinical question as reason; each lesion's body site; the history and images as supportingInfo.
- Task (UKCore-Task): the workflow. `status` from the referral's, `businessStatus` the referral's own
  status word, `restriction.period.end` = `reviewDueBy`, `owner` the service, `requester` the practice.
- QuestionnaireResponse (UKCore-QuestionnaireResponse): the history answers (Fitzpatrick type as
  SNOMED CT 403221005 ... 403236008; the NG12 seven-point items and their weighted score).
- Consent (UKCore-Consent) per purpose: sharing with the service, anonymised teaching, arranging an
  appointment; each `permit` or `deny` as the referrer recorded it.
- DocumentReference (UKCore-DocumentReference) per image, the decrypted original attached (LOINC
  72170-4 photographic image, as the share export files it).
- DiagnosticReport (UKCore-DiagnosticReport) once an outcome is given: `conclusion` = the advice to
  the referrer, `conclusionCode` the outcome in this service's code system (no SNOMED CT concept was
  verified for these outcomes, and a wrong code in a record is worse than a local one).
Decision support is NOT exported: the export is open to the referring side, which never sees it.

fhir.resources is imported inside `referral_bundle` only (slow to import; cold start)."""
from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared_code.access import ReferralAccess
from shared_code.clock import Clock, iso
from shared_code.images.contract import ImageStream
from shared_code.referrals.audit import ReferralAudit
from shared_code.referrals.records import (
    MAJOR_ITEMS, Lesion, LesionImage, Priority, Referral, ReferralStatus,
)
from shared_code.sharing.fhir_export import (
    ACT_REASON, CONSENT_POLICY_BASE, CONSENT_SCOPE, ID_BASE, LOINC, PARTICIPATION_TYPE, VIEW_TEXT, body_site,
    nhs_number_identifier,
)

SNOMED = "http://snomed.info/sct"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
OUTCOME_CODES = "https://telederm.dev/CodeSystem/referral-outcome"
HISTORY_QUESTIONNAIRE = "https://telederm.dev/Questionnaire/referral-history"
FAST_TRACK = ("276281000000104", "Fast-track referral for suspected skin cancer")
DERMATOLOGY_SERVICE = ("700241009", "Dermatology service")
FITZPATRICK = {"I": "403221005", "II": "403222003", "III": "403226000", "IV": "403231003", "V": "403235007",
               "VI": "403236008"}
SERVICE_REQUEST_STATUS = {
    ReferralStatus.DRAFT: "draft", ReferralStatus.AWAITING_REVIEW: "active",
    ReferralStatus.INFORMATION_REQUESTED: "on-hold", ReferralStatus.OUTCOME_SENT: "completed",
    ReferralStatus.CLOSED: "completed", ReferralStatus.CANCELLED: "revoked",
}
TASK_STATUS = {
    ReferralStatus.DRAFT: "draft", ReferralStatus.AWAITING_REVIEW: "requested",
    ReferralStatus.INFORMATION_REQUESTED: "on-hold", ReferralStatus.OUTCOME_SENT: "completed",
    ReferralStatus.CLOSED: "completed", ReferralStatus.CANCELLED: "cancelled",
}
# The three consents (DOMAIN.md, the Cinapsis model): the field, its purpose of use, what it permits.
CONSENTS = (
    ("share_with_service", "TREAT", "treatment", "Share the images and history with the dermatology service"),
    ("anonymised_teaching", "TRAIN", "training", "Anonymised use for teaching and training"),
    ("arrange_appointment", "TREAT", "treatment", "The hospital arranging an appointment if needed"),
)


@dataclass(frozen=True)
class ExportedImage:
    lesion: Lesion
    image: LesionImage
    content: bytes  # the decrypted original
    content_type: str


def fhir_priority(priority: Priority) -> str:
    return "routine" if priority is Priority.ROUTINE else "urgent"


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _profile(name: str) -> dict[str, Any]:
    return {"profile": [UK_CORE + name]}


def _snomed(code: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": SNOMED, "code": code[0], "display": code[1]}], "text": code[1]}


def referral_bundle(referral: Referral, images: list[ExportedImage], exported_at: datetime) -> str:
    """The Bundle as FHIR JSON text (every resource validated by fhir.resources while it is built)."""
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.consent import Consent
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport
    from fhir.resources.R4B.documentreference import DocumentReference
    from fhir.resources.R4B.organization import Organization
    from fhir.resources.R4B.patient import Patient
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
    from fhir.resources.R4B.servicerequest import ServiceRequest
    from fhir.resources.R4B.task import Task

    patient_url, practice_url, service_url, request_url, task_url, history_url = (_urn() for _ in range(6))
    image_urls = [_urn() for _ in images]
    patient_ref = {"reference": patient_url, "display": referral.patient.name}
    practice = {"reference": practice_url, "display": referral.referring_clinic_name}
    service = {"reference": service_url, "display": referral.service_clinic_name}
    entries: list[tuple[str, Any]] = [
        (patient_url, Patient(**_patient(referral))),
        (practice_url, Organization(**_organization(referral.referring_clinic_id, referral.referring_clinic_name))),
        (service_url, Organization(**_organization(referral.service_clinic_id, referral.service_clinic_name))),
        (request_url, ServiceRequest(**_service_request(referral, patient_ref, practice, service,
                                                        [history_url, *image_urls]))),
        (task_url, Task(**_task(referral, request_url, patient_ref, practice, service))),
        (history_url, QuestionnaireResponse(**_history(referral, patient_ref, practice))),
    ]
    entries += [(_urn(), Consent(**consent)) for consent in _consents(referral, patient_url, service)]
    entries += [(url, DocumentReference(**_document(referral, exported, patient_ref, practice, request_url)))
                for url, exported in zip(image_urls, images)]
    if referral.outcome is not None:
        entries.append((_urn(), DiagnosticReport(**_report(referral, request_url, patient_ref, service))))
    bundle = Bundle(identifier={"system": "urn:ietf:rfc:3986", "value": _urn()}, type="collection",
                    timestamp=iso(exported_at), entry=[{"fullUrl": url, "resource": r} for url, r in entries])
    return bundle.model_dump_json()


def _patient(referral: Referral) -> dict[str, Any]:
    p = referral.patient
    patient: dict[str, Any] = {"meta": _profile("Patient"), "name": [{"text": p.name}], "birthDate": p.date_of_birth,
                               "identifier": [nhs_number_identifier(p.nhs_number, p.nhs_number_verified)]}
    if p.sex is not None:
        patient["gender"] = p.sex.value
    return patient


def _organization(clinic_id: str, name: str) -> dict[str, Any]:
    return {"meta": _profile("Organization"), "identifier": [{"system": ID_BASE + "clinic", "value": clinic_id}],
            "name": name, "active": True}


def _identifier(referral: Referral) -> list[dict[str, str]]:
    return [{"system": ID_BASE + "referral", "value": referral.id}]


def _service_request(referral: Referral, patient: dict, practice: dict, service: dict,
                     supporting: list[str]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "meta": _profile("ServiceRequest"), "identifier": _identifier(referral),
        "status": SERVICE_REQUEST_STATUS[referral.status], "intent": "order",
        "priority": fhir_priority(referral.priority), "code": _snomed(DERMATOLOGY_SERVICE),
        "subject": patient, "authoredOn": referral.first_submitted_at or referral.created_at,
        "requester": practice, "performer": [service], "reasonCode": [{"text": referral.clinical_question}],
        "supportingInfo": [{"reference": url} for url in supporting],
    }
    if referral.priority is Priority.URGENT_SUSPECTED_CANCER:
        request["category"] = [_snomed(FAST_TRACK)]
    sites = [body_site(lesion.body_site.to_doc()) for lesion in referral.lesions]
    if sites:
        request["bodySite"] = sites
    return request


def _task(referral: Referral, request_url: str, patient: dict, practice: dict, service: dict) -> dict[str, Any]:
    task: dict[str, Any] = {
        "meta": _profile("Task"), "identifier": _identifier(referral), "status": TASK_STATUS[referral.status],
        "businessStatus": {"text": referral.status.value}, "intent": "order",
        "priority": fhir_priority(referral.priority), "focus": {"reference": request_url}, "for": patient,
        "authoredOn": referral.created_at, "lastModified": referral.updated_at, "requester": practice,
        "owner": service, "description": "Teledermatology review of a GP referral",
    }
    if referral.review_due_by:
        task["restriction"] = {"period": {"end": referral.review_due_by}}
    return task


def _history(referral: Referral, patient: dict, practice: dict) -> dict[str, Any]:
    h = referral.history
    items: list[dict[str, Any]] = []

    def answer(link_id: str, text: str, *values: dict[str, Any]) -> None:
        if values:
            items.append({"linkId": link_id, "text": text, "answer": list(values)})

    answer("onset", "Onset", *([{"valueString": h.onset}] if h.onset else []))
    answer("changed", "Changed in", *({"valueString": c.value} for c in h.changed))
    for link_id, text, value in (("bleeding", "Bleeding", h.bleeding), ("itch", "Itch", h.itch),
                                 ("previousSkinCancer", "Previous skin cancer", h.previous_skin_cancer)):
        answer(link_id, text, *([{"valueBoolean": value}] if value is not None else []))
    if h.fitzpatrick_skin_type is not None:
        skin = h.fitzpatrick_skin_type.value
        answer("fitzpatrickSkinType", "Fitzpatrick skin type", {"valueCoding": {
            "system": SNOMED, "code": FITZPATRICK[skin], "display": f"Fitzpatrick skin type {skin}"}})
    answer("sevenPointChecklist", "NICE NG12 weighted 7-point checklist: items present",
           *({"valueString": item.value + (" (major)" if item in MAJOR_ITEMS else " (minor)")}
             for item in h.seven_point_checklist))
    answer("sevenPointScore", "NICE NG12 weighted 7-point score", {"valueInteger": h.seven_point_score()})
    return {"meta": _profile("QuestionnaireResponse"), "identifier": _identifier(referral)[0],
            "questionnaire": HISTORY_QUESTIONNAIRE, "status": "completed", "subject": patient,
            "authored": referral.first_submitted_at or referral.created_at, "author": practice, "item": items}


def _consents(referral: Referral, patient_url: str, service: dict) -> list[dict[str, Any]]:
    consents = referral.consents
    found = []
    for field, code, display, text in CONSENTS:
        found.append({
            "meta": _profile("Consent"), "identifier": [{"system": ID_BASE + "referral-consent",
                                                         "value": f"{referral.id}:{field}"}],
            "status": "active",
            "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}]},
            "category": [{"coding": [{"system": LOINC, "code": "59284-0"}], "text": text}],
            "patient": {"reference": patient_url}, "dateTime": consents.recorded_at,
            "policy": [{"uri": f"{CONSENT_POLICY_BASE}referral/{consents.version}#{field}"}],
            "provision": {
                "type": "permit" if getattr(consents, field) else "deny",
                "actor": [{"role": {"coding": [{"system": PARTICIPATION_TYPE, "code": "IRCP",
                                                "display": "information recipient"}]}, "reference": service}],
                "purpose": [{"system": ACT_REASON, "code": code, "display": display}],
            },
        })
    return found


def _document(referral: Referral, x: ExportedImage, patient: dict, practice: dict, request_url: str) -> dict[str, Any]:
    view = VIEW_TEXT.get(x.image.view.value, "Photograph")
    site = body_site(x.lesion.body_site.to_doc())
    title = f"{view} of a lesion: {site['text'].lower()}"
    attachment = {"contentType": x.content_type, "data": base64.b64encode(x.content).decode(), "size": len(x.content),
                  "hash": base64.b64encode(hashlib.sha1(x.content).digest()).decode(), "title": title}
    return {
        "meta": _profile("DocumentReference"), "identifier": [{"system": ID_BASE + "referral-image",
                                                               "value": x.image.image_id}],
        "status": "current", "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": "72170-4", "display": "Photographic image"}],
                 "text": "Clinical photograph"},
        "category": [{"text": "Clinical photography"}], "subject": patient, "author": [practice],
        "description": title, "content": [{"attachment": attachment}],
        "context": {"related": [{"reference": request_url}]},
    }


def _report(referral: Referral, request_url: str, patient: dict, service: dict) -> dict[str, Any]:
    outcome = referral.outcome
    text = outcome.outcome.value.replace("_", " ")
    return {
        "meta": _profile("DiagnosticReport"), "identifier": _identifier(referral), "status": "final",
        "basedOn": [{"reference": request_url}],
        "code": {"text": "Teledermatology triage outcome"}, "subject": patient, "performer": [service],
        "effectiveDateTime": outcome.decided_at, "issued": referral.outcome_sent_at or outcome.decided_at,
        "conclusion": outcome.advice_to_referrer,
        "conclusionCode": [{"coding": [{"system": OUTCOME_CODES, "code": outcome.outcome.value,
                                        "display": text[:1].upper() + text[1:]}]}],
    }


class ImageOpener(Protocol):
    """shared_code/referrals/images.py ReferralImages: a referral's image, decrypted and verified."""

    def open(self, referral: Referral, image_id: str, variant: str) -> ImageStream: ...


class ReferralExport:
    """GET .../export?format=fhir: the images read through ReferralImages.open, the export audited."""

    def __init__(self, images: ImageOpener, audit: ReferralAudit, clock: Clock):
        self._images = images
        self._audit = audit
        self._clock = clock

    def export(self, access: ReferralAccess) -> str:
        referral = access.referral
        images = []
        for lesion in referral.lesions:
            for image in lesion.images:
                stream = self._images.open(referral, image.image_id, "original")
                images.append(ExportedImage(lesion, image, b"".join(stream.chunks), stream.content_type))
        bundle = referral_bundle(referral, images, self._clock.now())
        self._audit.record(access, "referral.exported")
        return bundle
