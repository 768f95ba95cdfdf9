"""Triggers of the image area: the Event Grid-sourced blob trigger that processes uploads, and the
timers that keep uploads honest (the re-drive, the incoming sweep, the leftover sweep).

The blob trigger binds `IncomingBlob`, an SDK-type binding (azurefunctions-extensions-base): the host
sends the blob's model binding data (container and name), not its content. With `func.InputStream`
the host and the worker hold the whole blob in memory before the function starts, and a SAS cannot
cap an upload's size, so one 5 GB PUT could sink an instance and be redelivered for ever. The
handler reads the size from the blob's properties, refuses an oversized blob as `too_large` without
reading it, and otherwise reads through the app's own blob adapter, stopping at MAX_UPLOAD_BYTES.
(azurefunctions-extensions-bindings-blob would bind a ready BlobClient, but imports the Storage
SDK and azure-identity with function_app: the name is all this handler needs.) Each calls a handler in shared_code; locally the same handlers run
in-process (the upload URL's PUT calls `IncomingUploads.process`; the timers run as local jobs).

Event Grid delivers duplicates and several BlobCreated events per multi-request upload: the deploy
script's subscription keeps only final commits (data.api PutBlob, PutBlockList, CopyBlob,
FlushWithClose), and `IncomingUploads.process` is idempotent on blob name + ETag (images/incoming.py);
the timers are images/redrive.py's.

The trigger and the re-drive process uploads only in one of the instance's upload slots
(shared_code/images/admission.py, MAX_CONCURRENT_UPLOADS shared with the direct uploads), so an
upload URL's bytes never add to the memory the limit bounds; host.json's
`extensions.blobs.maxDegreeOfParallelism` keeps the host from starting more trigger runs than that
at once (README, "Images")."""
# No `from __future__ import annotations`: the worker reads the trigger parameter's annotation as a
# class (a string would not be recognised as the SDK type, and the host would send the content).
import json
import logging
from typing import Any

import azure.functions as func
from azurefunctions.extensions.base import Datum, InConverter, SdkType

from functions.local_jobs import LocalJob
from functions.runtime import get_container
from shared_code.images.admission import upload_admission
from shared_code.settings import INCOMING_CONTAINER
from shared_code.telemetry.traces import trigger_run

log = logging.getLogger(__name__)
bp = func.Blueprint()
# A trigger holds no body while it waits for a slot, so it may wait far longer than a client; still
# busy after this, the run fails (UploadsBusy) and is retried as a failed run is; whatever is left
# waiting, the re-drive takes up after UPLOAD_STUCK_MINUTES.
TRIGGER_WAIT_SECONDS = 120.0


class IncomingBlob(SdkType):
    """What the upload trigger is handed: the blob's container and name, never its bytes."""

    def __init__(self, *, data: Any = None, container: str = "", name: str = ""):
        super().__init__(data=data)
        content = json.loads(data.content) if data is not None else {}
        self.container = content.get("ContainerName", container)
        self.name = content.get("BlobName", name)

    def get_sdk_type(self) -> "IncomingBlob":
        return self


class _IncomingBlobConverter(InConverter, binding="blob", trigger="blobTrigger"):
    """Turns the host's model binding data into an IncomingBlob (the worker's deferred binding)."""

    @classmethod
    def check_input_type_annotation(cls, pytype: type) -> bool:
        return isinstance(pytype, type) and issubclass(pytype, IncomingBlob)

    @classmethod
    def decode(cls, data: Datum, *, trigger_metadata, pytype) -> IncomingBlob:
        if data is None or data.type != "model_binding_data":
            raise ValueError(f"the upload trigger takes model binding data, not {getattr(data, 'type', None)!r}")
        return IncomingBlob(data=data.value)


@bp.function_name("process_incoming_upload")
@bp.blob_trigger(arg_name="blob", path=f"{INCOMING_CONTAINER}/{{name}}", connection="AzureWebJobsStorage",
                 source=func.BlobSource.EVENT_GRID)
def process_incoming_upload(blob: IncomingBlob) -> None:
    with trigger_run("blob", "process_incoming_upload"):
        container = get_container()
        with upload_admission(container.settings).hold(TRIGGER_WAIT_SECONDS):
            outcome = container.incoming.process(blob.name)
    log.info("incoming upload handled", extra={"event": f"upload.{outcome}"})


@bp.function_name("redrive_uploads")
@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False, use_monitor=True)
def redrive_uploads(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "redrive_uploads"):
        redrive_uploads_job(get_container())


@bp.function_name("sweep_incoming")
@bp.timer_trigger(arg_name="timer", schedule="0 17 * * * *", run_on_startup=False, use_monitor=True)
def sweep_incoming(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "sweep_incoming"):
        sweep_incoming_job(get_container())


@bp.function_name("sweep_leftovers")
@bp.timer_trigger(arg_name="timer", schedule="0 41 * * * *", run_on_startup=False, use_monitor=True)
def sweep_leftovers(timer: func.TimerRequest) -> None:
    with trigger_run("timer", "sweep_leftovers"):
        sweep_leftovers_job(get_container())


def redrive_uploads_job(container) -> dict[str, int]:
    # One slot for the whole run: it processes the uploads it takes up one after another.
    with upload_admission(container.settings).hold(TRIGGER_WAIT_SECONDS):
        return container.upload_redrive.redrive_pending()


def recover_uploads_job(container) -> dict[str, int]:
    with upload_admission(container.settings).hold(TRIGGER_WAIT_SECONDS):
        outcomes = container.upload_redrive.recover()
    if outcomes:
        log.info("unfinished uploads taken up at start", extra={"event": "upload.recovered", "outcomes": outcomes})
    return outcomes


def sweep_incoming_job(container) -> int:
    return container.upload_redrive.sweep_incoming()


def sweep_leftovers_job(container) -> dict[str, int]:
    removed = container.upload_redrive.sweep_leftovers()
    if any(removed.values()):
        log.info("leftovers of interrupted writes removed", extra={"event": "storage.leftovers", **removed})
    return removed


LOCAL_JOBS = [
    LocalJob("redrive_uploads", 60, redrive_uploads_job),
    LocalJob("sweep_incoming", 3600, sweep_incoming_job),
    LocalJob("sweep_leftovers", 3600, sweep_leftovers_job),
]
# Locally, once at start (functions/local_triggers.py): what a killed process left is taken up now.
LOCAL_AT_START = [LocalJob("recover_uploads", 0, recover_uploads_job)]
