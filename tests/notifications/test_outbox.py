"""The outbox: a notification is queued if and only if its write happened, through every crash
point, on both adapter families (SQLite + the embedded queue; Cosmos + Azurite's queue)."""
from __future__ import annotations

import json
import time

import pytest

from shared_code.notifications.contract import COMMENT_CREATED, SourceRef
from shared_code.notifications.outbox import OUTBOX_PARTITION, DocumentOutbox, sweep_outbox
from shared_code.notifications.pump import pump_notifications
from shared_code.ports.documents import Query
from shared_code.ports.errors import PreconditionFailed
from shared_code.errors import EditConflict
from shared_code.settings import DIRECTORY, NOTIFICATIONS_QUEUE, PATIENTS
from tests.notifications import helpers
from tests.support import steps
from tests.notifications.conftest import assert_nothing_personal


class FlakyQueue:
    """The queue as a dying process sees it: `send` raises (the process died before sending)."""

    def __init__(self, inner, failures: int = 1):
        self.inner = inner
        self.failures = failures

    def send(self, queue, body, **kwargs):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("process died before the send")
        return self.inner.send(queue, body, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class MarkerDeleteDies:
    """The documents as a process dying right after the send sees them: the marker delete never runs."""

    def __init__(self, inner):
        self.inner = inner

    def delete(self, container, partition_key, id, if_match=None):
        if container == DIRECTORY and partition_key == OUTBOX_PARTITION:
            raise TimeoutError("process died before deleting the marker")
        return self.inner.delete(container, partition_key, id, if_match)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def markers(documents) -> list[dict]:
    return [s.doc for s in documents.query(DIRECTORY, Query(OUTBOX_PARTITION, {"type": "outbox"}, limit=100)).items]


def comment_event():
    data, source, doc = helpers.events()[COMMENT_CREATED]
    return data, source, doc


def test_emit_writes_then_queues_ids_only_and_leaves_no_marker(api, family):
    data, source, doc = comment_event()
    stored = api.container.outbox.emit(COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    [event_id] = stored.doc["events"]
    assert family.documents.read(PATIENTS, helpers.PATIENT_ID, helpers.COMMENT_ID).doc["events"] == [event_id]
    [message] = steps.drain(family.queue)
    assert json.loads(message) == {"eventId": event_id, "kind": COMMENT_CREATED, "data": data, "dedupeKey": event_id}
    assert_nothing_personal(message)
    assert markers(family.documents) == []


def test_dedupe_key_is_carried(api, family):
    data, source, doc = comment_event()
    api.container.outbox.emit(COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc),
                              dedupe_key="comment.created:pat:cmt")
    assert steps.queued(family.queue)[0]["dedupeKey"] == "comment.created:pat:cmt"


@pytest.mark.parametrize("data", [
    {"patientId": helpers.PATIENT_ID, "folderId": helpers.FOLDER_ID},  # missing commentId
    {"patientId": helpers.PATIENT_ID, "folderId": helpers.FOLDER_ID, "commentId": helpers.COMMENT_ID,
     "email": helpers.PATIENT_EMAIL},  # something personal added
    {"patientId": helpers.PATIENT_ID, "folderId": helpers.FOLDER_ID, "commentId": helpers.COMMENT_TEXT},  # text
    {"patientId": helpers.NHS_NUMBER, "folderId": helpers.FOLDER_ID, "commentId": helpers.COMMENT_ID},
])
def test_an_event_carries_exactly_its_ids(api, family, data):
    _, source, doc = comment_event()
    written = []
    with pytest.raises(ValueError):
        api.container.outbox.emit(COMMENT_CREATED, data, source, lambda event_id: written.append(event_id))
    assert written == [] and markers(family.documents) == [] and family.queue.peek(NOTIFICATIONS_QUEUE) == []


def test_write_refused_means_no_message_ever(api, family, clock):
    data, source, doc = comment_event()

    def write(event_id):
        raise EditConflict("refused")

    with pytest.raises(EditConflict):
        api.container.outbox.emit(COMMENT_CREATED, data, source, write)
    assert markers(family.documents) == []
    clock.advance(minutes=11)
    sweep_outbox(api.container)
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []


def test_write_crashing_without_writing_leaves_a_marker_that_the_sweeper_drops_unsent(api, family, clock):
    data, source, doc = comment_event()

    def write(event_id):
        raise TimeoutError("the database did not answer (nothing was written)")

    with pytest.raises(TimeoutError):
        api.container.outbox.emit(COMMENT_CREATED, data, source, write)
    [marker] = markers(family.documents)  # the write may have happened: the sweeper will decide
    clock.advance(seconds=31)
    assert sweep_outbox(api.container).waiting == 1  # source does not name the event, not 10 min yet
    assert len(markers(family.documents)) == 1
    clock.advance(minutes=10)
    assert sweep_outbox(api.container).abandoned == 1
    assert markers(family.documents) == []
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []


def test_write_crashing_after_writing_is_still_notified_by_the_sweeper(api, family, clock):
    data, source, doc = comment_event()
    write = steps.event_writer(family.documents, source, doc)

    def write_then_time_out(event_id):
        write(event_id)
        raise TimeoutError("the write committed but its answer was lost")

    with pytest.raises(TimeoutError):
        api.container.outbox.emit(COMMENT_CREATED, data, source, write_then_time_out)
    clock.advance(seconds=31)
    assert sweep_outbox(api.container).sent == 1
    [body] = steps.queued(family.queue)
    assert body["eventId"] == family.documents.read(PATIENTS, helpers.PATIENT_ID, helpers.COMMENT_ID).doc["events"][0]


def test_dies_after_write_before_send_then_the_sweeper_sends_exactly_one(api, family, clock):
    data, source, doc = comment_event()
    outbox = DocumentOutbox(family.documents, family.queue, clock, emit_queue=FlakyQueue(family.queue))
    stored = outbox.emit(COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    assert stored.doc["events"]  # the request succeeded although the queue failed
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    assert len(markers(family.documents)) == 1
    # Too young to be swept: the request might still be running.
    assert sweep_outbox(api.container).sent == 0
    clock.advance(seconds=31)
    assert sweep_outbox(api.container).sent == 1
    assert sweep_outbox(api.container).sent == 0  # the marker is gone: once only
    [body] = steps.queued(family.queue)
    assert body["eventId"] == stored.doc["events"][0]
    assert markers(family.documents) == []
    # And delivering it tells the patient once.
    pump_notifications(api.container)
    assert [m["to"] for m in api.container.adapters.mail.list()] == [helpers.PATIENT_EMAIL]


def test_dies_after_send_before_marker_delete_then_dedupe_makes_the_effect_once(api, family, clock):
    data, source, doc = comment_event()
    outbox = DocumentOutbox(MarkerDeleteDies(family.documents), family.queue, clock)
    outbox.emit(COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    assert len(steps.queued(family.queue)) == 1
    assert len(markers(family.documents)) == 1
    clock.advance(seconds=31)
    assert sweep_outbox(api.container).sent == 1  # sent again: the sweeper cannot know it went out
    sent = steps.queued(family.queue)
    assert len(sent) == 2 and sent[0] == sent[1]
    assert markers(family.documents) == []
    pump_notifications(api.container)
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    assert [m["to"] for m in api.container.adapters.mail.list()] == [helpers.PATIENT_EMAIL]


def test_an_etag_conflict_in_the_write_leaves_nothing(api, family, clock):
    data, source, doc = comment_event()

    def write(event_id):
        raise PreconditionFailed(source.id)

    with pytest.raises(PreconditionFailed):
        api.container.outbox.emit(COMMENT_CREATED, data, source, write)
    assert markers(family.documents) == []


def test_sweeper_waits_for_young_markers_and_handles_many(api, family, clock):
    outbox = DocumentOutbox(family.documents, family.queue, clock, emit_queue=FlakyQueue(family.queue, failures=5))
    for n in range(5):
        source = SourceRef(PATIENTS, helpers.PATIENT_ID, f"cmt_{n}")
        outbox.emit(COMMENT_CREATED, {"patientId": helpers.PATIENT_ID, "folderId": helpers.FOLDER_ID,
                                      "commentId": f"cmt_{n}"}, source,
                    steps.event_writer(family.documents, source, {"type": "comment", "text": helpers.COMMENT_TEXT}))
        clock.advance(seconds=10)
    # Now the markers are 50, 40, 30, 20 and 10 s old.
    result = api.container.outbox.sweep(batch=2)
    assert (result.sent, result.waiting) == (3, 1)
    assert len(markers(family.documents)) == 2


def test_source_deleted_before_the_sweep_sends_nothing(api, family, clock):
    data, source, doc = comment_event()
    outbox = DocumentOutbox(family.documents, family.queue, clock, emit_queue=FlakyQueue(family.queue))
    outbox.emit(COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    family.documents.delete(source.container, source.partition_key, source.id)  # e.g. erased meanwhile
    clock.advance(minutes=11)
    assert sweep_outbox(api.container).abandoned == 1
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []


def test_emit_does_not_wait_for_an_unreachable_queue():
    """The Azure adapter on a request's path makes one attempt (the SDK default retries from 15 s)."""
    from azure.storage.queue import QueueServiceClient

    from shared_code.adapters.azure.storage_queue import AzureQueue
    from tests.support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, free_port

    service = QueueServiceClient(f"http://127.0.0.1:{free_port()}/{AZURITE_ACCOUNT}",
                                 credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY})

    class Documents:
        def __init__(self):
            self.docs = {}

        def create(self, container, pk, doc):
            self.docs[(container, pk, doc["id"])] = doc

        def delete(self, container, pk, id, if_match=None):
            self.docs.pop((container, pk, id))

    documents = Documents()
    outbox = DocumentOutbox(documents, AzureQueue(service))
    data, source, doc = comment_event()
    started = time.monotonic()
    assert outbox.emit(COMMENT_CREATED, data, source, lambda event_id: "written") == "written"
    assert time.monotonic() - started < 5
    assert len(documents.docs) == 1  # the marker stays for the sweeper

