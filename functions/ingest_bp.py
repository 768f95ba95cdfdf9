"""Triggers of the image area: the Event Grid-sourced blob trigger that processes uploads, and the
timers that keep uploads honest. Each calls a handler in shared_code; locally the same handlers run
in-process (the upload URL's PUT calls `IncomingUploads.process`; the timers run as local jobs).

Event Grid delivers duplicates and several BlobCreated events per multi-request upload: the deploy
script's subscription keeps only final commits (data.api PutBlob, PutBlockList, CopyBlob,
FlushWithClose), and `IncomingUploads.process` is idempotent on blob name + ETag (images/incoming.py);
the timers are images/redrive.py's."""
from __future__ import annotations

import logging

import azure.functions as func

from functions.local_jobs import LocalJob
from functions.runtime import get_container
from shared_code.settings import INCOMING_CONTAINER

log = logging.getLogger(__name__)
bp = func.Blueprint()


@bp.function_name("process_incoming_upload")
@bp.blob_trigger(arg_name="blob", path=f"{INCOMING_CONTAINER}/{{name}}", connection="AzureWebJobsStorage",
                 source=func.BlobSource.EVENT_GRID)
def process_incoming_upload(blob: func.InputStream) -> None:
    name = (blob.name or "").removeprefix(f"{INCOMING_CONTAINER}/")
    outcome = get_container().incoming.process(name)
    log.info("incoming upload handled", extra={"event": f"upload.{outcome}"})


@bp.function_name("redrive_uploads")
@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False, use_monitor=True)
def redrive_uploads(timer: func.TimerRequest) -> None:
    redrive_uploads_job(get_container())


@bp.function_name("sweep_incoming")
@bp.timer_trigger(arg_name="timer", schedule="0 17 * * * *", run_on_startup=False, use_monitor=True)
def sweep_incoming(timer: func.TimerRequest) -> None:
    sweep_incoming_job(get_container())


def redrive_uploads_job(container) -> dict[str, int]:
    return container.upload_redrive.redrive_pending()


def sweep_incoming_job(container) -> int:
    return container.upload_redrive.sweep_incoming()


LOCAL_JOBS = [
    LocalJob("redrive_uploads", 60, redrive_uploads_job),
    LocalJob("sweep_incoming", 3600, sweep_incoming_job),
]
