"""The outbox's rules (shared_code/notifications/outbox.py) on the fakes: a notification is queued
if and only if its write happened, whichever step a crash interrupts, and a source document keeps
its newest event ids once each. tests/notifications/test_outbox.py runs the same story through the
real adapters; this file runs every branch in milliseconds."""
from __future__ import annotations

import json

import pytest

from shared_code.errors import DomainError
from shared_code.notifications.contract import COMMENT_CREATED, SourceRef
from shared_code.notifications.outbox import (
    EVENTS_KEPT, MARKER_ABANDON_AFTER, OUTBOX_PARTITION, SWEEP_MIN_AGE, DocumentOutbox, record_event,
)
from shared_code.ports.documents import Query
from shared_code.ports.errors import PreconditionFailed
from shared_code.settings import DIRECTORY, NOTIFICATIONS_QUEUE, PATIENTS
from tests.support import steps

PATIENT = "p_alice"
SOURCE = SourceRef(PATIENTS, PATIENT, "cmt_1")
DATA = {"patientId": PATIENT, "folderId": "fld_1", "commentId": "cmt_1"}
COMMENT = {"type": "comment", "text": "Irregular border"}
JUST_SWEEPABLE = SWEEP_MIN_AGE.total_seconds() + 1
ABANDONED = (MARKER_ABANDON_AFTER + SWEEP_MIN_AGE).total_seconds()


@pytest.fixture
def documents(adapters):
    return adapters.documents


@pytest.fixture
def queue(adapters):
    return adapters.queue


@pytest.fixture
def outbox(documents, queue, clock) -> DocumentOutbox:
    return DocumentOutbox(documents, queue, clock)


def emit(outbox, documents, source=SOURCE, data=DATA, **kw):
    return outbox.emit(COMMENT_CREATED, data, source, steps.event_writer(documents, source, COMMENT), **kw)


def markers(documents) -> list[dict]:
    return [s.doc for s in documents.query(DIRECTORY, Query(OUTBOX_PARTITION, {"type": "outbox"}, limit=50)).items]


def events_of(documents, source=SOURCE) -> list[str]:
    return documents.read(source.container, source.partition_key, source.id).doc["events"]


def nothing_queued(queue) -> bool:
    return queue.peek(NOTIFICATIONS_QUEUE) == []


# --- emit ------------------------------------------------------------------------------------------
def test_emit_writes_the_event_into_its_source_queues_ids_only_and_leaves_no_marker(outbox, documents, queue):
    stored = emit(outbox, documents)
    [event_id] = stored.doc["events"]
    assert events_of(documents) == [event_id]
    assert [json.loads(body) for body in steps.drain(queue)] == [
        {"eventId": event_id, "kind": COMMENT_CREATED, "data": DATA, "dedupeKey": event_id}]
    assert markers(documents) == []


def test_a_dedupe_key_travels_with_the_message(outbox, documents, queue):
    emit(outbox, documents, dedupe_key="comment.created:p_alice:cmt_1")
    assert [m["dedupeKey"] for m in steps.queued(queue)] == ["comment.created:p_alice:cmt_1"]


@pytest.mark.parametrize("data", [
    {"patientId": PATIENT, "folderId": "fld_1"},  # a field missing
    {**DATA, "email": "alice@example.org"},  # a field too many, and personal
    {**DATA, "commentId": "Irregular border"},  # text where an id belongs
    {**DATA, "patientId": "9434765919"},  # all digits: could be an NHS number
])
def test_an_event_carries_exactly_its_ids_or_nothing_happens(outbox, documents, queue, data):
    with pytest.raises(ValueError):
        emit(outbox, documents, data=data)
    assert markers(documents) == [] and nothing_queued(queue)
    assert documents.query(PATIENTS, Query(PATIENT)).items == []  # the write never ran


@pytest.mark.parametrize("refusal", [DomainError("refused"), PreconditionFailed("cmt_1"), ValueError("bad")])
def test_a_refused_write_leaves_no_marker_and_never_notifies(outbox, documents, queue, clock, refusal):
    def write(event_id):
        raise refusal

    with pytest.raises(type(refusal)):
        outbox.emit(COMMENT_CREATED, DATA, SOURCE, write)
    assert markers(documents) == []
    clock.advance(seconds=ABANDONED)
    assert outbox.sweep().sent == 0 and nothing_queued(queue)


def test_a_marker_that_cannot_be_written_fails_the_request_before_its_write(outbox, documents, queue):
    documents.faults.fail("create", TimeoutError("store down"), when=lambda container, pk, id: pk == OUTBOX_PARTITION)
    written = []
    with pytest.raises(TimeoutError):
        outbox.emit(COMMENT_CREATED, DATA, SOURCE, written.append)
    assert written == [] and nothing_queued(queue)


# --- crashes between the steps, and the sweeper ---------------------------------------------------
def test_crash_before_the_write_leaves_a_marker_the_sweeper_abandons_unsent(outbox, documents, queue, clock):
    def write(event_id):
        raise TimeoutError("no answer (and nothing was written)")

    with pytest.raises(TimeoutError):
        outbox.emit(COMMENT_CREATED, DATA, SOURCE, write)
    [marker] = markers(documents)  # the write might have happened: only the source can tell
    assert marker["kind"] == COMMENT_CREATED and marker["source"] == {
        "container": PATIENTS, "partitionKey": PATIENT, "id": "cmt_1"}
    clock.advance(seconds=JUST_SWEEPABLE)
    swept = outbox.sweep()
    assert (swept.sent, swept.waiting, swept.abandoned) == (0, 1, 0)  # not named by the source, not old yet
    clock.advance(seconds=MARKER_ABANDON_AFTER.total_seconds())
    assert outbox.sweep().abandoned == 1
    assert markers(documents) == [] and nothing_queued(queue)


