"""The referral pathway's records: a GP-referred case from draft to acknowledgement.

Where each lives (container / partition / id):
- Referral        clinics / serviceClinicId / referralId    (the one authoritative document: patient,
                  history, consents, lesions, status, clock, outcome, decision support, its history of
                  state changes; the receiving service's worklist is a single-partition query on it)
- SentReferral    clinics / referringClinicId / referralId  (the referring clinic's pointer: its "sent"
                  list and how a referring member finds the referral; its `status` follows the
                  referral's, so the sent list filters by status in its query)
- ReferralImage   clinics / serviceClinicId / imageId       (one photograph of a lesion: shared_code/referrals/images.py)
- ReferralClock   directory / `referral-clock` / referralId (what the review-clock timers find referrals by)
- ReferralDigest  directory / `referral-digest` / serviceClinicId (the day a service's due-today digest went)

The referral's images are encrypted under a key of the referral's own (`referral_key`, wrapped by the
KEK, like a patient key): deleting the referral destroys that key, and with it every image at once.

A referral's state changes only through `shared_code/referrals/transitions.py`; every change appends a
`ReferralEvent` (who, when, from, to, why) in the same write as the change."""
from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from shared_code.images.records import StoredImage, View
from shared_code.records import Record


class ReferralStatus(str, Enum):
    DRAFT = "draft"
    AWAITING_REVIEW = "awaiting_review"
    INFORMATION_REQUESTED = "information_requested"
    OUTCOME_SENT = "outcome_sent"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Priority(str, Enum):
    ROUTINE = "routine"
    URGENT = "urgent"
    URGENT_SUSPECTED_CANCER = "urgent_suspected_cancer"


class OutcomeCode(str, Enum):
    DISCHARGE_WITH_ADVICE = "discharge_with_advice"
    TREAT_IN_PRIMARY_CARE = "treat_in_primary_care"
    ROUTINE_APPOINTMENT = "routine_appointment"
    URGENT_APPOINTMENT = "urgent_appointment"
    URGENT_SUSPECTED_CANCER = "urgent_suspected_cancer"
    BIOPSY_OR_EXCISION = "biopsy_or_excision"
    REDIRECT = "redirect"
    REQUEST_INFORMATION = "request_information"
    NOT_SUITABLE_FOR_TELEDERMATOLOGY = "not_suitable_for_teledermatology"


class Department(str, Enum):
    PLASTIC_SURGERY = "plastic_surgery"
    ENT = "ent"
    MAXILLOFACIAL = "maxillofacial"
    GENERAL_SURGERY = "general_surgery"
    COMMUNITY_DERMATOLOGY = "community_dermatology"


class Sla(str, Enum):
    ON_TRACK = "on_track"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"


class Sex(str, Enum):  # FHIR administrative gender
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNKNOWN = "unknown"


class FitzpatrickType(str, Enum):
    I = "I"  # noqa: E741 - the scale's own name
    II = "II"
    III = "III"
    IV = "IV"
    V = "V"
    VI = "VI"


class ChangedFeature(str, Enum):
    SIZE = "size"
    SHAPE = "shape"
    COLOUR = "colour"


class SevenPointItem(str, Enum):
    """NICE NG12 weighted 7-point checklist: the first three are major (2 points), the rest minor (1)."""
    CHANGE_IN_SIZE = "change_in_size"
    IRREGULAR_SHAPE = "irregular_shape"
    IRREGULAR_COLOUR = "irregular_colour"
    DIAMETER_7MM_OR_MORE = "diameter_7mm_or_more"
    INFLAMMATION = "inflammation"
    OOZING = "oozing"
    CHANGE_IN_SENSATION = "change_in_sensation"


MAJOR_ITEMS = frozenset({SevenPointItem.CHANGE_IN_SIZE, SevenPointItem.IRREGULAR_SHAPE, SevenPointItem.IRREGULAR_COLOUR})
SUSPECTED_CANCER_SCORE = 3  # NG12: a score of 3 or more meets the suspected-cancer referral criteria


class BankHolidayRegion(str, Enum):
    ENGLAND_AND_WALES = "england-and-wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern-ireland"


class DecisionSupportMode(str, Enum):
    OFF = "off"
    ADVISORY = "advisory"


class RiskTier(str, Enum):
    BENIGN = "benign"
    PREMALIGNANT = "premalignant"
    MALIGNANT = "malignant"


