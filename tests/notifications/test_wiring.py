"""How the notifications area is wired: the Functions triggers, the local jobs, the adapters, and
GET /api/dev/outbox end to end."""
from __future__ import annotations

from shared_code.notifications import contract as k
from shared_code.notifications.pump import pump_notifications
from shared_code.settings import NOTIFICATIONS_QUEUE
from tests.notifications import helpers
from tests.support import steps
from tests.notifications.conftest import assert_nothing_personal


def _bindings():
    from tests.support.indexed import indexed_functions

    return {name: bindings[-1] for name, bindings in indexed_functions().items()}


def test_function_app_registers_the_queue_trigger_and_the_timer():
    bindings = _bindings()
    queue = bindings["notifications_queue"]
    assert (queue["type"], queue["queueName"], queue["connection"]) == ("queueTrigger", NOTIFICATIONS_QUEUE,
                                                                        "AzureWebJobsStorage")
    timer = bindings["sweep_outbox_timer"]
    assert timer["type"] == "timerTrigger" and timer["schedule"] == "0 */1 * * * *"
    assert timer["runOnStartup"] is False and timer["useMonitor"] is True


def test_the_queue_trigger_calls_the_handler_with_body_and_dequeue_count(api, family, monkeypatch):
    from azure.functions.queue import QueueMessage  # what the Python worker hands the function

    from functions import notifications_bp, runtime

    data, source, doc = helpers.events()[k.COMMENT_CREATED]
    api.container.outbox.emit(k.COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    [body] = steps.drain(family.queue)
    monkeypatch.setattr(runtime, "_lazy", type("Fixed", (), {"get": lambda self: api.container})())
    message = QueueMessage(id="m1", body=body.encode(), dequeue_count=1)
    notifications_bp.notifications_queue(message)
    notifications_bp.notifications_queue(message)  # redelivered: told once
    assert [m["to"] for m in api.container.adapters.mail.list()] == [helpers.PATIENT_EMAIL]
    notifications_bp.sweep_outbox_timer(None)


def test_local_jobs_run_the_pump_and_the_sweeper():
    from functions.local_triggers import local_jobs

    jobs = {job.name: job for job in local_jobs()}
    assert jobs["notifications"].every_seconds <= 1
    assert jobs["sweep_outbox"].every_seconds == 30


def test_local_adapters_keep_mail_in_the_data_directory(tmp_path):
    from shared_code.adapters.factory import build_adapters
    from shared_code.adapters.local.outbox_mail import LocalOutboxMail
    from shared_code.container import Container
    from shared_code.settings import Settings

    settings = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(tmp_path))
    container = Container(settings, build_adapters(settings))
    assert isinstance(container.adapters.mail, LocalOutboxMail)
    assert (tmp_path / "outbox.sqlite3").exists()
    assert container.outbox is not None and container.notifications is not None


def test_dev_outbox_returns_what_was_sent_newest_first(api, family):
    assert api.client.get("/api/dev/outbox").json() == {"items": []}
    for kind in (k.SHARE_CREATED, k.COMMENT_CREATED):
        data, source, doc = helpers.events()[kind]
        api.container.outbox.emit(kind, data, source, steps.event_writer(family.documents, source, doc))
        pump_notifications(api.container)
    response = api.client.get("/api/dev/outbox")  # public: no token
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(i["to"], i["subject"]) for i in items] == [
        (helpers.PATIENT_EMAIL, "You have a new comment"),
        (helpers.CLINIC_EMAIL, f"A patient has shared photographs with {helpers.CLINIC_NAME}"),
    ]
    assert set(items[0]) == {"to", "subject", "text", "html", "sentAt"}
    assert items[0]["sentAt"] >= items[1]["sentAt"]
    for item in items:
        assert_nothing_personal(item["text"] + item["html"])
    assert [i["to"] for i in api.client.get("/api/dev/outbox?limit=1").json()["items"]] == [helpers.PATIENT_EMAIL]
    assert api.client.get("/api/dev/outbox?limit=0").status_code == 422
    assert "/api/dev/outbox" in api.client.get("/api/openapi.json").json()["paths"]


def test_end_to_end_a_patient_account_made_through_the_api_is_notified(api, family):
    """The account comes from PUT /api/me; the comment event from the outbox (no comment endpoint
    yet); the mail shows in the dev outbox."""
    headers = api.patient("bob", "Bob Example", email="bob@example.org", nhsNumber=helpers.NHS_NUMBER)
    patient_id = api.container.tokens.validate(headers["Authorization"][len("Bearer "):]).patient_id
    source = k.SourceRef("patients", patient_id, "cmt_e2e")
    data = {"patientId": patient_id, "folderId": "fld_e2e", "commentId": "cmt_e2e"}
    comment = {"type": "comment", "text": helpers.COMMENT_TEXT}
    api.container.outbox.emit(k.COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, comment))
    pump_notifications(api.container)
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    [item] = api.client.get("/api/dev/outbox").json()["items"]
    assert item["to"] == "bob@example.org" and item["subject"] == "You have a new comment"
    assert "Bob" not in item["text"] and helpers.NHS_NUMBER not in item["text"] + item["html"]

