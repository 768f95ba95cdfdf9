"""The timers that keep grants honest (shared_code/sharing/expiry.py) and apply retention, registered on the app in
function_app.py. Each calls a `*_job(container)` function, which local mode runs in-process
(LOCAL_JOBS, through functions/local_triggers.py).

- `mark_expired_grants`, every 5 minutes: grants past their expiry get `expiredNotifiedAt` and one
  `grant.expired` to the patient (unless revoked);
- `warn_expiring_grants`, hourly: active grants ending within 48 h, one `grant.expiring`;
- `warn_subscriptions_ending`, daily at 07:00 UTC: clinics whose subscription ends within 30 days,
  one `subscription.ending` to their admins per end date;
- `apply_retention`, daily at 02:30 UTC: the retention schedule (shared_code/retention/service.py):
  inactive accounts warned, then erased; erased patients' audit trails, old outbox markers and
  dedupe records deleted; a legal hold stops it for one patient; each run audited with its counts;
- `apply_referral_retention`, daily at 03:00 UTC: referrals closed or cancelled long enough ago
  (a cancelled draft after 30 days, a referral after the 8-year records period) crypto-shredded
  and deleted as a unit, their access logs left to the audit period (shared_code/retention/referrals.py);
- `send_photo_reminders`, every 15 minutes: folders whose photo reminder is due get one
  `reminder.due` per due date (shared_code/folders/reminders.py); quiet 21:00-08:00 Europe/London,
  and 08:00 London is on the quarter hour in BST and GMT alike;
- `referral_timers`, every 15 minutes: the review clock's notices (shared_code/referrals/deadlines.py):
  each service's due-today digest (once per London day), overdue referrals to the service's clinic
  admins, the referrer alerted after 20 working days with no outcome and reminded of an outcome
  unacknowledged for 5; each once, and only from 08:00 London (on the quarter hour in BST and GMT);
- `complete_audit`, every minute: a change whose audit entry a crash or an outage interrupted gets
  its entry, and a change that never happened loses its leftovers (shared_code/sharing/audit.py).

The host runs a timer on one instance at a time (its blob lease) and `use_monitor` keeps the
schedule across restarts; the jobs are idempotent and ETag-guarded anyway, so two runs at once
still tell everyone once. Times are NCRONTAB (six fields, seconds first), in UTC."""
from __future__ import annotations

import azure.functions as func

from functions.local_jobs import LocalJob
from functions.runtime import get_container
from shared_code.telemetry import metrics
from shared_code.telemetry.traces import trigger_run

bp = func.Blueprint()


@bp.function_name("mark_expired_grants")
@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False, use_monitor=True)
def mark_expired_grants(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "mark_expired_grants"):
        mark_expired_grants_job(get_container())


@bp.function_name("warn_expiring_grants")
@bp.timer_trigger(arg_name="timer", schedule="0 0 * * * *", run_on_startup=False, use_monitor=True)
def warn_expiring_grants(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "warn_expiring_grants"):
        warn_expiring_grants_job(get_container())


@bp.function_name("warn_subscriptions_ending")
@bp.timer_trigger(arg_name="timer", schedule="0 0 7 * * *", run_on_startup=False, use_monitor=True)
def warn_subscriptions_ending(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "warn_subscriptions_ending"):
        warn_subscriptions_ending_job(get_container())


@bp.function_name("apply_retention")
@bp.timer_trigger(arg_name="timer", schedule="0 30 2 * * *", run_on_startup=False, use_monitor=True)
def apply_retention(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "apply_retention"):
        apply_retention_job(get_container())


@bp.function_name("apply_referral_retention")
@bp.timer_trigger(arg_name="timer", schedule="0 0 3 * * *", run_on_startup=False, use_monitor=True)
def apply_referral_retention(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "apply_referral_retention"):
        apply_referral_retention_job(get_container())


@bp.function_name("send_photo_reminders")
@bp.timer_trigger(arg_name="timer", schedule="0 */15 * * * *", run_on_startup=False, use_monitor=True)
def send_photo_reminders(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "send_photo_reminders"):
        send_photo_reminders_job(get_container())


@bp.function_name("complete_audit")
@bp.timer_trigger(arg_name="timer", schedule="0 */1 * * * *", run_on_startup=False, use_monitor=True)
def complete_audit(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "complete_audit"):
        complete_audit_job(get_container())


@bp.function_name("referral_timers")
@bp.timer_trigger(arg_name="timer", schedule="0 */15 * * * *", run_on_startup=False, use_monitor=True)
def referral_timers(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "referral_timers"):
        referral_timers_job(get_container())


def referral_timers_job(container) -> dict[str, int]:
    counts = container.referral_timers.run()
    metrics.referral_notices(counts)
    return counts


def complete_audit_job(container):
    return container.sharing.audit.sweep()


def send_photo_reminders_job(container) -> int:
    return container.reminders.notify_due()


def apply_retention_job(container) -> dict[str, int]:
    return container.retention.run()


def apply_referral_retention_job(container) -> dict[str, int]:
    return container.referral_retention.run()


def mark_expired_grants_job(container) -> int:
    told = container.expiry.mark_expired()
    metrics.grants_told("expired", told)
    return told


def warn_expiring_grants_job(container) -> int:
    told = container.expiry.warn_expiring()
    metrics.grants_told("expiring", told)
    return told


def warn_subscriptions_ending_job(container) -> int:
    return container.expiry.warn_subscriptions_ending()


# Locally (make run) more often than in Azure, so a development session sees them: all idempotent.
LOCAL_JOBS = [
    LocalJob("mark_expired_grants", 60, mark_expired_grants_job),
    LocalJob("warn_expiring_grants", 300, warn_expiring_grants_job),
    LocalJob("warn_subscriptions_ending", 3600, warn_subscriptions_ending_job),
    LocalJob("apply_retention", 3600, apply_retention_job),
    LocalJob("apply_referral_retention", 3600, apply_referral_retention_job),
    LocalJob("send_photo_reminders", 300, send_photo_reminders_job),
    LocalJob("complete_audit", 30, complete_audit_job),
    LocalJob("referral_timers", 300, referral_timers_job),
]