class Recommendation(str, Enum):
    DISCHARGE = "discharge"
    REFER = "refer"


class IneligibleReason(str, Enum):
    FITZPATRICK_V_VI = "fitzpatrick_v_vi"
    ULCERATED = "ulcerated"
    SUBUNGUAL = "subungual"
    POOR_QUALITY = "poor_quality"


class Agreement(str, Enum):
    AGREE = "agree"
    DISAGREE = "disagree"


class ReferralService(Record):
    """A clinic's settings as a dermatology service (on the Clinic record, `referralService`)."""
    accepts_referrals: bool = False
    review_within_working_days: int = 2
    required_views: list[View] = [View.DISTANT, View.CLOSE_UP, View.DERMOSCOPIC]
    bank_holidays: BankHolidayRegion = BankHolidayRegion.ENGLAND_AND_WALES
    closed_dates: list[str] = []  # ISO dates (London)
    decision_support: DecisionSupportMode = DecisionSupportMode.OFF


class ReferralPatient(Record):
    name: str
    nhs_number: str
    nhs_number_verified: bool = False
    date_of_birth: str  # ISO date
    sex: Sex | None = None
    email: str | None = None


class History(Record):
    onset: str | None = None
    changed: list[ChangedFeature] = []
    bleeding: bool | None = None
    itch: bool | None = None
    previous_skin_cancer: bool | None = None
    fitzpatrick_skin_type: FitzpatrickType | None = None
    seven_point_checklist: list[SevenPointItem] = []

    def seven_point_score(self) -> int:
        return sum(2 if item in MAJOR_ITEMS else 1 for item in set(self.seven_point_checklist))


class ReferralConsents(Record):
    share_with_service: bool
    anonymised_teaching: bool = False
    arrange_appointment: bool = False
    version: str
    recorded_at: str


class BodySite(Record):
    code: str  # SNOMED CT, is-a 442083009 (shared_code/domain/body_sites.py)
    laterality: str | None = None  # "left" / "right", as folders (domain/body_sites.LATERALITY: the SNOMED qualifier)


class LesionImage(Record):
    """What the referral knows of one of its lesion's images (the ReferralImage holds the rest)."""
    image_id: str
    view: View


class DecisionSupportResult(Record):
    provider: str
    model_version: str
    predicted_class: str
    risk_tier: RiskTier
    recommendation: Recommendation
    eligible: bool
    ineligible_reason: IneligibleReason | None = None
    image_id: str
    assessed_at: str


class DecisionSupportStatus(str, Enum):
    QUEUED = "queued"
    COMPLETED = "completed"
    FAILED = "failed"


class LesionDecisionSupport(Record):
    status: DecisionSupportStatus
    queued_at: str
    result: DecisionSupportResult | None = None
    failure: str | None = None  # a short reason code, never provider text


class Lesion(Record):
    id: str
    body_site: BodySite
    description: str | None = None
    size_mm: float | None = None
    created_at: str
    images: list[LesionImage] = []
    decision_support: LesionDecisionSupport | None = None

    def views(self) -> set[View]:
        return {image.view for image in self.images}


class LesionOutcome(Record):
    lesion_id: str
    outcome: OutcomeCode
    note: str | None = None


class Outcome(Record):
    outcome: OutcomeCode
    advice_to_referrer: str
    department: Department | None = None
    requested: str | None = None
    lesion_outcomes: list[LesionOutcome] = []
    decision_support_agreement: Agreement | None = None
    decided_at: str
    decided_by: str  # the member id of the reviewer


class ReferralEvent(Record):
    """One state change: append-only, written in the same document write as the change itself."""
    at: str
    by: str          # member id (never an e-mail or a name)
    clinic_id: str   # the clinic the member acted for
    action: str
    from_status: ReferralStatus | None = None
    to_status: ReferralStatus
    reason: str | None = None


