"""The one state table of a referral, and the one way its state changes.

    action               from                                             to
    submit               draft, information_requested                     awaiting_review
    request_information  awaiting_review                                  information_requested
    outcome              awaiting_review                                  outcome_sent
    acknowledge          outcome_sent                                     closed
    cancel               draft, awaiting_review, information_requested    cancelled

Anything else is 409 `referral-state-conflict` naming the current state. `moved` is pure: it checks
the table and returns the referral with its new status and a `ReferralEvent` (who, when, from, to,
why) appended to `log`, so the change and its record go to the store in ONE write (writes.py).
`closed` and `cancelled` are final."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from shared_code.access import ClinicAccess
from shared_code.clock import iso
from shared_code.errors import ReferralStateConflict
from shared_code.referrals.records import Referral, ReferralEvent, ReferralStatus

S = ReferralStatus


class Action(str, Enum):
    CREATE = "create"  # not in the table: the first event of every referral (from nothing to draft)
    SUBMIT = "submit"
    REQUEST_INFORMATION = "request_information"
    OUTCOME = "outcome"
    ACKNOWLEDGE = "acknowledge"
    CANCEL = "cancel"


STATE_TABLE: dict[Action, tuple[frozenset[ReferralStatus], ReferralStatus]] = {
    Action.SUBMIT: (frozenset({S.DRAFT, S.INFORMATION_REQUESTED}), S.AWAITING_REVIEW),
    Action.REQUEST_INFORMATION: (frozenset({S.AWAITING_REVIEW}), S.INFORMATION_REQUESTED),
    Action.OUTCOME: (frozenset({S.AWAITING_REVIEW}), S.OUTCOME_SENT),
    Action.ACKNOWLEDGE: (frozenset({S.OUTCOME_SENT}), S.CLOSED),
    Action.CANCEL: (frozenset({S.DRAFT, S.AWAITING_REVIEW, S.INFORMATION_REQUESTED}), S.CANCELLED),
}


def require(referral: Referral, action: Action) -> ReferralStatus:
    """The status `action` leads to, or ReferralStateConflict (409) naming the current one."""
    allowed, to = STATE_TABLE[action]
    if referral.status not in allowed:
        raise ReferralStateConflict(referral.status.value,
                                    f"Cannot {action.value.replace('_', ' ')} a referral that is {referral.status.value}.")
    return to


def require_editable(referral: Referral) -> None:
    """Answers, lesions and images change only in a draft, or after the service asked for more."""
    if not referral.editable:
        raise ReferralStateConflict(referral.status.value,
                                    f"A referral that is {referral.status.value} cannot be changed.")


def event(access: ClinicAccess, action: Action, at: datetime, from_status: ReferralStatus | None,
          to_status: ReferralStatus, reason: str | None = None) -> ReferralEvent:
    """Who is the member id, never an e-mail or a name (the log is copied wherever the referral goes)."""
    return ReferralEvent(at=iso(at), by=access.member.id, clinic_id=access.clinic_id, action=action.value,
                         from_status=from_status, to_status=to_status, reason=reason)


def moved(referral: Referral, action: Action, access: ClinicAccess, at: datetime, *, reason: str | None = None,
          **changes: Any) -> Referral:
    """`referral` after `action` (checked against the table), with `changes` and its event appended."""
    to = require(referral, action)
    logged = event(access, action, at, referral.status, to, reason)
    return referral.but(status=to, updated_at=iso(at), log=[*referral.log, logged], **changes)
