"""The queue handler: recipients per the contract table, exactly one mail per notification on
at-least-once delivery, transient and permanent failures, and no personal data in logs."""
from __future__ import annotations

import json

import pytest

from shared_code.notifications import contract as k
from shared_code.notifications.dispatcher import (
    SENT_PARTITION, MalformedNotification, NotificationDispatcher, NotificationInFlight, handle_notification,
)
from shared_code.notifications.contract import SourceRef
from shared_code.notifications.outbox import message_body
from shared_code.notifications.pump import pump_notifications
from shared_code.ports.errors import NotFound
from shared_code.ports.mail import PermanentMailError, TransientMailError
from shared_code.settings import CLINICS, DIRECTORY, NOTIFICATIONS_QUEUE, PATIENTS
from tests.notifications import helpers
from tests.support import steps
from tests.notifications.conftest import assert_nothing_personal

PORTAL = "https://portal.telederm.example"


class ScriptedMail:
    """A MailSender whose next sends fail as scripted; records what it accepted."""

    def __init__(self, *failures: Exception, during_send=None):
        self.failures = list(failures)
        self.sent = []
        self.attempts = 0
        self.during_send = during_send

    def send(self, email):
        self.attempts += 1
        if self.during_send:
            hook, self.during_send = self.during_send, None
            hook()
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(email)


def emit(api, family, kind):
    data, source, doc = helpers.events()[kind]
    api.container.outbox.emit(kind, data, source, steps.event_writer(family.documents, source, doc))
    [body] = steps.drain(family.queue)
    return body


def record(family, record_id):
    return family.documents.read(DIRECTORY, SENT_PARTITION, record_id).doc


def test_every_kind_reaches_the_recipient_of_the_contract_table(api, family):
    for kind in k.EVENT_KINDS:
        data, source, doc = helpers.events()[kind]
        api.container.outbox.emit(kind, data, source, steps.event_writer(family.documents, source, doc))
    assert pump_notifications(api.container).handled == len(k.EVENT_KINDS)
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    mails = api.container.adapters.mail.list(limit=100)
    by_subject: dict[str, list[str]] = {}
    for mail in mails:
        by_subject.setdefault(mail["subject"], []).append(mail["to"])
    assert {subject: sorted(to) for subject, to in by_subject.items()} == {
        f"A patient has shared photographs with {helpers.CLINIC_NAME}": [helpers.CLINIC_EMAIL],
        "You have a new comment": [helpers.PATIENT_EMAIL],
        "A share of your photographs ends soon": [helpers.PATIENT_EMAIL],
        "A share of your photographs has ended": [helpers.PATIENT_EMAIL],
        "A photograph could not be added": [helpers.PATIENT_EMAIL],
        f"You have been added to {helpers.CLINIC_NAME}": [helpers.MEMBER_EMAIL],
        f"{helpers.CLINIC_NAME}: the subscription ends on 1 April 2025": sorted(helpers.ADMIN_EMAILS),
        "It's time for your next photo": [helpers.PATIENT_EMAIL],
        "Your photographs will be deleted on 1 June 2025 unless you sign in": [helpers.PATIENT_EMAIL],
        f"Referral to {helpers.CLINIC_NAME}, urgent (fast track): review by 4 March 2025": [helpers.CLINIC_EMAIL],
        f"{helpers.CLINIC_NAME}: an outcome for one of your referrals": [helpers.CLINIC_EMAIL],
        f"{helpers.CLINIC_NAME}: referrals due for review today": [helpers.CLINIC_EMAIL],
        f"{helpers.CLINIC_NAME}: a referral is overdue for review": sorted(helpers.ADMIN_EMAILS),
        f"No outcome yet from {helpers.CLINIC_NAME} for one of your referrals": [helpers.MEMBER_EMAIL],
        f"{helpers.CLINIC_NAME}: an outcome waits for your acknowledgement": [helpers.MEMBER_EMAIL],
    }
    share = next(m for m in mails if m["subject"].startswith("A patient has shared"))
    link = f"{PORTAL}/clinics/{helpers.CLINIC_ID}/shares/{helpers.GRANT_ID}"
    assert link in share["text"] and f'href="{link}"' in share["html"]
    referral = next(m for m in mails if m["subject"].startswith("Referral to"))
    assert f"{PORTAL}/clinics/{helpers.CLINIC_ID}/referrals/{helpers.REFERRAL_ID}" in referral["text"]
    member = next(m for m in mails if m["to"] == helpers.MEMBER_EMAIL)
    assert f"{PORTAL}/clinics/{helpers.CLINIC_ID}" in member["text"]


