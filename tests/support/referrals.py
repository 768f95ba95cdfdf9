"""The steps referral tests take through the API (the GP-referred pathway, issue 13), shared by every
referral test: a referring practice and a dermatology service that accepts referrals, their members
and tokens, a draft, lesions, images per view, submission and outcomes.

Steps that must succeed assert their status and return the JSON; the `*_response` steps return the
raw response for tests about refusals. `ReferralScene` is the usual world: HEATON-PRACTICE (gail, its
clinic_admin, the referring GP; pat, its photographer) refers to NEWCASTLE-DERM (rita, its clinic_admin
and reviewer; sam, a reviewer), whose `referralService` accepts referrals with the defaults.
`Referrals` is the same steps between any two clinics (the authorization matrix uses its own).
`referral_record` / `lesion_record` build records for rule tests on the fakes (tests/unit)."""
from __future__ import annotations

from typing import Any

from shared_code.images.records import View
from shared_code.referrals.records import (
    BodySite, History, Lesion, LesionImage, Priority, Referral, ReferralConsents, ReferralPatient, ReferralStatus,
)
from tests.support.steps import VALID_NHS, Client, add_member, admin, clinician, jpeg, onboard

PRACTICE_CODE = "HEATON-PRACTICE"
SERVICE_CODE = "NEWCASTLE-DERM"
ALL_VIEWS = ("distant", "close_up", "dermoscopic")
BODY_SITE = {"code": "53120007", "laterality": "left"}  # upper limb (SNOMED), left


def referral_url(clinic_id: str, referral_id: str | None = None, suffix: str = "") -> str:
    """`/api/clinics/{clinicId}/referrals[/{referralId}]{suffix}`."""
    base = f"/api/clinics/{clinic_id}/referrals"
    return f"{base}/{referral_id}{suffix}" if referral_id else f"{base}{suffix}"


def referral_body(to_code: str = SERVICE_CODE, **overrides: Any) -> dict[str, Any]:
    """A complete draft's answers (no lesion yet); `overrides` replace top-level fields."""
    body: dict[str, Any] = {
        "toClinicCode": to_code,
        "patient": {"name": "Brenda Example", "nhsNumber": VALID_NHS, "dateOfBirth": "1961-04-12", "sex": "female"},
        "priorityRequested": "routine",
        "clinicalQuestion": "Pigmented lesion, enlarging over 3 months. Melanoma?",
        "history": {"onset": "2026-08", "changed": ["size", "colour"], "bleeding": False, "itch": True,
                    "previousSkinCancer": False, "fitzpatrickSkinType": "II",
                    "sevenPointChecklist": ["change_in_size", "irregular_colour"]},
        "consents": {"shareWithService": True, "anonymisedTeaching": False, "arrangeAppointment": True,
                     "version": "2026-01"},
    }
    body.update(overrides)
    return body


def lesion_body(**overrides: Any) -> dict[str, Any]:
    return {"bodySite": dict(BODY_SITE), "description": "6 mm irregular pigmented macule", "sizeMm": 6, **overrides}


def outcome_body(outcome: str = "routine_appointment", **overrides: Any) -> dict[str, Any]:
    return {"outcome": outcome, "adviceToReferrer": "Seen on the images; we will offer an appointment.", **overrides}


def accept_referrals(api: Client, clinic_id: str, **settings: Any) -> dict[str, Any]:
    """The platform admin makes `clinic_id` a dermatology service (`referralService`, defaults + `settings`)."""
    response = api.client.patch(f"/api/admin/clinics/{clinic_id}", headers=admin(api),
                                json={"referralService": {"acceptsReferrals": True, **settings}})
    assert response.status_code == 200, response.text
    return response.json()


