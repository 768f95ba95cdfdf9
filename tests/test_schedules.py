"""The timers that keep grants honest, as the Functions host indexes them from function_app.py, and
as local mode runs them."""
from __future__ import annotations

import pytest

TIMERS = {
    "mark_expired_grants": "0 */5 * * * *",  # every 5 minutes
    "warn_expiring_grants": "0 0 * * * *",  # hourly
    "warn_subscriptions_ending": "0 0 7 * * *",  # daily at 07:00 UTC
}


def test_the_host_indexes_the_three_expiry_timers():
    from tests.support.indexed import indexed_functions

    functions = indexed_functions()
    for name, schedule in TIMERS.items():
        [timer] = functions[name]
        assert timer["type"] == "timerTrigger" and timer["schedule"] == schedule, name
        assert timer["runOnStartup"] is False and timer["useMonitor"] is True, name
        assert len(schedule.split()) == 6  # NCRONTAB: seconds first


def test_local_mode_runs_the_same_jobs():
    from functions import schedules_bp
    from functions.local_triggers import local_jobs

    jobs = {job.name: job for job in local_jobs()}
    assert set(TIMERS) <= set(jobs)
    assert jobs["mark_expired_grants"].run is schedules_bp.mark_expired_grants_job
    assert jobs["warn_expiring_grants"].run is schedules_bp.warn_expiring_grants_job
    assert jobs["warn_subscriptions_ending"].run is schedules_bp.warn_subscriptions_ending_job


@pytest.mark.parametrize("function, method", [
    ("mark_expired_grants", "mark_expired"), ("warn_expiring_grants", "warn_expiring"),
    ("warn_subscriptions_ending", "warn_subscriptions_ending"),
])
def test_each_timer_calls_its_job_on_the_shared_container(monkeypatch, function, method):
    from functions import runtime, schedules_bp

    calls = []

    class Expiry:
        def __getattr__(self, name):
            return lambda: calls.append(name) or 0

    container = type("Container", (), {"expiry": Expiry()})()
    monkeypatch.setattr(runtime, "_lazy", type("Fixed", (), {"get": lambda self: container})())
    getattr(schedules_bp, function)(None)
    assert calls == [method]


def test_the_referral_timers_run_every_15_minutes_on_the_host_and_locally(monkeypatch):
    """The review clock's notices (shared_code/referrals/deadlines.py): on the quarter hour, so the
    first run from 08:00 London is at 08:00 in BST and GMT alike."""
    from functions import runtime, schedules_bp
    from functions.local_triggers import local_jobs
    from tests.support.indexed import indexed_functions

    [timer] = indexed_functions()["referral_timers"]
    assert (timer["type"], timer["schedule"], timer["useMonitor"]) == ("timerTrigger", "0 */15 * * * *", True)
    assert {job.name: job for job in local_jobs()}["referral_timers"].run is schedules_bp.referral_timers_job
    calls = []
    timers = type("Timers", (), {"run": lambda self: calls.append("run") or {"overdue": 0}})()
    container = type("Container", (), {"referral_timers": timers})()
    monkeypatch.setattr(runtime, "_lazy", type("Fixed", (), {"get": lambda self: container})())
    schedules_bp.referral_timers(None)
    assert calls == ["run"]
