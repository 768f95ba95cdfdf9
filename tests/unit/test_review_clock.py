"""The working-day review clock (API.md "Review clock"): the edges a reviewer's deadline depends on.

Times are written in London wall-clock time and checked in UTC, since that is what the API returns:
23:59:59 London is 22:59:59Z in summer time (BST) and 23:59:59Z in winter (GMT)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from shared_code.referrals.records import BankHolidayRegion, ReferralService, Sla
from shared_code.referrals.review_clock import (
    resubmitted_due_by, review_due_by, sla, working_days_between,
)

LONDON = ZoneInfo("Europe/London")


def london(year, month, day, hour=12, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


def utc(year, month, day, hour, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


def service(days: int = 2, region: BankHolidayRegion = BankHolidayRegion.ENGLAND_AND_WALES,
            closed: list[str] | None = None) -> ReferralService:
    return ReferralService(accepts_referrals=True, review_within_working_days=days, bank_holidays=region,
                           closed_dates=closed or [])


ENGLAND = service()
SCOTLAND = service(region=BankHolidayRegion.SCOTLAND)
NORTHERN_IRELAND = service(region=BankHolidayRegion.NORTHERN_IRELAND)


# --- ordinary weeks (November 2026 is GMT: London = UTC) ------------------------------------------------
@pytest.mark.parametrize("submitted, due", [
    (london(2026, 11, 2, 9), utc(2026, 11, 4, 23, 59, 59)),    # Monday -> Wednesday
    (london(2026, 11, 5, 9), utc(2026, 11, 9, 23, 59, 59)),    # Thursday -> Monday
    (london(2026, 11, 6, 9), utc(2026, 11, 10, 23, 59, 59)),   # Friday -> Tuesday, over the weekend
    (london(2026, 11, 7, 9), utc(2026, 11, 10, 23, 59, 59)),   # Saturday -> Tuesday (Mon is day 1)
    (london(2026, 11, 8, 9), utc(2026, 11, 10, 23, 59, 59)),   # Sunday -> Tuesday
])
def test_two_working_days_skip_the_weekend(submitted, due):
    assert review_due_by(submitted, ENGLAND) == due


@pytest.mark.parametrize("days, due", [
    (2, utc(2026, 11, 10, 23, 59, 59)),   # Friday 6 Nov + 2 -> Tuesday
    (3, utc(2026, 11, 11, 23, 59, 59)),   # -> Wednesday
    (5, utc(2026, 11, 13, 23, 59, 59)),   # -> Friday a week later
])
def test_the_number_of_working_days_is_the_services(days, due):
    assert review_due_by(london(2026, 11, 6, 16), service(days)) == due


def test_the_result_is_in_utc():
    due = review_due_by(london(2026, 7, 1, 9), ENGLAND)
    assert due.utcoffset() == timedelta(0)
    assert due == utc(2026, 7, 3, 22, 59, 59)  # Friday 3 July, 23:59:59 BST


# --- bank holidays -------------------------------------------------------------------------------------
def test_good_friday_and_easter_monday_2026_are_not_working_days():
    # Thursday 2 April 2026 -> (Fri 3 Good Friday, Mon 6 Easter Monday) -> Tue 7, Wed 8. BST.
    assert review_due_by(london(2026, 4, 2, 10), ENGLAND) == utc(2026, 4, 8, 22, 59, 59)


def test_easter_monday_submission_counts_from_the_next_working_day():
    assert review_due_by(london(2026, 4, 6, 10), ENGLAND) == utc(2026, 4, 8, 22, 59, 59)


def test_christmas_2026_with_boxing_days_substitute_monday():
    # Thu 24 Dec -> Fri 25 Christmas, Sat 26 Boxing Day, Sun 27, Mon 28 (Boxing Day substitute) ->
    # Tue 29 (1), Wed 30 (2).
    assert review_due_by(london(2026, 12, 24, 10), ENGLAND) == utc(2026, 12, 30, 23, 59, 59)
    # Wed 23 Dec: Thu 24 (1), then Tue 29 (2).
    assert review_due_by(london(2026, 12, 23, 10), ENGLAND) == utc(2026, 12, 29, 23, 59, 59)


def test_new_year_2027():
    # Thu 31 Dec 2026 -> Fri 1 Jan 2027 holiday -> Mon 4 (1), Tue 5 (2): the count crosses a year.
    assert review_due_by(london(2026, 12, 31, 10), ENGLAND) == utc(2027, 1, 5, 23, 59, 59)


def test_scotland_has_the_second_of_january():
    # Wed 31 Dec 2025 -> Thu 1 Jan holiday everywhere; Fri 2 Jan a working day in England only.
    submitted = london(2025, 12, 31, 10)
    assert review_due_by(submitted, ENGLAND) == utc(2026, 1, 5, 23, 59, 59)   # Fri 2 (1), Mon 5 (2)
    assert review_due_by(submitted, SCOTLAND) == utc(2026, 1, 6, 23, 59, 59)  # Mon 5 (1), Tue 6 (2)


def test_st_andrews_day_2026_is_a_monday_holiday_in_scotland_only():
    submitted = london(2026, 11, 27, 10)  # Friday
    assert review_due_by(submitted, ENGLAND) == utc(2026, 12, 1, 23, 59, 59)   # Mon 30 Nov, Tue 1 Dec
    assert review_due_by(submitted, SCOTLAND) == utc(2026, 12, 2, 23, 59, 59)  # Tue 1, Wed 2 Dec


def test_easter_monday_is_not_a_holiday_in_scotland_but_st_patricks_day_is_in_northern_ireland():
    assert review_due_by(london(2026, 4, 3, 10), SCOTLAND) == utc(2026, 4, 7, 22, 59, 59)  # Mon 6, Tue 7
    # Mon 16 March 2026 -> Tue 17 St Patrick's Day in Northern Ireland only.
    assert review_due_by(london(2026, 3, 16, 10), ENGLAND) == utc(2026, 3, 18, 23, 59, 59)
    assert review_due_by(london(2026, 3, 16, 10), NORTHERN_IRELAND) == utc(2026, 3, 19, 23, 59, 59)


def test_the_services_closed_dates_are_not_working_days():
    closed = service(closed=["2026-11-09", "2026-11-10"])
    # Fri 6 Nov -> Mon 9, Tue 10 closed -> Wed 11 (1), Thu 12 (2).
    assert review_due_by(london(2026, 11, 6, 10), closed) == utc(2026, 11, 12, 23, 59, 59)
    # A closed date on a weekend or a holiday changes nothing.
    assert review_due_by(london(2026, 11, 6, 10), service(closed=["2026-11-07"])) == utc(2026, 11, 10, 23, 59, 59)


# --- midnight and the clock changes --------------------------------------------------------------------
def test_the_london_date_decides_not_the_utc_date_in_summer():
    # Friday 3 July 2026, BST. 23:30 London (22:30Z Fri) is a Friday submission -> Tue 7 July.
    assert review_due_by(london(2026, 7, 3, 23, 30), ENGLAND) == utc(2026, 7, 7, 22, 59, 59)
    # 00:30 London on Saturday is 23:30Z on the Friday, but a Saturday submission -> Tue 7 as well;
    # while 00:30 London on Friday (23:30Z Thursday) is a Friday submission -> Tue 7, not Mon 6.
    assert review_due_by(london(2026, 7, 4, 0, 30), ENGLAND) == utc(2026, 7, 7, 22, 59, 59)
    assert review_due_by(utc(2026, 7, 2, 23, 30), ENGLAND) == utc(2026, 7, 7, 22, 59, 59)
    assert review_due_by(utc(2026, 7, 2, 22, 30), ENGLAND) == utc(2026, 7, 6, 22, 59, 59)  # 23:30 Thu London


def test_midnight_in_winter():
    # Wednesday 4 Nov 2026, GMT: 23:30 Wed -> Fri 6; 00:30 Thu -> Mon 9.
    assert review_due_by(london(2026, 11, 4, 23, 30), ENGLAND) == utc(2026, 11, 6, 23, 59, 59)
    assert review_due_by(london(2026, 11, 5, 0, 30), ENGLAND) == utc(2026, 11, 9, 23, 59, 59)


def test_spring_clock_change():
    # Clocks go forward on Sunday 29 March 2026. Fri 27 (GMT) -> Mon 30 (1), Tue 31 (2), due in BST.
    assert review_due_by(london(2026, 3, 27, 10), ENGLAND) == utc(2026, 3, 31, 22, 59, 59)
    # Submitted on the Sunday itself, either side of 01:00Z.
    assert review_due_by(utc(2026, 3, 29, 0, 30), ENGLAND) == utc(2026, 3, 31, 22, 59, 59)
    assert review_due_by(utc(2026, 3, 29, 1, 30), ENGLAND) == utc(2026, 3, 31, 22, 59, 59)
    # 23:30Z on Monday 30 March is 00:30 BST on Tuesday 31: a Tuesday submission -> Thu 2 April.
    assert review_due_by(utc(2026, 3, 30, 23, 30), ENGLAND) == utc(2026, 4, 2, 22, 59, 59)


def test_autumn_clock_change():
    # Clocks go back on Sunday 25 October 2026. Fri 23 (BST) -> Mon 26 (1), Tue 27 (2), due in GMT.
    assert review_due_by(london(2026, 10, 23, 10), ENGLAND) == utc(2026, 10, 27, 23, 59, 59)
    # 23:30Z on Thursday 22 Oct is 00:30 BST Friday 23: a Friday submission.
    assert review_due_by(utc(2026, 10, 22, 23, 30), ENGLAND) == utc(2026, 10, 27, 23, 59, 59)
    # Due on a BST day (Friday 23) from a Wednesday: 22:59:59Z.
    assert review_due_by(london(2026, 10, 21, 10), ENGLAND) == utc(2026, 10, 23, 22, 59, 59)


# --- working days between two instants ------------------------------------------------------------------
def test_working_days_between():
    monday = london(2026, 11, 2, 9)
    assert working_days_between(monday, london(2026, 11, 2, 17), ENGLAND) == 0
    assert working_days_between(monday, london(2026, 11, 3, 0, 1), ENGLAND) == 1
    assert working_days_between(monday, london(2026, 11, 9, 9), ENGLAND) == 5   # Tue..Fri, Mon
    assert working_days_between(london(2026, 11, 6, 9), london(2026, 11, 8, 9), ENGLAND) == 0  # Fri -> Sun
    assert working_days_between(london(2026, 12, 23, 9), london(2026, 12, 29, 9), ENGLAND) == 2  # Thu 24, Tue 29
    assert working_days_between(london(2026, 11, 9), monday, ENGLAND) == 0  # end before start
    assert working_days_between(london(2026, 11, 27), london(2026, 12, 1), SCOTLAND) == 1  # St Andrew's


@pytest.mark.parametrize("submitted", [london(2026, 11, 6, 16), london(2026, 12, 23, 10), london(2026, 3, 27, 10)])
@pytest.mark.parametrize("days", [2, 3, 5])
def test_due_exactly_when_n_working_days_have_passed(submitted, days):
    due = review_due_by(submitted, service(days))
    assert working_days_between(submitted, due, service(days)) == days
    assert working_days_between(submitted, due - timedelta(days=1), service(days)) < days


# --- resubmission after information was requested --------------------------------------------------------
def test_resubmission_moves_the_due_time_by_the_working_days_spent_waiting():
    submitted = london(2026, 11, 2, 9)                  # Monday
    due = review_due_by(submitted, ENGLAND)             # Wed 4 Nov 23:59:59
    requested = london(2026, 11, 3, 11)                 # Tuesday: more images, please
    resubmitted = london(2026, 11, 6, 15)               # Friday: Wed, Thu, Fri spent waiting
    assert resubmitted_due_by(due, requested, resubmitted, ENGLAND) == utc(2026, 11, 9, 23, 59, 59)  # Thu, Fri, Mon


def test_resubmission_the_same_day_costs_nothing_and_weekends_do_not_count():
    due = review_due_by(london(2026, 11, 5, 9), ENGLAND)   # Thu -> Mon 9
    assert resubmitted_due_by(due, london(2026, 11, 5, 10), london(2026, 11, 5, 16), ENGLAND) == due
    # Requested Friday, answered Sunday: no working day waited.
    assert resubmitted_due_by(due, london(2026, 11, 6, 10), london(2026, 11, 8, 16), ENGLAND) == due
    # Requested Friday, answered Monday: one -> Tue 10.
    assert resubmitted_due_by(due, london(2026, 11, 6, 10), london(2026, 11, 9, 8), ENGLAND) == \
        utc(2026, 11, 10, 23, 59, 59)


def test_resubmission_over_christmas_skips_the_holidays_on_both_sides():
    due = review_due_by(london(2026, 12, 22, 10), ENGLAND)   # Tue -> Thu 24 Dec
    assert due == utc(2026, 12, 24, 23, 59, 59)
    # Asked on Wed 23, answered Tue 29: Thu 24 and Tue 29 waited -> Thu 24 + 2 = Tue 29 + 1 = Wed 30.
    assert resubmitted_due_by(due, london(2026, 12, 23, 9), london(2026, 12, 29, 9), ENGLAND) == \
        utc(2026, 12, 30, 23, 59, 59)


def test_resubmission_across_the_spring_clock_change_lands_at_23_59_59_bst():
    due = review_due_by(london(2026, 3, 25, 10), ENGLAND)    # Wed -> Fri 27 March, GMT
    assert due == utc(2026, 3, 27, 23, 59, 59)
    moved = resubmitted_due_by(due, london(2026, 3, 26, 10), london(2026, 3, 27, 10), ENGLAND)  # one day
    assert moved == utc(2026, 3, 30, 22, 59, 59)             # Mon 30, BST


def test_resubmission_honours_closed_dates():
    closed = service(closed=["2026-11-09"])
    due = review_due_by(london(2026, 11, 4, 9), closed)      # Wed -> Fri 6
    # Waited Thu 5 (1) -> Fri 6 + 1 working day = Tue 10 (Mon 9 closed).
    assert resubmitted_due_by(due, london(2026, 11, 4, 12), london(2026, 11, 5, 12), closed) == \
        utc(2026, 11, 10, 23, 59, 59)


# --- sla at the edges ------------------------------------------------------------------------------------
@pytest.mark.parametrize("now, expected", [
    (utc(2026, 11, 3, 23, 59, 59), Sla.ON_TRACK),    # the day before, last second
    (utc(2026, 11, 4, 0, 0, 0), Sla.DUE_TODAY),      # midnight London (GMT)
    (utc(2026, 11, 4, 23, 59, 59), Sla.DUE_TODAY),   # the due second itself
    (utc(2026, 11, 5, 0, 0, 0), Sla.OVERDUE),        # one second later
    (utc(2026, 12, 1, 9), Sla.OVERDUE),
])
def test_sla_in_winter(now, expected):
    assert sla(utc(2026, 11, 4, 23, 59, 59), now) is expected


@pytest.mark.parametrize("now, expected", [
    (utc(2026, 7, 2, 22, 59, 59), Sla.ON_TRACK),     # 23:59:59 BST the day before
    (utc(2026, 7, 2, 23, 0, 0), Sla.DUE_TODAY),      # 00:00 BST on the due day (still the 2nd in UTC)
    (utc(2026, 7, 3, 22, 59, 59), Sla.DUE_TODAY),
    (utc(2026, 7, 3, 23, 0, 0), Sla.OVERDUE),        # 00:00 BST the next day
])
def test_sla_in_summer_follows_the_london_day(now, expected):
    assert sla(utc(2026, 7, 3, 22, 59, 59), now) is expected
