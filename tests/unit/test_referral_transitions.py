"""The referral's one state table (shared_code/referrals/transitions.py): every action from every
state, the 409 that names the current state, and the history entry each change appends."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared_code.access import ClinicAccess
from shared_code.errors import ReferralStateConflict
from shared_code.referrals.records import Referral, ReferralStatus
from shared_code.referrals.transitions import STATE_TABLE, Action, moved, require_editable
from shared_code.sharing.records import Clinic, Member, MemberRole
from tests.support.referrals import referral_record
from tests.unit.conftest import clinician

S = ReferralStatus
AT = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
# What API.md allows, written out independently of the code's table.
ALLOWED = {
    (Action.SUBMIT, S.DRAFT): S.AWAITING_REVIEW,
    (Action.SUBMIT, S.INFORMATION_REQUESTED): S.AWAITING_REVIEW,
    (Action.REQUEST_INFORMATION, S.AWAITING_REVIEW): S.INFORMATION_REQUESTED,
    (Action.OUTCOME, S.AWAITING_REVIEW): S.OUTCOME_SENT,
    (Action.ACKNOWLEDGE, S.OUTCOME_SENT): S.CLOSED,
    (Action.CANCEL, S.DRAFT): S.CANCELLED,
    (Action.CANCEL, S.AWAITING_REVIEW): S.CANCELLED,
    (Action.CANCEL, S.INFORMATION_REQUESTED): S.CANCELLED,
}


def referral(status: ReferralStatus) -> Referral:
    return referral_record(status.value)


ACCESS = ClinicAccess(clinician("gail"), Clinic(clinic_id="cl_gp", name="GP", code="GP-1", notification_email="g@nhs.net",
                                                subscription_ends_at="2027-01-01T00:00:00Z",
                                                created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z"),
                      Member(id="m_gail", clinic_id="cl_gp", email="gail@nhs.net", role=MemberRole.CLINICIAN,
                             created_at="2026-01-01T00:00:00Z"))


def test_the_table_is_exactly_what_the_contract_allows():
    table = {(action, status): to for action, (sources, to) in STATE_TABLE.items() for status in sources}
    assert table == ALLOWED


@pytest.mark.parametrize("action", [a for a in Action if a is not Action.CREATE])
@pytest.mark.parametrize("status", list(S))
def test_every_action_from_every_state_moves_or_names_the_current_state(action, status):
    before = referral(status)
    if (action, status) not in ALLOWED:
        with pytest.raises(ReferralStateConflict) as refused:
            moved(before, action, ACCESS, AT)
        assert refused.value.extensions == {"currentStatus": status.value}
        assert status.value in refused.value.detail
        return
    after = moved(before, action, ACCESS, AT, reason="why")
    assert after.status is ALLOWED[(action, status)]
    [entry] = after.log
    assert (entry.by, entry.clinic_id, entry.action, entry.from_status, entry.to_status, entry.reason, entry.at) == (
        "m_gail", "cl_gp", action.value, status, after.status, "why", "2026-11-30T10:00:00Z")
    assert before.status is status and before.log == []  # pure: the change is in the returned copy


def test_each_change_appends_to_the_history_and_never_rewrites_it():
    draft = referral(S.DRAFT)
    submitted = moved(draft, Action.SUBMIT, ACCESS, AT)
    back = moved(submitted, Action.REQUEST_INFORMATION, ACCESS, AT, reason="a dermoscopic view, please")
    again = moved(back, Action.SUBMIT, ACCESS, AT)
    assert [(e.from_status, e.to_status) for e in again.log] == [
        (S.DRAFT, S.AWAITING_REVIEW), (S.AWAITING_REVIEW, S.INFORMATION_REQUESTED),
        (S.INFORMATION_REQUESTED, S.AWAITING_REVIEW)]
    assert again.log[:2] == back.log


@pytest.mark.parametrize("status", list(S))
def test_answers_and_lesions_change_only_in_a_draft_or_when_asked_for_more(status):
    if status in (S.DRAFT, S.INFORMATION_REQUESTED):
        require_editable(referral(status))
    else:
        with pytest.raises(ReferralStateConflict):
            require_editable(referral(status))
