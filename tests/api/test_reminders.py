"""Photo reminders (issue 15), on both adapter families and a FrozenClock the tests move: set and
removed through the API, moved by each new photo, sent once per due date by the timer
(shared_code/folders/reminders.py) through the outbox and the real dispatcher, never during quiet
hours (21:00-08:00 Europe/London, across the autumn clock change too), and never to an unverified
address, an erased account or for a deleted folder."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared_code.clock import FrozenClock, iso
from shared_code.folders.reminders import ReminderJobs
from shared_code.folders.repository import REMINDER_PARTITION
from shared_code.notifications.pump import pump_notifications
from shared_code.ports.errors import NotFound
from shared_code.settings import DIRECTORY, PATIENTS
from tests.support.steps import VALID_NHS, folder, patient_id, upload

ALICE = "alice.smith@example.org"
LABEL = "mole on left shoulder"
CONDITION = "suspected melanoma"
SUBJECT = "It's time for your next photo"
APP = "https://app.telederm.example"
# A Friday in BST, 10:00 UTC (11:00 in London).
START = datetime(2026, 10, 2, 10, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def api(family, tmp_path):
    from tests.support.app import make_api

    return make_api(family, tmp_path / "data", clock=FrozenClock(START), APP_LINK_BASE_URL=APP)


def _alice(api, **account):
    alice = api.patient("alice", "Alice Smith", **{"email": ALICE, "nhsNumber": VALID_NHS, **account})
    folder_id = folder(api, alice, label=LABEL, condition=CONDITION, bodySite={"code": "41695006"})
    return alice, folder_id


def _remind(api, headers, folder_id, every_days) -> dict:
    response = api.client.put(f"/api/folders/{folder_id}/reminder", headers=headers, json={"everyDays": every_days})
    assert response.status_code == 200, response.text
    return response.json()


def _deliver(api) -> list[dict]:
    mail = api.container.adapters.mail
    before = mail.count()
    pump_notifications(api.container)
    return list(reversed(mail.list(mail.count() - before))) if mail.count() > before else []


def _entry(api, folder_id) -> dict | None:
    try:
        return api.container.adapters.documents.read(DIRECTORY, REMINDER_PARTITION, folder_id).doc
    except NotFound:
        return None


def _at(api, moment: datetime) -> None:
    api.container.clock.at = moment


def _get(api, headers, folder_id) -> dict:
    response = api.client.get(f"/api/folders/{folder_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_reminder_is_set_shown_and_removed(api):
    alice, folder_id = _alice(api)
    assert _get(api, alice, folder_id)["reminder"] is None
    reminder = _remind(api, alice, folder_id, 14)
    # No photo yet: from when the reminder was set.
    assert reminder == {"everyDays": 14, "nextDueAt": iso(START + timedelta(days=14))}
    assert _get(api, alice, folder_id)["reminder"] == reminder
    [listed] = api.client.get("/api/folders", headers=alice).json()["items"]
    assert listed["reminder"] == reminder
    entry = _entry(api, folder_id)
    assert entry["dueAt"] == reminder["nextDueAt"] and entry["patientId"] == patient_id(api, alice)
    # Ids and a time only in the directory: nothing about the folder.
    assert set(entry) - {"pk", "_etag", "_rid", "_self", "_ts", "_attachments"} == {
        "id", "type", "patientId", "folderId", "dueAt"}
    assert _remind(api, alice, folder_id, 7)["nextDueAt"] == iso(START + timedelta(days=7))
    assert api.client.delete(f"/api/folders/{folder_id}/reminder", headers=alice).status_code == 204
    assert _get(api, alice, folder_id)["reminder"] is None and _entry(api, folder_id) is None
    assert api.client.delete(f"/api/folders/{folder_id}/reminder", headers=alice).status_code == 204  # idempotent
    api.container.clock.advance(days=8)
    assert api.container.reminders.notify_due() == 0 and _deliver(api) == []


def test_a_new_photo_moves_the_next_due_date_and_an_older_one_does_not(api):
    alice, folder_id = _alice(api)
    _remind(api, alice, folder_id, 10)
    taken = START - timedelta(days=1)
    upload(api, alice, folder_id, takenAt=iso(taken))
    assert _get(api, alice, folder_id)["reminder"]["nextDueAt"] == iso(taken + timedelta(days=10))
    upload(api, alice, folder_id, seed=2, takenAt=iso(START - timedelta(days=5)))  # filed late: older
    assert _get(api, alice, folder_id)["reminder"]["nextDueAt"] == iso(taken + timedelta(days=10))
    assert _entry(api, folder_id)["dueAt"] == iso(taken + timedelta(days=10))
    # Without takenAt, the upload time counts.
    api.container.clock.advance(hours=3)
    upload(api, alice, folder_id, seed=3)
    assert _get(api, alice, folder_id)["reminder"]["nextDueAt"] == iso(START + timedelta(days=10, hours=3))
    # A reminder set after photos starts from the latest photo.
    other = folder(api, alice, label="second")
    upload(api, alice, other, seed=4, takenAt=iso(START - timedelta(days=2)))
    assert _remind(api, alice, other, 30)["nextDueAt"] == iso(START + timedelta(days=28))


@pytest.mark.parametrize("body", [{"everyDays": 0}, {"everyDays": 366}, {"everyDays": "7"}, {"everyDays": True},
                                  {"everyDays": 7.5}, {"everyDays": None}, {}, {"everyDays": 7, "extra": 1}])
def test_bad_input_is_refused_and_changes_nothing(api, body):
    alice, folder_id = _alice(api)
    _remind(api, alice, folder_id, 14)
    before = _get(api, alice, folder_id)
    response = api.client.put(f"/api/folders/{folder_id}/reminder", headers=alice, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _get(api, alice, folder_id) == before


def test_another_patients_folder_is_not_found_and_unchanged(api):
    alice, folder_id = _alice(api)
    bob = api.patient("bob", "Bob")
    for method in ("put", "delete"):
        kwargs = {"json": {"everyDays": 7}} if method == "put" else {}
        response = getattr(api.client, method)(f"/api/folders/{folder_id}/reminder", headers=bob, **kwargs)
        assert response.status_code == 404 and response.json()["type"].endswith("folder-not-found")
        response = getattr(api.client, method)("/api/folders/f_nosuchfolder/reminder", headers=alice, **kwargs)
        assert response.status_code == 404
    assert _get(api, alice, folder_id)["reminder"] is None and _entry(api, folder_id) is None
    assert api.client.put(f"/api/folders/{folder_id}/reminder", json={"everyDays": 7}).status_code == 401


def test_a_due_reminder_tells_the_patient_once_naming_nothing(api):
    alice, folder_id = _alice(api)
    _remind(api, alice, folder_id, 1)
    jobs, clock = api.container.reminders, api.container.clock
    clock.advance(days=1, seconds=-1)
    assert jobs.notify_due() == 0 and _deliver(api) == []
    clock.advance(seconds=1)  # due, at 11:00 in London
    assert jobs.notify_due() == 1
    assert jobs.notify_due() == 0  # once per due date
    mails = _deliver(api)
    assert [(m["to"], m["subject"]) for m in mails] == [(ALICE, SUBJECT)]
    link = f"{APP}/folders/{folder_id}"
    assert link in mails[0]["text"] and f'href="{link}"' in mails[0]["html"]
    body = (mails[0]["subject"] + mails[0]["text"] + mails[0]["html"]).lower()
    for secret in (LABEL, CONDITION, "melanoma", "scalp", "41695006", "alice", "smith", VALID_NHS):
        assert secret.lower() not in body, secret
    assert _entry(api, folder_id) is None  # handled
    clock.advance(days=3)
    assert jobs.notify_due() == 0 and _deliver(api) == []  # not nagged again for the same due date
    # The next photo sets the next due date, and that one is told in its turn.
    upload(api, alice, folder_id)
    assert _get(api, alice, folder_id)["reminder"]["nextDueAt"] == iso(clock.now() + timedelta(days=1))
    clock.advance(days=1)
    assert jobs.notify_due() == 1 and [m["subject"] for m in _deliver(api)] == [SUBJECT]


def test_two_instances_tell_once(api):
    alice, folder_id = _alice(api)
    _remind(api, alice, folder_id, 1)
    api.container.clock.advance(days=1)
    documents = api.container.adapters.documents
    other = ReminderJobs(documents, api.container.clock, api.container.outbox)
    results = []

    class Interleaved:
        """On the first point read of the folder, the other instance runs to the end first."""

        def __init__(self):
            self.fired = False

        def __getattr__(self, name):
            return getattr(documents, name)

        def read(self, container, partition_key, id):
            stored = documents.read(container, partition_key, id)
            if container == PATIENTS and not self.fired:
                self.fired = True
                results.append(other.notify_due())
            return stored

    first = ReminderJobs(Interleaved(), api.container.clock, api.container.outbox)
    assert first.notify_due() == 0 and results == [1]
    assert [m["to"] for m in _deliver(api)] == [ALICE]


def test_a_reminder_due_in_quiet_hours_is_sent_at_eight(api):
    alice, folder_id = _alice(api)
    _at(api, datetime(2026, 1, 14, 21, 30, tzinfo=timezone.utc))  # 21:30 GMT
    _remind(api, alice, folder_id, 1)
    jobs = api.container.reminders
    _at(api, datetime(2026, 1, 15, 21, 30, tzinfo=timezone.utc))  # due, in quiet hours
    assert jobs.notify_due() == 0
    _at(api, datetime(2026, 1, 16, 7, 59, 59, tzinfo=timezone.utc))
    assert jobs.notify_due() == 0 and _deliver(api) == []
    _at(api, datetime(2026, 1, 16, 8, 0, tzinfo=timezone.utc))  # 08:00 in London
    assert jobs.notify_due() == 1
    assert [m["subject"] for m in _deliver(api)] == [SUBJECT]


def test_quiet_hours_follow_london_across_the_autumn_clock_change(api):
    """07:30 UTC is 08:30 in London on Saturday 24 October 2026 (BST) and 07:30 on Sunday the 25th
    (GMT, the clocks went back at 01:00 UTC): sent at once on the Saturday, at 08:00 GMT on the Sunday."""
    alice, folder_id = _alice(api)
    jobs = api.container.reminders
    _at(api, datetime(2026, 10, 23, 7, 30, tzinfo=timezone.utc))
    _remind(api, alice, folder_id, 1)
    _at(api, datetime(2026, 10, 24, 7, 30, tzinfo=timezone.utc))  # 08:30 BST
    assert jobs.notify_due() == 1
    upload(api, alice, folder_id, takenAt="2026-10-24T07:30:00Z")  # due again 24 h later
    assert _get(api, alice, folder_id)["reminder"]["nextDueAt"] == "2026-10-25T07:30:00Z"
    _at(api, datetime(2026, 10, 25, 7, 30, tzinfo=timezone.utc))  # 07:30 GMT: quiet
    assert jobs.notify_due() == 0
    _at(api, datetime(2026, 10, 25, 7, 59, 59, tzinfo=timezone.utc))
    assert jobs.notify_due() == 0
    _at(api, datetime(2026, 10, 25, 8, 0, tzinfo=timezone.utc))  # 08:00 GMT
    assert jobs.notify_due() == 1
    assert [m["subject"] for m in _deliver(api)] == [SUBJECT, SUBJECT]


def test_nothing_is_sent_to_an_unverified_address_or_with_reminders_off(api):
    # Alice's token does not verify the address she typed: stored, shown as unverified, never mailed.
    headers = api.as_(api.token("patient", "alice"))
    response = api.client.put("/api/me", headers=headers, json={"displayName": "Alice", "email": ALICE})
    assert response.status_code == 201 and response.json()["emailVerified"] is False
    folder_id = folder(api, headers)
    _remind(api, headers, folder_id, 1)
    # Bob's is verified, but he has switched reminders off.
    bob = api.patient("bob", "Bob", email="bob@example.org",
                      notificationPreferences={"comments": True, "shareExpiring": True, "uploadRejected": True,
                                               "reminders": False})
    assert api.client.get("/api/me", headers=bob).json()["notificationPreferences"]["reminders"] is False
    bobs = folder(api, bob)
    _remind(api, bob, bobs, 1)
    api.container.clock.advance(days=1)
    api.container.reminders.notify_due()
    assert _deliver(api) == []


def test_nothing_is_sent_for_a_deleted_folder_or_an_erased_account(api):
    alice, folder_id = _alice(api)
    _remind(api, alice, folder_id, 1)
    kept = folder(api, alice, label="kept")
    _remind(api, alice, kept, 2)
    assert api.client.delete(f"/api/folders/{folder_id}", headers=alice).status_code == 204
    assert _entry(api, folder_id) is None
    jobs, clock = api.container.reminders, api.container.clock
    clock.advance(days=1)
    assert jobs.notify_due() == 0
    assert api.client.delete("/api/me", headers=alice).status_code == 202
    assert _entry(api, kept) is None  # erasure leaves no entry naming the patient
    clock.advance(days=1)
    assert jobs.notify_due() == 0 and _deliver(api) == []


def test_finding_the_work_is_one_single_partition_query(api):
    alice, folder_id = _alice(api)
    _remind(api, alice, folder_id, 3)
    reads = api.container.adapters.documents.reads
    before = reads.snapshot()
    assert api.container.reminders.notify_due() == 0  # nothing due yet
    after = reads.snapshot()
    assert after.get("query", 0) - before.get("query", 0) == 1
    assert after.get("point", 0) == before.get("point", 0)
