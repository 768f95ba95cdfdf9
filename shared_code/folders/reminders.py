"""Photo reminders: the timer that tells a patient "It's time for your next photo".

A folder's reminder (`FolderRecord.reminder`: everyDays, nextDueAt) is set and removed by
PUT/DELETE /api/folders/{folderId}/reminder (service.py); a new ready photo moves nextDueAt to its
takenAt (or upload time) + everyDays (`FolderRecord.with_image_ready`). Finding what is due is one
single-partition query of the reminder index (`directory` / `reminders`, ordered by dueAt, read
until the first entry not yet due), never a scan of folders.

The patient is told once per due date: the claim is `reminder.notifiedFor = nextDueAt` on the
folder, written with its ETag inside DocumentOutbox.emit (the event id joins the folder's `events`
in the same write). Two instances reading the same version both try; one replace wins, the other
gets PreconditionFailed, its outbox marker goes and it queues nothing, then it reads again and
finds the reminder told. The dedupe key `reminder.due:<folderId>:<nextDueAt>` makes redeliveries
one mail. The entry is removed only if unchanged since it was read (a photo may have moved it).

Quiet hours: no reminder is sent between 21:00 and 08:00 Europe/London (zoneinfo, so BST and GMT
alike); a run in quiet hours does nothing, and the first run from 08:00 sends what fell due
overnight. The event carries ids only; the dispatcher sends nothing to an account being erased,
one without a verified address or with `reminders` switched off, or for a folder deleted since
(notifications/recipients.py), and the mail names no label, condition, body site or image."""
from __future__ import annotations

import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo

from shared_code.clock import Clock, parse_time
from shared_code.folders.records import ReminderEntry
from shared_code.folders.repository import FolderRepository, ReminderIndex
from shared_code.notifications.contract import REMINDER_DUE, Outbox, SourceRef
from shared_code.partitions import PatientPartition
from shared_code.ports.documents import DocumentStore
from shared_code.ports.errors import NotFound, PreconditionFailed
from shared_code.settings import PATIENTS

log = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)
_ATTEMPTS = 3  # fresh reads per folder before leaving it to the next run
_BUSY = (PreconditionFailed, NotFound)


def in_quiet_hours(moment: datetime) -> bool:
    """21:00 to 08:00 on the clocks in London, whichever offset they keep that day."""
    local = moment.astimezone(LONDON).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


class ReminderJobs:
    """Built on the document port alone, so a second worker's jobs over the same store are one call."""

    def __init__(self, documents: DocumentStore, clock: Clock, outbox: Outbox):
        self.index = ReminderIndex(documents)
        self._folders = FolderRepository(PatientPartition(documents), self.index)
        self._clock = clock
        self._outbox = outbox

    def notify_due(self) -> int:
        """Every reminder due by now and not yet told: one `reminder.due`. Returns how many now."""
        now = self._clock.now()
        if in_quiet_hours(now):
            return 0
        notified = 0
        for entry in self.index.by_due():
            if parse_time(entry.due_at) > now:
                break  # ascending: everything after this is due later still
            notified += self._handle(entry, now)
        if notified:
            log.info("photo reminders sent: %d", notified)
        return notified

    def _handle(self, entry: ReminderEntry, now: datetime) -> int:
        patient_id, folder_id = entry.patient_id, entry.folder_id
        for _ in range(_ATTEMPTS):
            folder = self._folders.find(patient_id, folder_id)
            if folder is None or folder.reminder is None or not folder.reminder.pending:
                self.index.remove(folder_id, entry.etag)  # gone, switched off, or told already
                return 0
            due = folder.reminder.next_due_at
            if parse_time(due) > now:
                self.index.put(patient_id, folder)  # the entry is behind its folder: the folder decides
                return 0
            claimed = folder.but(reminder=folder.reminder.but(notified_for=due))
            try:
                self._outbox.emit(REMINDER_DUE, {"patientId": patient_id, "folderId": folder_id},
                                  SourceRef(PATIENTS, patient_id, folder_id),
                                  lambda event_id: self._folders.replace(patient_id, claimed, event_id),
                                  dedupe_key=f"{REMINDER_DUE}:{folder_id}:{due}")
            except _BUSY:
                continue
            self.index.remove(folder_id, entry.etag)
            return 1
        log.info("reminder busy, left to the next run: folder=%s", folder_id)
        return 0
