"""The folder record: one skin problem of one patient (`patients` / patient id / folder id `f_...`,
`type: folder`), with the count of its ready images, its overlay template and its photo reminder;
and the reminder's index entry (`directory` / `reminders`), where the reminder timer looks."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable, Literal

from shared_code.clock import iso, parse_time

from shared_code.domain.body_sites import BODY_SITES
from shared_code.records import Record

SNOMED = "http://snomed.info/sct"


class BodySiteRecord(Record):
    system: str = SNOMED
    code: str
    display: str
    laterality: Literal["left", "right"] | None = None

    @classmethod
    def of(cls, code: str, laterality: str | None) -> "BodySiteRecord":
        """The stored coding of a known SNOMED CT body structure code (the display is ours)."""
        return cls(code=code, display=BODY_SITES[code], laterality=laterality)


class ReminderRecord(Record):
    every_days: int
    next_due_at: str  # the latest photo's time (or when the reminder was set) + every_days
    notified_for: str | None = None  # the next_due_at the patient has been reminded of (once per due date)

    @classmethod
    def starting(cls, every_days: int, since: str) -> "ReminderRecord":
        return cls(every_days=every_days, next_due_at=iso(parse_time(since) + timedelta(days=every_days)))

    @property
    def pending(self) -> bool:
        """Due (or to fall due) and not yet told: the timer has work for it."""
        return self.notified_for != self.next_due_at

    def public(self) -> dict:
        return {"everyDays": self.every_days, "nextDueAt": self.next_due_at}


class ReminderEntry(Record):
    """Ids and a time only: where the reminder timer looks, never what it decides on."""
    id: str  # the folder id
    type: Literal["reminder"] = "reminder"
    patient_id: str
    folder_id: str
    due_at: str


class FolderRecord(Record):
    id: str
    type: Literal["folder"] = "folder"
    label: str
    body_site: BodySiteRecord | None = None
    condition: str | None = None
    image_count: int = 0
    template_image_id: str | None = None
    template_chosen: bool = False  # the patient picked the template (or picked none)
    latest_photo_at: str | None = None  # the newest ready photo's takenAt (or upload time)
    reminder: ReminderRecord | None = None
    events: list[str] = []  # the outbox's event ids (a reminder's notification is written with it)
    created_at: str
    updated_at: str

    def public(self) -> dict:
        """The API's folder (API.md, Folder)."""
        return {"id": self.id, "label": self.label,
                "bodySite": self.body_site.to_doc() if self.body_site else None, "condition": self.condition,
                "imageCount": self.image_count, "templateImageId": self.template_image_id,
                "reminder": self.reminder.public() if self.reminder else None,
                "createdAt": self.created_at, "updatedAt": self.updated_at}

    # --- kept in step with its images ---
    def with_image_ready(self, image_id: str, taken_at: str | None = None) -> "FolderRecord":
        """`taken_at`: the photo's takenAt, or its upload time. A photo newer than any before moves
        the reminder's next due date to it + everyDays (an older one, filed late, does not)."""
        # By default the template is the first image that became ready, unless the patient chose.
        template = self.template_image_id
        if not self.template_chosen and not template:
            template = image_id
        changes: dict = {"image_count": self.image_count + 1, "template_image_id": template}
        if taken_at and (self.latest_photo_at is None or parse_time(taken_at) > parse_time(self.latest_photo_at)):
            changes["latest_photo_at"] = taken_at
            if self.reminder is not None:
                changes["reminder"] = ReminderRecord.starting(self.reminder.every_days, taken_at)
        return self.but(**changes)

    def with_reminder(self, every_days: int | None, now: str) -> "FolderRecord":
        """Set (from the latest photo, or from now if there is none) or, with None, removed."""
        if every_days is None:
            return self.but(reminder=None, updated_at=now)
        reminder = ReminderRecord.starting(every_days, self.latest_photo_at or now)
        if self.reminder is not None and self.reminder.next_due_at == reminder.next_due_at:
            reminder = self.reminder  # the same due date: told already stays told
        return self.but(reminder=reminder, updated_at=now)

    def with_image_removed(self, image_id: str, first_ready: Callable[[], str | None]) -> "FolderRecord":
        """`first_ready` names the folder's first ready image; asked only if the template goes."""
        count = max(0, self.image_count - 1)
        if self.template_image_id != image_id:
            return self.but(image_count=count)
        return self.but(image_count=count, template_image_id=first_ready(), template_chosen=False)

    def with_template(self, image_id: str | None) -> "FolderRecord":
        return self.but(template_image_id=image_id, template_chosen=True)