def test_crash_after_the_write_is_still_notified_once_by_the_sweeper(outbox, documents, queue, clock):
    documents.faults.fail("create", TimeoutError("committed, answer lost"), after=True,
                          when=lambda container, pk, id: container == PATIENTS)
    with pytest.raises(TimeoutError):
        emit(outbox, documents)
    assert nothing_queued(queue)
    clock.advance(seconds=JUST_SWEEPABLE)
    assert outbox.sweep().sent == 1
    assert outbox.sweep().sent == 0
    assert [m["eventId"] for m in steps.queued(queue)] == events_of(documents)


def test_queue_down_during_emit_the_request_succeeds_and_the_sweeper_sends_once(outbox, documents, queue, clock):
    queue.faults.fail("send", ConnectionError("queue unreachable"))
    stored = emit(outbox, documents)
    assert stored.doc["events"] and nothing_queued(queue) and len(markers(documents)) == 1
    assert outbox.sweep().sent == 0  # too young: the request may still be running
    clock.advance(seconds=JUST_SWEEPABLE)
    assert outbox.sweep().sent == 1
    assert outbox.sweep().sent == 0
    assert [m["eventId"] for m in steps.queued(queue)] == stored.doc["events"]
    assert markers(documents) == []


def test_queue_still_down_at_the_sweep_counts_a_failure_and_keeps_the_marker(outbox, documents, queue, clock):
    queue.faults.fail("send", ConnectionError("queue unreachable"), times=2)
    emit(outbox, documents)
    clock.advance(seconds=JUST_SWEEPABLE)
    assert (outbox.sweep().failed, len(markers(documents))) == (1, 1)
    assert outbox.sweep().sent == 1 and markers(documents) == []


def test_crash_after_the_send_sends_again_with_the_same_body_for_the_dispatcher_to_dedupe(
        outbox, documents, queue, clock):
    documents.faults.fail("delete", TimeoutError("died before deleting the marker"),
                          when=lambda container, pk, id: pk == OUTBOX_PARTITION)
    emit(outbox, documents)
    assert len(steps.queued(queue)) == 1 and len(markers(documents)) == 1
    clock.advance(seconds=JUST_SWEEPABLE)
    assert outbox.sweep().sent == 1
    first, second = steps.queued(queue)
    assert first == second
    assert markers(documents) == []


def test_a_source_deleted_before_the_sweep_is_abandoned_unsent(outbox, documents, queue, clock):
    queue.faults.fail("send", ConnectionError("queue unreachable"))
    emit(outbox, documents)
    documents.delete(SOURCE.container, SOURCE.partition_key, SOURCE.id)  # erased meanwhile
    clock.advance(seconds=ABANDONED)
    assert outbox.sweep().abandoned == 1
    assert nothing_queued(queue) and markers(documents) == []


def test_a_marker_with_an_unreadable_time_is_decided_on_at_once(outbox, documents, queue):
    documents.create(DIRECTORY, OUTBOX_PARTITION, {
        "id": "evt_lost", "type": "outbox", "kind": COMMENT_CREATED, "data": DATA, "dedupeKey": "evt_lost",
        "source": {"container": PATIENTS, "partitionKey": PATIENT, "id": "cmt_gone"}, "createdAt": "yesterday"})
    assert outbox.sweep().abandoned == 1 and markers(documents) == []


def test_the_sweeper_goes_oldest_first_across_pages_and_stops_at_a_young_marker(outbox, documents, queue, clock):
    queue.faults.fail("send", ConnectionError("queue unreachable"), times=5)
    for n in range(5):
        source = SourceRef(PATIENTS, PATIENT, f"cmt_{n}")
        emit(outbox, documents, source=source, data={**DATA, "commentId": f"cmt_{n}"})
        clock.advance(seconds=10)
    # The markers are now 50, 40, 30, 20 and 10 seconds old.
    result = outbox.sweep(batch=2)
    assert (result.sent, result.waiting) == (3, 1)
    assert [m["data"]["commentId"] for m in steps.queued(queue)] == ["cmt_0", "cmt_1", "cmt_2"]
    assert sorted(m["data"]["commentId"] for m in markers(documents)) == ["cmt_3", "cmt_4"]


# --- record_event: the one event-list rule ----------------------------------------------------------
def test_record_event_appends_without_touching_the_document_given():
    doc = {"id": "cmt_1", "events": ["evt_a"]}
    assert record_event(doc, "evt_b") == {"id": "cmt_1", "events": ["evt_a", "evt_b"]}
    assert doc == {"id": "cmt_1", "events": ["evt_a"]}
    assert record_event({"id": "new"}, "evt_a")["events"] == ["evt_a"]


def test_record_event_keeps_each_id_once_the_newest_last():
    doc = {"id": "cmt_1", "events": ["evt_a", "evt_b", "evt_c"]}
    assert record_event(doc, "evt_b")["events"] == ["evt_a", "evt_c", "evt_b"]
    assert record_event(record_event(doc, "evt_c"), "evt_c")["events"] == ["evt_a", "evt_b", "evt_c"]


def test_record_event_keeps_the_newest_fifty():
    assert EVENTS_KEPT == 50
    doc = {"id": "cmt_1"}
    for n in range(120):
        doc = record_event(doc, f"evt_{n}")
    assert doc["events"] == [f"evt_{n}" for n in range(70, 120)]
    assert record_event(doc, "evt_70")["events"] == [*(f"evt_{n}" for n in range(71, 120)), "evt_70"]
