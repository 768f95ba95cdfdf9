"""The review clock: when a submitted referral is due, counted in working days in Europe/London.

`reviewDueBy` is 23:59:59 London time on the Nth working day after the London date of submission
(N = the service's `reviewWithinWorkingDays`), returned in UTC. A working day is Monday to Friday,
not a bank holiday of the service's region (the `holidays` package, substitute days included: Boxing
Day 2026 is a Saturday, so Monday 28 December is the holiday) and not one of the service's own
`closedDates`. Dates are London dates, so a referral sent at 23:30 on a Friday in summer (22:30Z)
is a Friday referral, and one sent at 00:30 on a Saturday in summer (23:30Z on the Friday) is not.

Pure functions of their arguments: no clock, no I/O. The API computes the due time at submission
and the worklist's `sla`; the timers (shared_code/referrals/deadlines.py) count working days with
the same functions, so the worklist and the notifications never disagree."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterator
from zoneinfo import ZoneInfo

import holidays

from shared_code.referrals.records import BankHolidayRegion, ReferralService, Sla

LONDON = ZoneInfo("Europe/London")
END_OF_DAY = time(23, 59, 59)

# The `holidays` package's subdivisions of the United Kingdom; Wales shares England's list.
SUBDIVISIONS = {
    BankHolidayRegion.ENGLAND_AND_WALES: "ENG",
    BankHolidayRegion.SCOTLAND: "SCT",
    BankHolidayRegion.NORTHERN_IRELAND: "NIR",
}


@lru_cache(maxsize=64)
def _bank_holidays(region: BankHolidayRegion, year: int) -> frozenset[date]:
    # Frozen per (region, year): building a holidays calendar is far slower than a set lookup, and the
    # worklist and the timers ask about the same few years over and over.
    return frozenset(holidays.UnitedKingdom(subdiv=SUBDIVISIONS[region], years=year))


def london_date(moment: datetime) -> date:
    """The date in London at an aware instant (the review clock's notion of "the day")."""
    return moment.astimezone(LONDON).date()


def end_of_london_day(day: date) -> datetime:
    """23:59:59 London time on `day`, in UTC (22:59:59Z in summer time, 23:59:59Z in winter)."""
    return datetime.combine(day, END_OF_DAY, tzinfo=LONDON).astimezone(timezone.utc)


def is_working_day(day: date, service: ReferralService) -> bool:
    return (day.weekday() < 5
            and day not in _bank_holidays(service.bank_holidays, day.year)
            and day.isoformat() not in service.closed_dates)


def add_working_days(day: date, count: int, service: ReferralService) -> date:
    """The `count`th working day after `day` (`day` itself when count is 0)."""
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day, service):
            count -= 1
    return day


def review_due_by(submitted_at: datetime, service: ReferralService) -> datetime:
    """23:59:59 London (in UTC) on the Nth working day after the London date of submission."""
    day = add_working_days(london_date(submitted_at), service.review_within_working_days, service)
    return end_of_london_day(day)


def working_days_between(start: datetime, end: datetime, service: ReferralService) -> int:
    """The working days after the London date of `start` up to and including that of `end` (0 when
    both fall on one London day, or `end` is not later). So a referral is due when
    working_days_between(submitted_at, now) reaches N, and a request for information answered the
    same day costs the service nothing."""
    return sum(1 for day in _days_after(start, end) if is_working_day(day, service))


def weekdays_between(start: datetime, end: datetime) -> int:
    """Mondays to Fridays counted as working_days_between counts working days: the most working days
    any service can have in that time, whatever its holidays (so the timers can stop reading early)."""
    return sum(1 for day in _days_after(start, end) if day.weekday() < 5)


def _days_after(start: datetime, end: datetime) -> Iterator[date]:
    """The London dates after that of `start`, up to and including that of `end`."""
    day, last = london_date(start) + timedelta(days=1), london_date(end)
    while day <= last:
        yield day
        day += timedelta(days=1)


def resubmitted_due_by(previous_due_by: datetime, requested_at: datetime, resubmitted_at: datetime,
                       service: ReferralService) -> datetime:
    """A referral sent back with `request_information` and submitted again: the due time moves later
    by the working days it spent with the referrer (the waiting days do not count against the service)."""
    waited = working_days_between(requested_at, resubmitted_at, service)
    return end_of_london_day(add_working_days(london_date(previous_due_by), waited, service))


def sla(due_by: datetime, now: datetime) -> Sla:
    """`overdue` once past the due second; `due_today` on its London date; `on_track` before."""
    if now > due_by:
        return Sla.OVERDUE
    if london_date(now) == london_date(due_by):
        return Sla.DUE_TODAY
    return Sla.ON_TRACK
