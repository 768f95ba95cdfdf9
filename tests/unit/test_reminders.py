"""The rules of photo reminders and of whose address is mailed, on the in-memory fakes: quiet hours
on London's clocks (both clock changes), how a photo moves the due date, once per due date, the
index only pointing where to look, and `emailVerified` from the token's verified address."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from shared_code.accounts.schemas import AccountIn
from shared_code.clock import iso
from shared_code.folders.reminders import in_quiet_hours
from shared_code.folders.records import FolderRecord, ReminderRecord
from shared_code.folders.schemas import ReminderIn
from shared_code.notifications.contract import REMINDER_DUE
from tests.support.steps import drain

UTC = timezone.utc


@pytest.mark.parametrize("moment,quiet", [
    (datetime(2026, 10, 24, 6, 59, tzinfo=UTC), True),    # 07:59 BST
    (datetime(2026, 10, 24, 7, 0, tzinfo=UTC), False),    # 08:00 BST
    (datetime(2026, 10, 24, 19, 59, tzinfo=UTC), False),  # 20:59 BST
    (datetime(2026, 10, 24, 20, 0, tzinfo=UTC), True),    # 21:00 BST
    (datetime(2026, 10, 25, 7, 0, tzinfo=UTC), True),     # 07:00 GMT: the clocks went back at 01:00 UTC
    (datetime(2026, 10, 25, 8, 0, tzinfo=UTC), False),    # 08:00 GMT
    (datetime(2026, 10, 25, 20, 30, tzinfo=UTC), False),  # 20:30 GMT
    (datetime(2026, 10, 25, 21, 0, tzinfo=UTC), True),    # 21:00 GMT
    (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), False),     # 08:00 BST, the spring change's morning
    (datetime(2026, 3, 28, 7, 0, tzinfo=UTC), True),      # 07:00 GMT the day before
])
def test_quiet_hours_are_21_to_8_on_londons_clocks(moment, quiet):
    assert in_quiet_hours(moment) is quiet


def _folder(id: str = "f_1") -> FolderRecord:
    return FolderRecord(id=id, label="x", created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z")


def test_a_newer_photo_moves_the_due_date_an_older_one_does_not():
    folder = _folder().with_reminder(7, "2026-01-10T12:00:00Z")
    assert folder.reminder.next_due_at == "2026-01-17T12:00:00Z"
    folder = folder.with_image_ready("i_1", "2026-01-12T09:00:00Z")
    assert folder.reminder.next_due_at == "2026-01-19T09:00:00Z" and folder.latest_photo_at == "2026-01-12T09:00:00Z"
    older = folder.with_image_ready("i_2", "2026-01-01T09:00:00Z")
    assert older.reminder.next_due_at == "2026-01-19T09:00:00Z" and older.image_count == 2
    # Without a reminder the latest photo is still kept, and a reminder set later starts from it.
    plain = _folder().with_image_ready("i_1", "2026-01-12T09:00:00Z")
    assert plain.reminder is None
    assert plain.with_reminder(3, "2026-02-01T00:00:00Z").reminder.next_due_at == "2026-01-15T09:00:00Z"


def test_setting_the_same_due_date_again_does_not_remind_again():
    told = _folder().with_image_ready("i_0", "2026-01-09T12:00:00Z").with_reminder(7, "2026-01-10T12:00:00Z")
    told = told.but(reminder=told.reminder.but(notified_for=told.reminder.next_due_at))
    assert not told.reminder.pending
    assert not told.with_reminder(7, "2026-01-11T00:00:00Z").reminder.pending  # same photo, same interval
    assert told.with_reminder(8, "2026-01-11T00:00:00Z").reminder.pending  # a new due date
    assert told.with_image_ready("i_1", "2026-01-12T00:00:00Z").reminder.pending


def test_reminder_in_is_strict():
    for bad in (0, 366, "7", True, 7.0):
        with pytest.raises(ValueError):
            ReminderIn(everyDays=bad)
    assert ReminderIn(everyDays=365).everyDays == 365


def test_the_timer_emits_ids_only_once_per_due_date(domain, clock):
    clock.at = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    alice = domain.account("alice")
    folder_id = domain.folder(alice, label="mole on left shoulder")
    domain.container.folders.set_reminder(alice.patient_id, folder_id, ReminderIn(everyDays=2))
    jobs = domain.container.reminders
    drain(domain.adapters.queue)
    clock.advance(days=2)
    assert jobs.notify_due() == 1 and jobs.notify_due() == 0
    [body] = drain(domain.adapters.queue)
    message = json.loads(body)
    assert message["kind"] == REMINDER_DUE
    assert message["data"] == {"patientId": alice.patient_id, "folderId": folder_id}
    assert message["dedupeKey"] == f"{REMINDER_DUE}:{folder_id}:{iso(clock.now())}"
    assert "mole" not in body


def test_the_index_only_says_where_to_look(domain, clock):
    clock.at = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    alice = domain.account("alice")
    folder_id = domain.folder(alice)
    folders = domain.container.folders
    folders.set_reminder(alice.patient_id, folder_id, ReminderIn(everyDays=5))
    index = domain.container.reminders.index
    # An entry behind its folder (the folder was moved later and the entry's write was lost):
    # nothing is sent early, and the entry catches up with the folder.
    folder = domain.container.folder_repository.get(alice.patient_id, folder_id)
    index.put(alice.patient_id, folder.but(reminder=ReminderRecord(every_days=5, next_due_at=iso(clock.now()))))
    assert domain.container.reminders.notify_due() == 0
    assert [e.due_at for e in index.by_due()] == [folder.reminder.next_due_at]
    # An entry whose folder never came to be is dropped without a word.
    index.put(alice.patient_id, _folder(id="f_never").with_reminder(1, "2026-01-01T00:00:00Z"))
    assert domain.container.reminders.notify_due() == 0
    assert [e.folder_id for e in index.by_due()] == [folder_id]
    drain(domain.adapters.queue)
    clock.advance(days=5)
    assert domain.container.reminders.notify_due() == 1 and list(index.by_due()) == []


def test_an_address_is_verified_only_by_the_token(domain):
    accounts = domain.container.accounts
    pid = "p_unit"
    account, _ = accounts.put(pid, AccountIn(displayName="A", email="a@example.org"), verified_email=None)
    assert account.email_verified is False  # typed, not proven: never mailed
    account, _ = accounts.put(pid, AccountIn(displayName="A", email="a@example.org"), verified_email="A@Example.org")
    assert account.email_verified is True
    # Sent again without the claim (another device's token): the same address stays verified.
    account, _ = accounts.put(pid, AccountIn(displayName="A", email="a@example.org"), verified_email=None)
    assert account.email_verified is True
    # Any other address is not, even with a verified token for the first.
    account, _ = accounts.put(pid, AccountIn(displayName="A", email="b@example.org"), verified_email="a@example.org")
    assert account.email_verified is False
    account, _ = accounts.put(pid, AccountIn(displayName="A"), verified_email="a@example.org")
    assert account.email_verified is False and account.public()["emailVerified"] is False
