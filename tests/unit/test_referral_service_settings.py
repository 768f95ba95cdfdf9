"""A clinic's `referralService` settings (PATCH /api/admin/clinics/{clinicId}): a new clinic accepts
no referrals; the defaults are API.md's; a patch merges (the settings not sent keep their values)."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared_code.sharing.schemas import ClinicPatch
from tests.unit.conftest import OPS

DEFAULTS = {"acceptsReferrals": False, "reviewWithinWorkingDays": 2,
            "requiredViews": ["distant", "close_up", "dermoscopic"], "bankHolidays": "england-and-wales",
            "closedDates": [], "decisionSupport": "off"}


def patch(domain, clinic_id: str, **body):
    return domain.container.sharing.clinics.patch(OPS, clinic_id, ClinicPatch.model_validate(body))


def test_a_new_clinic_accepts_no_referrals_and_has_the_contracts_defaults(domain):
    clinic_id = domain.clinic("SUNDERLAND-GP")
    assert domain.container.sharing.clinics.get(clinic_id)["referralService"] == DEFAULTS


def test_a_patch_changes_what_it_sends_and_keeps_the_rest(domain):
    clinic_id = domain.clinic("NEWCASTLE-DERM")
    patch(domain, clinic_id, referralService={"acceptsReferrals": True, "closedDates": ["2026-12-24"]})
    after = patch(domain, clinic_id, referralService={"bankHolidays": "scotland", "requiredViews": ["close_up"]})
    assert after["referralService"] == {**DEFAULTS, "acceptsReferrals": True, "closedDates": ["2026-12-24"],
                                        "bankHolidays": "scotland", "requiredViews": ["close_up"]}
    listed = domain.container.sharing.clinics.list(10, None)[0]
    assert [c["referralService"]["acceptsReferrals"] for c in listed] == [True]
    # Other fields of the clinic are untouched by a referralService patch, and the other way round.
    again = patch(domain, clinic_id, notificationEmail="derm@nhs.net")
    assert again["referralService"] == after["referralService"] and again["name"] == after["name"]


@pytest.mark.parametrize("settings", [
    {"acceptsReferrals": "yes"}, {"acceptsReferrals": None}, {"reviewWithinWorkingDays": 0},
    {"requiredViews": []}, {"requiredViews": ["close_up", "close_up"]}, {"requiredViews": ["side"]},
    {"bankHolidays": "wales"}, {"closedDates": ["24/12/2026"]}, {"decisionSupport": "on"}, {"surprise": 1},
])
def test_settings_outside_the_contract_are_refused(settings):
    with pytest.raises(ValidationError):
        ClinicPatch.model_validate({"referralService": settings})


def test_null_settings_are_refused():
    with pytest.raises(ValidationError):
        ClinicPatch.model_validate({"referralService": None})
