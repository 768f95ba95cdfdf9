"""The local pump applies the Functions host's poison rule, on the embedded queue and on Azurite's;
`python -m shared_code.cli poison ...` lists and requeues, the notifications' poison queue by default
and the decision-support one with `--queue decision-support` (the worker picking a requeued job up:
tests/referrals/test_decision_support.py)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from shared_code import cli
from shared_code.notifications import contract as k
from shared_code.notifications.pump import pump_notifications, pump_queue
from shared_code.settings import (
    DECISION_SUPPORT_POISON_QUEUE, DECISION_SUPPORT_QUEUE, NOTIFICATIONS_POISON_QUEUE, NOTIFICATIONS_QUEUE, Settings,
)
from tests.notifications import helpers
from tests.support import steps

REPO = Path(__file__).resolve().parents[2]


def always_fails(body, dequeue_count):
    raise RuntimeError("handler failed")


def pump_until_empty(queue, handler, *, max_attempts: int, rounds: int) -> list:
    results = []
    for _ in range(rounds):
        results.append(pump_queue(queue, NOTIFICATIONS_QUEUE, NOTIFICATIONS_POISON_QUEUE, handler,
                                  max_attempts=max_attempts, visibility_timeout=1))
        if not queue.peek(NOTIFICATIONS_QUEUE) and results[-1].poisoned:
            break
        time.sleep(1.2)
    return results


def test_a_message_failing_every_attempt_ends_in_the_poison_queue(family):
    family.queue.send(NOTIFICATIONS_QUEUE, '{"eventId": "evt_x"}')
    calls = []

    def handler(body, count):
        calls.append(count)
        raise RuntimeError("handler failed")

    results = pump_until_empty(family.queue, handler, max_attempts=3, rounds=6)
    assert calls == [1, 2, 3]  # exactly max_attempts tries, as the host's maxDequeueCount
    assert sum(r.poisoned for r in results) == 1
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    assert [m.body for m in family.queue.peek(NOTIFICATIONS_POISON_QUEUE)] == ['{"eventId": "evt_x"}']


def test_a_message_already_past_its_attempts_is_poisoned_without_running(family):
    """A worker that died while handling it: the host poisons on receipt when the count is past."""
    family.queue.send(NOTIFICATIONS_QUEUE, "m")
    for _ in range(2):
        assert family.queue.receive(NOTIFICATIONS_QUEUE, visibility_timeout=1)
        time.sleep(1.2)
    calls = []
    result = pump_queue(family.queue, NOTIFICATIONS_QUEUE, NOTIFICATIONS_POISON_QUEUE,
                        lambda body, count: calls.append(count), max_attempts=2)
    assert calls == [] and result.poisoned == 1
    assert [m.body for m in family.queue.peek(NOTIFICATIONS_POISON_QUEUE)] == ["m"]


def test_success_deletes_and_the_default_attempts_come_from_settings(api, family):
    data, source, doc = helpers.events()[k.GRANT_EXPIRING]
    api.container.outbox.emit(k.GRANT_EXPIRING, data, source, steps.event_writer(family.documents, source, doc))
    assert api.container.settings.notification_max_attempts == 5
    assert pump_notifications(api.container).handled == 1
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    assert family.queue.peek(NOTIFICATIONS_POISON_QUEUE) == []


def test_poison_list_and_requeue_all_then_delivery_once(api, family):
    data, source, doc = helpers.events()[k.COMMENT_CREATED]
    api.container.outbox.emit(k.COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    [body] = steps.drain(family.queue)
    family.queue.send(NOTIFICATIONS_POISON_QUEUE, body)  # as the host parks it after its last attempt
    family.queue.send(NOTIFICATIONS_POISON_QUEUE, body)  # and a duplicate of it

    out = io.StringIO()
    assert cli.main(["poison", "list"], container=api.container, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[-1] == "2 poisoned notification(s)"
    listed = json.loads(lines[0])
    assert listed["kind"] == k.COMMENT_CREATED and listed["eventId"] == json.loads(body)["eventId"]
    assert helpers.PATIENT_ID not in out.getvalue()  # ids of the event and message only, not its data

    out = io.StringIO()
    assert cli.main(["poison", "requeue", "--all"], container=api.container, out=out) == 0
    assert out.getvalue().strip() == "requeued 2 notification(s)"
    assert family.queue.peek(NOTIFICATIONS_POISON_QUEUE) == []
    assert [m.body for m in family.queue.peek(NOTIFICATIONS_QUEUE)] == [body, body]
    pump_notifications(api.container)
    assert [m["to"] for m in api.container.adapters.mail.list()] == [helpers.PATIENT_EMAIL]


def test_poison_requeue_one_by_message_id_or_event_id(api, family):
    for n in range(3):
        family.queue.send(NOTIFICATIONS_POISON_QUEUE, json.dumps({"eventId": f"evt_{n}", "kind": k.GRANT_EXPIRED}))
    ids = {json.loads(m.body)["eventId"]: m.id for m in family.queue.peek(NOTIFICATIONS_POISON_QUEUE)}
    out = io.StringIO()
    assert cli.main(["poison", "requeue", "--id", ids["evt_1"]], container=api.container, out=out) == 0
    time.sleep(1.5)  # a scan hides the other messages of its batch for a second
    assert cli.main(["poison", "requeue", "--id", "evt_2"], container=api.container, out=out) == 0
    time.sleep(1.5)
    assert cli.main(["poison", "requeue", "--id", "evt_nope"], container=api.container, out=out) == 1
    assert sorted(json.loads(m.body)["eventId"] for m in family.queue.peek(NOTIFICATIONS_QUEUE)) == ["evt_1", "evt_2"]
    time.sleep(1.5)
    assert [json.loads(m.body)["eventId"] for m in family.queue.peek(NOTIFICATIONS_POISON_QUEUE)] == ["evt_0"]


def _job(lesion_id: str) -> str:
    return json.dumps({"clinicId": "cl_service", "referralId": "rf_1", "lesionId": lesion_id,
                       "imageId": f"{lesion_id}-dermoscopic", "queuedAt": "2026-11-29T04:00:00Z", "attempt": 1,
                       "throttled": 0})


def test_decision_support_jobs_are_listed_and_requeued_from_their_own_poison_queue(api, family):
    family.queue.send(NOTIFICATIONS_POISON_QUEUE, json.dumps({"eventId": "evt_n", "kind": k.GRANT_EXPIRED}))
    for lesion_id in ("les_1", "les_2", "les_3"):
        family.queue.send(DECISION_SUPPORT_POISON_QUEUE, _job(lesion_id))

    out = io.StringIO()
    assert cli.main(["poison", "list", "--queue", "decision-support"], container=api.container, out=out) == 0
    *listed, total = out.getvalue().splitlines()
    assert total == "3 poisoned decision-support job(s)"
    assert sorted(json.loads(line)["lesionId"] for line in listed) == ["les_1", "les_2", "les_3"]
    assert json.loads(listed[0])["referralId"] == "rf_1" and "queuedAt" not in listed[0]  # ids only
    out = io.StringIO()
    assert cli.main(["poison", "list"], container=api.container, out=out) == 0  # the default is unchanged
    assert out.getvalue().splitlines()[-1] == "1 poisoned notification(s)"

    # One by its lesion id, then the rest: back to `decision-support`, never to `notifications`.
    out = io.StringIO()
    assert cli.main(["poison", "requeue", "--queue", "decision-support", "--id", "les_2"],
                    container=api.container, out=out) == 0
    assert [json.loads(m.body)["lesionId"] for m in family.queue.peek(DECISION_SUPPORT_QUEUE)] == ["les_2"]
    time.sleep(1.5)  # a scan hides the other messages of its batch for a second
    assert cli.main(["poison", "requeue", "--queue", "decision-support", "--id", "evt_n"],
                    container=api.container, out=out) == 1  # a notification's id is not a job's
    time.sleep(1.5)
    out = io.StringIO()
    assert cli.main(["poison", "requeue", "--all", "--queue", "decision-support"],
                    container=api.container, out=out) == 0
    assert out.getvalue().strip() == "requeued 2 decision-support job(s)"
    assert sorted(json.loads(m.body)["lesionId"] for m in family.queue.peek(DECISION_SUPPORT_QUEUE)) == \
        ["les_1", "les_2", "les_3"]
    assert family.queue.peek(DECISION_SUPPORT_POISON_QUEUE) == []
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    assert [json.loads(m.body)["eventId"] for m in family.queue.peek(NOTIFICATIONS_POISON_QUEUE)] == ["evt_n"]


def test_end_to_end_poison_after_max_attempts_then_requeue_delivers(api, family, clock):
    """Mail down for every attempt: the message is parked; once mail works, a requeue delivers."""
    from shared_code.notifications.dispatcher import NotificationDispatcher
    from shared_code.ports.mail import TransientMailError

    class DownMail:
        def send(self, email):
            raise TransientMailError("Graph is down")

    working = api.container.notifications
    api.container.notifications = NotificationDispatcher(family.documents, DownMail(), api.container.settings, clock)
    api.container.settings = api.container.settings.model_copy(update={"notification_max_attempts": 2})
    data, source, doc = helpers.events()[k.UPLOAD_REJECTED]
    api.container.outbox.emit(k.UPLOAD_REJECTED, data, source, steps.event_writer(family.documents, source, doc))
    for _ in range(3):
        pump_notifications(api.container, visibility_timeout=1)
        if family.queue.peek(NOTIFICATIONS_POISON_QUEUE):
            break
        time.sleep(1.2)
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    assert len(family.queue.peek(NOTIFICATIONS_POISON_QUEUE)) == 1
    api.container.notifications = working
    assert cli.main(["poison", "requeue", "--all"], container=api.container, out=io.StringIO()) == 0
    assert pump_notifications(api.container).handled == 1
    assert [m["subject"] for m in api.container.adapters.mail.list()] == ["A photograph could not be added"]


def test_the_cli_runs_from_the_environment(tmp_path):
    """`python -m shared_code.cli` builds the container from the environment (local mode here)."""
    from shared_code.adapters.local.sqlite_queue import SqliteQueue

    data = tmp_path / "local"
    SqliteQueue(data / "queues.sqlite3").send(NOTIFICATIONS_POISON_QUEUE, json.dumps({"eventId": "evt_cli",
                                                                                      "kind": k.GRANT_EXPIRED}))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("APP_", "MAIL_"))}
    env.update(APP_MODE="local", LOCAL_DATA_DIR=str(data))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "shared_code.cli", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)

    listed = run("poison", "list")
    assert listed.returncode == 0, listed.stderr
    assert '"eventId": "evt_cli"' in listed.stdout
    assert run("poison", "requeue").returncode == 2  # --all or --id is required
    requeued = run("poison", "requeue", "--all")
    assert requeued.returncode == 0 and "requeued 1" in requeued.stdout
    assert [json.loads(m.body)["eventId"] for m in SqliteQueue(data / "queues.sqlite3").peek(NOTIFICATIONS_QUEUE)] \
        == ["evt_cli"]


def test_host_json_agrees_with_the_settings():
    host = json.loads((REPO / "host.json").read_text())
    queues = host["extensions"]["queues"]
    assert queues["maxDequeueCount"] == Settings.model_fields["notification_max_attempts"].default == 5
    # The app writes plain JSON with azure-storage-queue; the host must not expect base64.
    assert queues["messageEncoding"] == "none"
    assert queues["visibilityTimeout"] == "00:00:30"