def test_duplicate_delivery_sends_one_mail(api, family):
    body = emit(api, family, k.COMMENT_CREATED)
    family.queue.send(NOTIFICATIONS_QUEUE, body)
    family.queue.send(NOTIFICATIONS_QUEUE, body)  # at-least-once: the same message twice
    result = pump_notifications(api.container)
    assert (result.handled, result.failed) == (2, 0)
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    assert [m["to"] for m in api.container.adapters.mail.list()] == [helpers.PATIENT_EMAIL]
    assert record(family, json.loads(body)["dedupeKey"])["status"] == "sent"


def test_the_same_dedupe_key_from_two_events_is_one_mail(api, family):
    """Two emits of one change (a retried request) with the domain's dedupe key: told once."""
    data, source, doc = helpers.events()[k.SHARE_CREATED]
    for _ in range(2):
        api.container.outbox.emit(k.SHARE_CREATED, data, source, steps.event_writer(family.documents, source, doc),
                                  dedupe_key=f"share.created:{source.partition_key}:{source.id}")
    assert len(steps.queued(family.queue)) == 2
    pump_notifications(api.container)
    assert [m["to"] for m in api.container.adapters.mail.list()] == [helpers.CLINIC_EMAIL]


def test_a_delivery_while_another_is_sending_comes_back_later_and_finds_it_sent(api, family, clock):
    body = emit(api, family, k.COMMENT_CREATED)
    raised = []

    def duplicate_arrives():
        try:
            dispatcher.handle(body, 1)
        except NotificationInFlight as exc:
            raised.append(exc)

    mail = ScriptedMail(during_send=duplicate_arrives)
    dispatcher = NotificationDispatcher(family.documents, mail, api.container.settings, clock)
    assert dispatcher.handle(body, 1).sent == [helpers.PATIENT_ID]
    assert len(raised) == 1  # retried, not acknowledged: the first sender could still have died
    assert dispatcher.handle(body, 2).skipped == [helpers.PATIENT_ID]
    assert len(mail.sent) == 1


def test_a_claim_left_by_a_dead_worker_is_retried_then_taken_over(api, family, clock):
    body = emit(api, family, k.COMMENT_CREATED)
    key = json.loads(body)["dedupeKey"]
    family.documents.create(DIRECTORY, SENT_PARTITION, {"id": key, "type": "notification", "status": "sending",
                                                        "claimedAt": "2025-03-01T09:00:00Z", "attempts": 1})
    mail = ScriptedMail()
    dispatcher = NotificationDispatcher(family.documents, mail, api.container.settings, clock)
    clock.advance(minutes=9)
    with pytest.raises(NotificationInFlight):
        dispatcher.handle(body, 2)
    clock.advance(minutes=2)
    assert dispatcher.handle(body, 3).sent == [helpers.PATIENT_ID]
    assert len(mail.sent) == 1
    assert record(family, key)["attempts"] == 2


def test_transient_failure_is_raised_for_redelivery_and_sends_once(api, family, clock):
    body = emit(api, family, k.UPLOAD_REJECTED)
    mail = ScriptedMail(TransientMailError("throttled", retry_after=3))
    dispatcher = NotificationDispatcher(family.documents, mail, api.container.settings, clock)
    with pytest.raises(TransientMailError):
        dispatcher.handle(body, 1)
    key = json.loads(body)["dedupeKey"]
    assert record(family, key)["status"] == "retrying"
    assert dispatcher.handle(body, 2).sent == [helpers.PATIENT_ID]
    assert dispatcher.handle(body, 3).skipped == [helpers.PATIENT_ID]
    assert len(mail.sent) == 1 and mail.attempts == 2
    assert record(family, key)["status"] == "sent"


def test_transient_failure_through_the_queue_is_redelivered(api, family, clock):
    body = emit(api, family, k.COMMENT_CREATED)
    family.queue.send(NOTIFICATIONS_QUEUE, body)
    mail = ScriptedMail(TransientMailError("503"))
    api.container.notifications = NotificationDispatcher(family.documents, mail, api.container.settings, clock)
    first = pump_notifications(api.container, visibility_timeout=1)
    assert (first.handled, first.failed) == (0, 1)
    import time

    time.sleep(1.5)
    second = pump_notifications(api.container, visibility_timeout=1)
    assert (second.handled, second.failed) == (1, 0)
    assert len(mail.sent) == 1 and family.queue.peek(NOTIFICATIONS_QUEUE) == []