def _ok(response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


class Referrals:
    """The steps between one referring clinic and one service: `gp` refers, `pat` photographs (both
    members of the practice), `rita` reviews (a member of the service)."""

    def __init__(self, api: Client, practice_id: str, service_id: str, *, gp: dict[str, str],
                 reviewer: dict[str, str], photographer: dict[str, str] | None = None,
                 service_code: str = SERVICE_CODE):
        self.api = api
        self.practice_id, self.service_id = practice_id, service_id
        self.gp, self.rita, self.pat = gp, reviewer, photographer or gp
        self.service_code = service_code

    # --- where ---
    def url(self, referral_id: str | None = None, suffix: str = "", *, service: bool = False) -> str:
        """A referral's path as the practice (or, with `service`, the service) names it."""
        return referral_url(self.service_id if service else self.practice_id, referral_id, suffix)

    # --- the referrer's steps ---
    def draft_response(self, headers: dict[str, str] | None = None, **overrides: Any):
        body = referral_body(**{"toClinicCode": self.service_code, **overrides})
        return self.api.client.post(self.url(), headers=headers or self.gp, json=body)

    def draft(self, **overrides: Any) -> dict[str, Any]:
        return _ok(self.draft_response(**overrides), 201)

    def lesion_response(self, referral_id: str, headers: dict[str, str] | None = None, **overrides: Any):
        return self.api.client.post(self.url(referral_id, "/lesions"), headers=headers or self.gp,
                                    json=lesion_body(**overrides))

    def lesion(self, referral_id: str, **overrides: Any) -> dict[str, Any]:
        return _ok(self.lesion_response(referral_id, **overrides), 201)

    def image_response(self, referral_id: str, lesion_id: str, view: str | None, *, seed: int = 1,
                       data: bytes | None = None, headers: dict[str, str] | None = None, **params: Any):
        """A direct upload of one photograph of a lesion (`view` as a query parameter)."""
        if view is not None:
            params["view"] = view
        return self.api.client.post(self.url(referral_id, f"/lesions/{lesion_id}/images"),
                                    headers={**(headers or self.pat), "content-type": "image/jpeg"},
                                    content=jpeg(seed) if data is None else data, params=params)

    def image(self, referral_id: str, lesion_id: str, view: str, *, seed: int = 1, **kw: Any) -> dict[str, Any]:
        return _ok(self.image_response(referral_id, lesion_id, view, seed=seed, **kw), 201)

    def complete_lesion(self, referral_id: str, views=ALL_VIEWS, **overrides: Any) -> dict[str, Any]:
        """A lesion with one photograph per view in `views` (by default all three): the lesion."""
        lesion = self.lesion(referral_id, **overrides)
        for seed, view in enumerate(views, start=1):
            self.image(referral_id, lesion["id"], view, seed=seed)
        return lesion

    def ready(self, views=ALL_VIEWS, **overrides: Any) -> str:
        """A draft with one complete lesion, ready to submit: its id."""
        referral_id = self.draft(**overrides)["id"]
        self.complete_lesion(referral_id, views)
        return referral_id

    def submit_response(self, referral_id: str, headers: dict[str, str] | None = None):
        return self.api.client.post(self.url(referral_id, "/submit"), headers=headers or self.gp)

    def submit(self, referral_id: str) -> dict[str, Any]:
        return _ok(self.submit_response(referral_id))

    def submitted(self, views=ALL_VIEWS, **overrides: Any) -> dict[str, Any]:
        """A referral with one complete lesion, submitted: the submit answer."""
        return self.submit(self.ready(views, **overrides))

    def step_response(self, referral_id: str, step: str, headers: dict[str, str] | None = None, **body: Any):
        """`acknowledge` or `cancel` (the referrer's), as the practice names the referral."""
        return self.api.client.post(self.url(referral_id, f"/{step}"), headers=headers or self.gp,
                                    json=body or None)

    # --- the service's steps ---
    def outcome_response(self, referral_id: str, outcome: str = "routine_appointment",
                         headers: dict[str, str] | None = None, **body: Any):
        return self.api.client.post(self.url(referral_id, "/outcome", service=True), headers=headers or self.rita,
                                    json=outcome_body(outcome, **body))

    def outcome(self, referral_id: str, outcome: str = "routine_appointment", **body: Any) -> dict[str, Any]:
        return _ok(self.outcome_response(referral_id, outcome, **body))

    # --- reading ---
    def get(self, referral_id: str, *, service: bool = False, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """The referral as the practice (or the service) reads it."""
        who = headers or (self.rita if service else self.gp)
        return _ok(self.api.client.get(self.url(referral_id, service=service), headers=who))

    def worklist(self, direction: str = "received", **params: Any) -> dict[str, Any]:
        service = direction == "received"
        return _ok(self.api.client.get(self.url(service=service), headers=self.rita if service else self.gp,
                                       params={"direction": direction, **params}))

    def asked_for_more(self, **overrides: Any) -> str:
        """A submitted referral the service sent back with `request_information`: its id."""
        referral_id = self.submitted(**overrides)["id"]
        self.outcome(referral_id, "request_information", requested="A dermoscopic image in focus, please.")
        return referral_id

    def decided(self, outcome: str = "routine_appointment", **overrides: Any) -> str:
        """A referral with an outcome sent (`outcome_sent`): its id."""
        referral_id = self.submitted(**overrides)["id"]
        self.outcome(referral_id, outcome)
        return referral_id


class ReferralScene(Referrals):
    """HEATON-PRACTICE refers to NEWCASTLE-DERM (see the module docstring). `service_settings` go
    into the service's `referralService` (e.g. requiredViews=["close_up"])."""

    def __init__(self, api: Client, **service_settings: Any):
        self.practice = onboard(api, PRACTICE_CODE, name="Heaton Medical Practice", admin_email="gail@nhs.net")
        self.service = onboard(api, SERVICE_CODE, name="Newcastle Dermatology", admin_email="rita@nhs.net")
        self.service = accept_referrals(api, self.service["id"], **service_settings)
        super().__init__(api, self.practice["id"], self.service["id"],
                         gp=clinician(api, "gail", "gail@nhs.net", "Dr Gail"),        # referring GP, practice admin
                         reviewer=clinician(api, "rita", "rita@nhs.net", "Dr Rita"),  # reviewer, service admin
                         photographer=clinician(api, "pat", "pat@nhs.net", "Pat Photographer"))
        self.sam = clinician(api, "sam", "sam@nhs.net", "Dr Sam")
        add_member(api, self.practice_id, self.gp, "pat@nhs.net")
        add_member(api, self.service_id, self.rita, "sam@nhs.net")

    def third_clinic(self, code: str = "LEEDS-DERM", email: str = "tom@nhs.net") -> tuple[str, dict[str, str]]:
        """Another subscribed clinic (accepting referrals too) and its admin's headers."""
        clinic_id = onboard(self.api, code, admin_email=email)["id"]
        accept_referrals(self.api, clinic_id)
        return clinic_id, clinician(self.api, email.split("@")[0], email)


# --- records, for rule tests on fakes (tests/unit) ---
def referral_record(status: str = "draft", **changes: Any) -> Referral:
    """A Referral record from HEATON (`cl_gp`) to NEWCASTLE (`cl_derm`), without lesions."""
    at = "2026-11-30T09:00:00Z"
    base = Referral(id="rf_1", referring_clinic_id="cl_gp", referring_clinic_name="Heaton", service_clinic_id="cl_derm",
                    service_clinic_name="Newcastle", created_at=at, created_by="m_gail", updated_at=at,
                    status=ReferralStatus(status), priority_requested=Priority.ROUTINE, clinical_question="?",
                    patient=ReferralPatient(name="Brenda Example", nhs_number=VALID_NHS, date_of_birth="1961-04-12"),
                    history=History(), consents=ReferralConsents(share_with_service=True, version="1", recorded_at=at))
    return base.but(**changes)


def lesion_record(lesion_id: str, *views: str) -> Lesion:
    """A lesion photographed in `views` (image ids `<lesion>-<view>`)."""
    return Lesion(id=lesion_id, body_site=BodySite(code="53120007", laterality="left"), created_at="2026-11-30T09:00:00Z",
                  images=[LesionImage(image_id=f"{lesion_id}-{view}", view=View(view)) for view in views])


class MatrixReferrals:
    """The referrals the authorization matrix's referral rows act on (tests/sharing/
    test_authorization_matrix.py): ALPHA-DERM (`A`: cal, ada) refers to BETA-DERM (`B`: bea), which
    accepts referrals; CHARLIE-GP refers to DELTA-DERM, of which no actor of the matrix is a member.

    `flow` makes fresh referrals for the rows that succeed (a step taken once cannot be taken again);
    `waiting` is submitted (awaiting review; `waiting_detail` its answer, with lesions and images),
    `asked` sent back for more information, `third` the other two clinics' submitted referral."""

    def __init__(self, api: Client, clinics: dict[str, str], headers: dict[str, dict[str, str]], b_code: str):
        accept_referrals(api, clinics["B"])
        self.b_code = b_code
        self.flow = Referrals(api, clinics["A"], clinics["B"], gp=headers["clinic_admin"],
                              reviewer=headers["other_clinician"], service_code=b_code)
        charlie = onboard(api, "CHARLIE-GP", admin_email="cyd@nhs.net")["id"]
        delta = onboard(api, "DELTA-DERM", admin_email="dee@nhs.net")["id"]
        accept_referrals(api, delta)
        others = Referrals(api, charlie, delta, gp=clinician(api, "cyd", "cyd@nhs.net"),
                           reviewer=clinician(api, "dee", "dee@nhs.net"), service_code="DELTA-DERM")
        self.third = others.submitted()["id"]
        self.waiting_detail = self.flow.submitted()
        self.waiting = self.waiting_detail["id"]
        self.asked = self.flow.asked_for_more()
