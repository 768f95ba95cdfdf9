"""Local mode: drives the non-HTTP triggers in-process, calling the very handlers that the
Blueprints in this package hand to the Functions host in Azure.

- queue triggers: poll the embedded durable queue, same visibility and poison rules as Azure;
- timer triggers: run on their schedule's interval;
- blob (Event Grid) triggers: invoked by the local upload endpoint right after the PUT;
- at start, once, the jobs that finish what a killed process left (LOCAL_AT_START: the uploads
  re-drive, taking back claims of the dead process), so nothing waits for the first timer.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable

from functions import decision_support_bp, ingest_bp, notifications_bp, schedules_bp
from functions.local_jobs import LocalJob
from shared_code.telemetry.traces import trigger_run

if TYPE_CHECKING:
    from shared_code.container import Container

log = logging.getLogger(__name__)


def local_jobs() -> list[LocalJob]:
    """Every trigger area contributes its jobs here (the module's LOCAL_JOBS)."""
    return [*ingest_bp.LOCAL_JOBS, *notifications_bp.LOCAL_JOBS, *schedules_bp.LOCAL_JOBS,
            *decision_support_bp.LOCAL_JOBS]


def at_start_jobs() -> list[LocalJob]:
    return [*ingest_bp.LOCAL_AT_START]


def run(job: LocalJob, container: "Container") -> None:
    """One run of a job, in its span as the Azure timer's run is (shared_code/telemetry/traces.py)."""
    if not job.traced:
        return job.run(container)
    with trigger_run("timer", job.name):
        job.run(container)


def start_local_triggers(container: "Container") -> Callable[[], None]:
    stopping = threading.Event()
    threads = []
    for job in at_start_jobs():
        def once(job: LocalJob = job) -> None:
            try:
                run(job, container)
            except Exception:  # noqa: BLE001 - the timer runs it again later
                log.exception("start-up job %s failed", job.name)

        thread = threading.Thread(target=once, name=f"start-{job.name}", daemon=True)
        thread.start()
        threads.append(thread)
    for job in local_jobs():
        def loop(job: LocalJob = job) -> None:
            while not stopping.wait(job.every_seconds):
                try:
                    run(job, container)
                except Exception:  # noqa: BLE001 - a failing job must not stop the others
                    log.exception("local trigger %s failed", job.name)

        thread = threading.Thread(target=loop, name=f"trigger-{job.name}", daemon=True)
        thread.start()
        threads.append(thread)

    def stop() -> None:
        stopping.set()
        for thread in threads:
            thread.join(timeout=5)

    return stop
