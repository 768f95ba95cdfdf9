"""The referrer's draft on the fakes: who may be referred to, what a draft records, edits while it
is editable, and the limit on lesions (shared_code/referrals/drafts.py)."""
from __future__ import annotations

import pytest

from shared_code.access import Side
from shared_code.errors import ClinicCodeNotFound, InvalidField, ReferralStateConflict
from shared_code.referrals.records import Priority, ReferralStatus
from shared_code.referrals.schemas import LesionIn, ReferralIn, ReferralPatch
from shared_code.sharing.schemas import ClinicPatch
from tests.support.referrals import PRACTICE_CODE, SERVICE_CODE, lesion_body, referral_body
from tests.unit.conftest import OPS, clinician

GAIL = clinician("gail")


@pytest.fixture
def world(domain):
    """HEATON-PRACTICE (gail) and NEWCASTLE-DERM (rita), which accepts referrals."""
    practice = domain.clinic(PRACTICE_CODE, admin_email="gail@nhs.net")
    service = domain.clinic(SERVICE_CODE, admin_email="rita@nhs.net")
    domain.container.sharing.clinics.patch(OPS, service, ClinicPatch.model_validate(
        {"referralService": {"acceptsReferrals": True}}))
    return practice, service


def create(domain, practice: str, **overrides):
    access = domain.container.access.clinic(GAIL, practice)
    return domain.container.referrals.drafts.create(access, ReferralIn.model_validate(referral_body(**overrides)))


def referrer(domain, practice: str, referral_id: str):
    return domain.container.access.referral(GAIL, practice, referral_id, Side.REFERRER)


def test_a_draft_records_the_answers_unverified_and_its_first_history_entry(domain, world):
    practice, service = world
    draft = create(domain, practice, priorityRequested="urgent_suspected_cancer")
    assert (draft.status, draft.received, draft.service_clinic_id, draft.referring_clinic_id) == (
        ReferralStatus.DRAFT, False, service, practice)
    assert draft.patient.nhs_number_verified is False and draft.priority is Priority.URGENT_SUSPECTED_CANCER
    assert draft.consents.recorded_at == draft.created_at
    [entry] = draft.log
    assert (entry.action, entry.from_status, entry.to_status, entry.clinic_id) == ("create", None, "draft", practice)
    assert domain.container.referral_records.sent(practice, draft.id) is not None


def test_a_clinic_that_does_not_accept_referrals_is_not_found_like_an_unknown_code(domain, world):
    practice, _ = world
    domain.clinic("SUNDERLAND-GP", admin_email="una@nhs.net")
    for code in ("SUNDERLAND-GP", "NO-SUCH-CODE"):
        with pytest.raises(ClinicCodeNotFound):
            create(domain, practice, toClinicCode=code)


def test_a_clinic_cannot_refer_to_itself(domain, world):
    practice, _ = world
    domain.container.sharing.clinics.patch(OPS, practice, ClinicPatch.model_validate(
        {"referralService": {"acceptsReferrals": True}}))
    with pytest.raises(InvalidField):
        create(domain, practice, toClinicCode=PRACTICE_CODE)


def test_an_edit_replaces_the_answers_sent_and_keeps_the_rest(domain, world):
    practice, _ = world
    draft = create(domain, practice)
    patch = ReferralPatch.model_validate({"history": {"bleeding": True}, "consents": {
        "shareWithService": True, "anonymisedTeaching": True, "version": "2026-02"}})
    edited = domain.container.referrals.drafts.patch(referrer(domain, practice, draft.id), patch)
    assert edited.history.bleeding is True and edited.history.seven_point_checklist == []
    assert edited.consents.anonymised_teaching is True and edited.consents.version == "2026-02"
    assert edited.clinical_question == draft.clinical_question and edited.patient == draft.patient


def test_a_referral_out_of_the_referrers_hands_cannot_be_edited(domain, world):
    practice, service = world
    draft = create(domain, practice)
    records = domain.container.referral_records
    stored = records.get(service, draft.id)
    records.replace(stored.but(status=ReferralStatus.OUTCOME_SENT, received=True))
    access = referrer(domain, practice, draft.id)
    with pytest.raises(ReferralStateConflict):
        domain.container.referrals.drafts.patch(access, ReferralPatch.model_validate({"clinicalQuestion": "x"}))
    with pytest.raises(ReferralStateConflict):
        domain.container.referrals.drafts.add_lesion(access, LesionIn.model_validate(lesion_body()))


def test_a_referral_holds_a_bounded_number_of_lesions(domain, world):
    practice, _ = world
    draft = create(domain, practice)
    limit = domain.container.settings.referral_max_lesions
    for _ in range(limit):
        domain.container.referrals.drafts.add_lesion(referrer(domain, practice, draft.id),
                                                     LesionIn.model_validate(lesion_body()))
    with pytest.raises(InvalidField):
        domain.container.referrals.drafts.add_lesion(referrer(domain, practice, draft.id),
                                                     LesionIn.model_validate(lesion_body()))
    assert len(domain.container.referral_records.get(world[1], draft.id).lesions) == limit