def test_permanent_failure_is_recorded_logged_and_acknowledged(api, family, clock, logs):
    body = emit(api, family, k.MEMBER_ADDED)
    mail = ScriptedMail(PermanentMailError("ErrorInvalidRecipients"))
    dispatcher = NotificationDispatcher(family.documents, mail, api.container.settings, clock)
    assert dispatcher.handle(body, 1).failed == [helpers.MEMBER_ID]
    key = json.loads(body)["dedupeKey"]
    assert record(family, key)["status"] == "failed"
    assert dispatcher.handle(body, 2).skipped == [helpers.MEMBER_ID]  # not retried forever
    assert mail.attempts == 1
    assert any("failed permanently" in line and k.MEMBER_ADDED in line for line in logs)


def test_each_admin_is_told_once_even_when_one_send_fails(api, family, clock):
    body = emit(api, family, k.SUBSCRIPTION_ENDING)
    mail = ScriptedMail()
    dispatcher = NotificationDispatcher(family.documents, mail, api.container.settings, clock)
    original = mail.send

    def second_fails(email):
        if email.to == helpers.ADMIN_EMAILS[1] and not getattr(second_fails, "done", False):
            second_fails.done = True
            raise TransientMailError("503")
        original(email)

    mail.send = second_fails
    with pytest.raises(TransientMailError):
        dispatcher.handle(body, 1)
    assert [m.to for m in mail.sent] == [helpers.ADMIN_EMAILS[0]]
    outcome = dispatcher.handle(body, 2)
    assert outcome.skipped == [helpers.ADMIN_IDS[0]] and outcome.sent == [helpers.ADMIN_IDS[1]]
    assert sorted(m.to for m in mail.sent) == sorted(helpers.ADMIN_EMAILS)


@pytest.mark.parametrize("kind,change", [
    (k.COMMENT_CREATED, ("account", {"email": None})),
    (k.COMMENT_CREATED, ("account", {"notificationPreferences": {**helpers.ALL_PREFERENCES_ON, "comments": False}})),
    (k.GRANT_EXPIRING, ("account", {"notificationPreferences": {**helpers.ALL_PREFERENCES_ON, "shareExpiring": False}})),
    (k.GRANT_EXPIRED, ("account", {"notificationPreferences": {**helpers.ALL_PREFERENCES_ON, "shareExpiring": False}})),
    (k.UPLOAD_REJECTED, ("account", {"notificationPreferences": {**helpers.ALL_PREFERENCES_ON,
                                                                 "uploadRejected": False}})),
    (k.COMMENT_CREATED, ("account", {"status": "erasing"})),
    # An address the identity provider has not verified is never mailed, whatever the kind.
    (k.COMMENT_CREATED, ("account", {"emailVerified": False})),
    (k.UPLOAD_REJECTED, ("account", {"emailVerified": None})),
    (k.REMINDER_DUE, ("account", {"emailVerified": False})),
    (k.REMINDER_DUE, ("account", {"notificationPreferences": {**helpers.ALL_PREFERENCES_ON, "reminders": False}})),
    (k.REMINDER_DUE, ("account", {"status": "erasing"})),
    (k.REMINDER_DUE, ("folder", None)),  # deleted after the reminder fell due
    (k.COMMENT_CREATED, ("account", None)),  # erased
    (k.SHARE_CREATED, ("clinic", {"notificationEmail": None})),
    (k.MEMBER_ADDED, ("member", None)),  # removed again before the mail went out
    (k.SUBSCRIPTION_ENDING, ("clinic", None)),
])
def test_no_recipient_means_acknowledged_without_sending(api, family, clock, kind, change):
    body = emit(api, family, kind)
    which, fields = change
    container, pk, id = {"account": (PATIENTS, helpers.PATIENT_ID, "account"),
                         "clinic": (CLINICS, helpers.CLINIC_ID, "clinic"),
                         "member": (CLINICS, helpers.CLINIC_ID, helpers.MEMBER_ID),
                         "folder": (PATIENTS, helpers.PATIENT_ID, helpers.FOLDER_ID)}[which]
    if fields is None:
        family.documents.delete(container, pk, id)
    else:
        stored = family.documents.read(container, pk, id)
        family.documents.replace(container, pk, {**stored.doc, **fields}, if_match=stored.etag)
    mail = ScriptedMail()
    outcome = NotificationDispatcher(family.documents, mail, api.container.settings, clock).handle(body, 1)
    assert outcome.sent == [] and outcome.skipped == ["-"]
    assert mail.attempts == 0
    with pytest.raises(NotFound):
        record(family, json.loads(body)["dedupeKey"])


