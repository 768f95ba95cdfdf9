"""The queue contract, run on the durable SQLite queue, on azure-storage-queue against Azurite, and on
the fake."""
import time

import pytest

from shared_code.ports.errors import NotFound

Q = "contract"


def test_send_receive_delete(family):
    family.queue.send(Q, '{"n": 1}')
    [message] = family.queue.receive(Q, visibility_timeout=30)
    assert message.body == '{"n": 1}' and message.dequeue_count == 1
    family.queue.delete(Q, message)
    assert family.queue.receive(Q) == []


def test_a_received_message_is_invisible_then_returns_with_a_higher_count(family):
    family.queue.send(Q, "m")
    [first] = family.queue.receive(Q, visibility_timeout=1)
    assert family.queue.receive(Q) == []
    time.sleep(1.5)
    [again] = family.queue.receive(Q, visibility_timeout=30)
    assert again.body == "m" and again.dequeue_count == 2
    # The first receipt is stale now: deleting with it fails, as in Azure.
    with pytest.raises(NotFound):
        family.queue.delete(Q, first)
    family.queue.delete(Q, again)


def test_delayed_send_is_not_visible_at_once(family):
    family.queue.send(Q, "later", visibility_timeout=2)
    assert family.queue.receive(Q) == []
    assert [m.body for m in family.queue.peek(Q)] == []


def test_peek_does_not_take(family):
    family.queue.send(Q, "p")
    assert [m.body for m in family.queue.peek(Q)] == ["p"]
    assert [m.body for m in family.queue.receive(Q)] == ["p"]


def test_check_passes(family):
    family.queue.check()
