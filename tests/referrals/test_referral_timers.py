"""The review clock's timers end to end, on both adapter families: referrals made through the API
(tests/support/referrals.py), the clock moved through the working week, the timer's job run as the
host runs it, and the mails the dispatcher sends read from the outbox. Each notice arrives once, at
the right time, to the right people, and names no patient. The rules in detail, with two instances
racing: tests/unit/test_referral_timers.py."""
from __future__ import annotations

from datetime import datetime, timezone

from functions.schedules_bp import referral_timers_job
from shared_code.notifications.pump import pump_notifications
from tests.support.referrals import ReferralScene, referral_body

UTC = timezone.utc
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # GMT: London = UTC
SERVICE = "Newcastle Dermatology"
# The timers' notices (the submission's and the outcome's own are tests/referrals/test_referral_outcomes.py's).
TIMER_SUBJECTS = ("referrals due for review today", "a referral is overdue for review", "No outcome yet from",
                  "an outcome waits for your acknowledgement")


def _at(api, moment: datetime) -> None:
    api.container.clock.at = moment


def _mails(api, seen: list) -> list[tuple[str, str]]:
    """The timers run as the host runs them, the queue pumped: the mails sent since `seen` was last
    given here (it keeps the count), as (to, subject)."""
    referral_timers_job(api.container)
    pump_notifications(api.container)
    every = api.container.adapters.mail.list(limit=500)  # newest first
    new = every[:len(every) - len(seen)]
    seen.extend(new)
    patient = referral_body()["patient"]
    for mail in new:
        for part in ("subject", "text", "html"):
            assert patient["name"] not in mail[part] and patient["nhsNumber"] not in mail[part]
            assert referral_body()["clinicalQuestion"] not in mail[part]
    return sorted((m["to"], m["subject"]) for m in new if any(words in m["subject"] for words in TIMER_SUBJECTS))


def test_the_service_is_told_what_is_due_today_and_its_admins_what_is_overdue(api):
    _at(api, MONDAY)
    scene = ReferralScene(api)
    kept = scene.submitted()
    assert kept["reviewDueBy"] == "2026-12-09T23:59:59Z"                     # Mon -> Wed
    cancelled = scene.submitted()
    assert scene.step_response(cancelled["id"], "cancel").status_code == 200
    seen: list = []
    _mails(api, seen)

    _at(api, datetime(2026, 12, 9, 7, 59, tzinfo=UTC))                        # Wednesday, 07:59 London
    assert _mails(api, seen) == []
    _at(api, datetime(2026, 12, 9, 8, 0, tzinfo=UTC))
    assert _mails(api, seen) == [("newcastle-derm@nhs.net", f"{SERVICE}: referrals due for review today")]
    digest = api.container.adapters.mail.list(limit=200)[0]
    assert "Referrals due for review today (9 December 2026): 1" in digest["text"]
    _at(api, datetime(2026, 12, 9, 16, 0, tzinfo=UTC))
    assert _mails(api, seen) == []                                              # once a day

    _at(api, datetime(2026, 12, 10, 8, 0, tzinfo=UTC))                         # Thursday: overdue
    assert _mails(api, seen) == [("rita@nhs.net", f"{SERVICE}: a referral is overdue for review")]
    escalation = next(m for m in api.container.adapters.mail.list(limit=200) if "overdue" in m["subject"])
    assert f"/clinics/{scene.service_id}/referrals/{kept['id']}" in escalation["text"]
    assert "by the end of 9 December 2026" in escalation["text"]
    _at(api, datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
    assert _mails(api, seen) == []                                              # escalated once


def test_a_resubmission_moves_the_due_date_by_the_working_days_spent_waiting(api):
    _at(api, MONDAY)
    scene = ReferralScene(api)
    referral = scene.submitted()
    _at(api, datetime(2026, 12, 8, 10, 0, tzinfo=UTC))                          # Tuesday: more, please
    scene.outcome(referral["id"], "request_information", requested="A dermoscopic image in focus.")
    _at(api, datetime(2026, 12, 10, 15, 0, tzinfo=UTC))                         # Thursday: Wed, Thu waited
    again = scene.submit(referral["id"])
    assert again["reviewDueBy"] == "2026-12-11T23:59:59Z"                       # Wed 9 + 2 = Fri 11
    seen: list = []
    _mails(api, seen)
    _at(api, datetime(2026, 12, 11, 8, 0, tzinfo=UTC))
    assert _mails(api, seen) == [("newcastle-derm@nhs.net", f"{SERVICE}: referrals due for review today")]


def test_the_referrer_is_reminded_of_an_unacknowledged_outcome_and_alerted_when_none_comes(api):
    _at(api, MONDAY)
    scene = ReferralScene(api)
    answered, waiting = scene.submitted(), scene.submitted()
    _at(api, datetime(2026, 12, 8, 10, 0, tzinfo=UTC))                          # Tuesday
    scene.outcome(answered["id"], "discharge_with_advice")
    seen: list = []
    _mails(api, seen)

    _at(api, datetime(2026, 12, 14, 23, 0, tzinfo=UTC))                         # Wed Thu Fri Mon: 4 working days
    assert ("gail@nhs.net", f"{SERVICE}: an outcome waits for your acknowledgement") not in _mails(api, seen)
    _at(api, datetime(2026, 12, 15, 8, 0, tzinfo=UTC))                          # Tuesday: 5
    assert _mails(api, seen) == [("gail@nhs.net", f"{SERVICE}: an outcome waits for your acknowledgement")]
    assert scene.step_response(answered["id"], "acknowledge").status_code == 200

    # The other has had no outcome: 20 working days after Monday 7 December, with Christmas Day and
    # Boxing Day's substitute (Monday 28) and New Year's Day not counted, is Thursday 7 January.
    _at(api, datetime(2027, 1, 6, 12, 0, tzinfo=UTC))
    assert _mails(api, seen) == []
    _at(api, datetime(2027, 1, 7, 8, 0, tzinfo=UTC))
    assert _mails(api, seen) == [("gail@nhs.net", f"No outcome yet from {SERVICE} for one of your referrals")]
    alert = next(m for m in api.container.adapters.mail.list(limit=200) if m["subject"].startswith("No outcome"))
    assert f"/clinics/{scene.practice_id}/referrals/{waiting['id']}" in alert["text"]
    assert "on 7 December 2026" in alert["text"]
    _at(api, datetime(2027, 2, 1, 12, 0, tzinfo=UTC))
    assert _mails(api, seen) == []                                              # once, and nothing for the closed one