@pytest.mark.parametrize("body", [
    "not json",
    "[]",
    json.dumps({"kind": k.COMMENT_CREATED, "data": {}}),
    json.dumps({"eventId": "evt_1", "kind": "comment.deleted", "data": {}}),
    json.dumps({"eventId": "evt_1", "kind": k.COMMENT_CREATED, "data": {"patientId": helpers.PATIENT_ID}}),
    json.dumps({"eventId": "evt_1", "kind": k.SHARE_CREATED,
                "data": {"clinicId": helpers.CLINIC_ID, "grantId": helpers.PATIENT_EMAIL}}),
])
def test_a_malformed_message_is_refused_so_it_ends_in_the_poison_queue(api, family, clock, body, logs):
    with pytest.raises(MalformedNotification) as raised:
        handle_notification(api.container, body, 1)
    assert helpers.PATIENT_EMAIL not in str(raised.value)


def test_handle_notification_uses_the_containers_dispatcher(api, family):
    body = emit(api, family, k.GRANT_EXPIRED)
    assert handle_notification(api.container, body, 1).sent == [helpers.PATIENT_ID]


def test_logs_carry_kinds_ids_and_outcomes_only(api, family, clock, logs):
    for kind in k.EVENT_KINDS:
        data, source, doc = helpers.events()[kind]
        api.container.outbox.emit(kind, data, source, steps.event_writer(family.documents, source, doc))
    bodies = steps.drain(family.queue)
    mail = ScriptedMail(TransientMailError("throttled"), PermanentMailError("bad recipient"))
    dispatcher = NotificationDispatcher(family.documents, mail, api.container.settings, clock)
    for body in bodies:
        for attempt in (1, 2, 3):
            try:
                dispatcher.handle(body, attempt)
            except TransientMailError:
                continue
    assert len(mail.sent) == len(k.EVENT_KINDS) + 1  # one permanent failure; two admins, twice
    text = "\n".join(logs)
    assert_nothing_personal(text)
    assert "notification failed permanently: kind=share.created" in text
    assert "notification sent: kind=comment.created" in text
    assert helpers.PATIENT_ID in text  # ids are what logs name
    # And a message body never holds anything personal either.
    for body in bodies:
        assert_nothing_personal(body)


def test_message_body_is_stable_json():
    body = message_body("evt_1", k.SHARE_CREATED, {"clinicId": "c", "grantId": "g"}, "evt_1")
    assert json.loads(body) == {"eventId": "evt_1", "kind": k.SHARE_CREATED, "data": {"clinicId": "c", "grantId": "g"},
                                "dedupeKey": "evt_1"}


def test_rejection_mails_are_limited_per_patient_per_day(api, family, clock):
    """A phone retrying a broken file: at most UPLOAD_REJECTED_MAILS_PER_DAY (3) mails a day; a
    redelivery of a mail already sent neither sends again nor takes another of the day's slots."""
    data, source, doc = helpers.events()[k.UPLOAD_REJECTED]

    def reject(n: int) -> str:
        image = SourceRef(PATIENTS, helpers.PATIENT_ID, f"img_{n}")
        api.container.outbox.emit(k.UPLOAD_REJECTED, {**data, "imageId": f"img_{n}"}, image,
                                  steps.event_writer(family.documents, image, doc))
        [body] = steps.drain(family.queue)
        return body

    mail = ScriptedMail()
    dispatcher = NotificationDispatcher(family.documents, mail, api.container.settings, clock)
    bodies = [reject(n) for n in range(5)]
    outcomes = [dispatcher.handle(body, 1) for body in bodies]
    assert [len(o.sent) for o in outcomes] == [1, 1, 1, 0, 0]
    assert [m.to for m in mail.sent] == [helpers.PATIENT_EMAIL] * 3
    assert dispatcher.handle(bodies[0], 2).sent == []  # redelivered: sent already
    clock.advance(days=1)
    assert dispatcher.handle(reject(5), 1).sent == [helpers.PATIENT_ID]  # a new day
    assert len(mail.sent) == 4
    # Other kinds are not limited.
    for _ in range(4):
        assert dispatcher.handle(emit(api, family, k.COMMENT_CREATED), 1).sent == [helpers.PATIENT_ID]