class Referral(Record):
    id: str
    type: Literal["referral"] = "referral"
    referring_clinic_id: str
    referring_clinic_name: str
    service_clinic_id: str
    service_clinic_name: str
    created_at: str
    created_by: str  # member id
    updated_at: str
    status: ReferralStatus = ReferralStatus.DRAFT
    received: bool = False  # submitted at least once: in the service's worklist from then on
    priority_requested: Priority
    clinical_question: str
    patient: ReferralPatient
    history: History
    consents: ReferralConsents
    lesions: list[Lesion] = []
    referral_key: dict[str, Any] | None = None  # the wrapped referral key; gone = every image shredded
    # The review clock (shared_code/referrals/review_clock.py): set on submission, moved on resubmission.
    submitted_at: str | None = None
    first_submitted_at: str | None = None
    review_due_by: str | None = None
    information_requested_at: str | None = None
    outcome: Outcome | None = None
    outcome_sent_at: str | None = None
    acknowledged_at: str | None = None
    cancelled_at: str | None = None
    # What the timers have already said, so each says it once (two instances, retries).
    due_today_notified_on: str | None = None
    overdue_notified_at: str | None = None
    no_outcome_alerted_at: str | None = None
    unacknowledged_reminded_at: str | None = None
    log: list[ReferralEvent] = []
    events: list[str] = []  # outbox event ids (notifications/outbox.record_event)

    @property
    def editable(self) -> bool:
        """Lesions, images and answers change only in a draft, or when the service asked for more."""
        return self.status in (ReferralStatus.DRAFT, ReferralStatus.INFORMATION_REQUESTED)

    def lesion(self, lesion_id: str) -> Lesion | None:
        return next((lesion for lesion in self.lesions if lesion.id == lesion_id), None)

    def lesion_of_image(self, image_id: str) -> Lesion | None:
        return next((lesion for lesion in self.lesions if any(i.image_id == image_id for i in lesion.images)), None)

    @property
    def priority(self) -> Priority:
        """The current priority: as requested until an outcome changes it (an upgrade to the
        suspected-cancer pathway is allowed whatever was requested)."""
        if self.outcome is not None and self.outcome.outcome is OutcomeCode.URGENT_SUSPECTED_CANCER:
            return Priority.URGENT_SUSPECTED_CANCER
        if self.outcome is not None and self.outcome.outcome is OutcomeCode.URGENT_APPOINTMENT \
                and self.priority_requested is Priority.ROUTINE:
            return Priority.URGENT
        return self.priority_requested


class SentReferral(Record):
    id: str  # the referral id
    type: Literal["referral-sent"] = "referral-sent"
    referral_id: str
    service_clinic_id: str
    created_at: str
    # The referral's status as last written (shared_code/referrals/writes.py keeps it after each
    # change): what the sent list's status filter queries. The referral itself stays the authority.
    status: ReferralStatus | None = None

    @classmethod
    def of(cls, referral: "Referral") -> "SentReferral":
        return cls(id=referral.id, referral_id=referral.id, service_clinic_id=referral.service_clinic_id,
                   created_at=referral.created_at, status=referral.status)


class ReferralClock(Record):
    """The timers' index entry: ids and times only (no patient data in the directory)."""
    id: str  # the referral id
    type: Literal["referral-clock"] = "referral-clock"
    referral_id: str
    service_clinic_id: str
    referring_clinic_id: str
    status: ReferralStatus
    review_due_by: str | None = None
    submitted_at: str | None = None
    outcome_sent_at: str | None = None
    # What the timers have said for the referral's current clock (deadlines.py): each timer's query
    # asks for False, so a notice given leaves the entry out of that timer's runs.
    overdue_notified: bool = False
    no_outcome_alerted: bool = False
    unacknowledged_reminded: bool = False


class ReferralDigest(Record):
    """The London day whose due-today digest a service has been sent (deadlines.py): the claim, one
    document per service, so two instances send one digest a day. Counts only."""
    id: str  # the service's clinic id
    type: Literal["referral-digest"] = "referral-digest"
    service_clinic_id: str
    day: str  # ISO date, London
    due_today: int
    sent_at: str
    events: list[str] = []


class ReferralImage(StoredImage):
    """One photograph of a referral's lesion (R2: shared_code/referrals/images.py writes it): what any
    stored image holds (metadata, quality, the DEK wrapped by the referral key, the objects' seals)
    and which referral, lesion and view it is of."""
    type: Literal["referral-image"] = "referral-image"
    referral_id: str
    lesion_id: str
    view: View  # required: completeness is counted in views
    uploaded_by: str  # the member id of who uploaded it (never an e-mail or a name)

    def public(self) -> dict:
        """The API's metadata (API.md: image metadata with `quality`), for either side."""
        return {**self.metadata(), "referralId": self.referral_id, "lesionId": self.lesion_id}
