"""Retention end to end on both adapter families, with a FrozenClock and the timer's own job
(functions/schedules_bp.apply_retention_job): an unused account is told once by mail (ids only in
the queue), then erased after the notice, images and all; signing in cancels; a legal hold set by
the CLI keeps a patient; an erased patient's audit trail goes after RETENTION_AUDIT_DAYS; each run
is audited with its counts."""
from __future__ import annotations

import io
import json

from functions.schedules_bp import apply_retention_job
from shared_code import cli
from shared_code.notifications.pump import pump_notifications
from shared_code.ports.documents import Query
from shared_code.retention.repository import RUNS
from shared_code.settings import AUDIT, IMAGES_CONTAINER, NOTIFICATIONS_QUEUE
from tests.support.steps import folder, jpeg, patient_id

ALICE = "alice.smith@example.org"


def _alice(api):
    headers = api.patient("alice", "Alice Smith", email=ALICE)
    folder_id = folder(api, headers, label="mole on left shoulder")
    response = api.client.post(f"/api/folders/{folder_id}/images", content=jpeg(1), headers={
        **headers, "content-type": "image/jpeg"})
    assert response.status_code == 201, response.text
    assert api.client.get("/api/me", headers=headers).status_code == 200  # the app signs in
    return headers


def _mails(api) -> list[dict]:
    mail = api.container.adapters.mail
    before = mail.count()
    pump_notifications(api.container)
    return mail.list(mail.count() - before) if mail.count() > before else []


def _audit(api, partition: str) -> list[dict]:
    return [s.doc for s in api.container.adapters.documents.query(AUDIT, Query(partition, limit=200)).items]


def test_an_unused_account_is_told_then_erased_and_each_run_is_audited(api):
    headers = _alice(api)
    pid = patient_id(api, headers)
    _mails(api)
    s, clock = api.container.settings, api.container.clock
    clock.advance(days=s.retention_inactive_account_days)
    assert apply_retention_job(api.container)["inactive_notices_sent"] == 1
    body = json.dumps([json.loads(m.body) for m in api.container.adapters.queue.peek(NOTIFICATIONS_QUEUE)])
    assert ALICE not in body and "Alice" not in body and "mole" not in body
    [mail] = _mails(api)
    assert mail["to"] == ALICE and "Alice" not in mail["text"] and "mole" not in mail["text"]
    assert apply_retention_job(api.container).get("inactive_notices_sent", 0) == 0

    clock.advance(days=s.retention_inactive_notice_days)
    assert apply_retention_job(api.container)["inactive_accounts_erased"] == 1
    assert api.client.get("/api/me", headers=headers).status_code == 404
    assert list(api.container.adapters.blobs.list(IMAGES_CONTAINER, f"{pid}/")) == []
    assert _mails(api) == []
    runs = _audit(api, RUNS)
    assert len(runs) == 3 and all(r["type"] == "retention-run" for r in runs)
    assert sorted(r["counts"].get("inactive_accounts_erased", 0) for r in runs) == [0, 0, 1]


def test_signing_in_cancels_and_a_legal_hold_keeps_the_patient(api):
    headers = _alice(api)
    bob = api.patient("bob", "Bob")  # created, never used again: creating it started the clock
    s, clock = api.container.settings, api.container.clock
    out = io.StringIO()
    assert cli.main(["legal-hold", "set", "--patient", patient_id(api, bob), "--reason", "CASE-42", "--by", "ops"],
                    container=api.container, out=out) == 0
    clock.advance(days=s.retention_inactive_account_days)
    counts = apply_retention_job(api.container)
    assert counts["inactive_notices_sent"] == 1 and counts["patients_on_hold_skipped"] == 1
    clock.advance(days=s.retention_inactive_notice_days - 1)
    assert api.client.get("/api/me", headers=headers).status_code == 200  # alice comes back
    clock.advance(days=2)
    counts = apply_retention_job(api.container)
    assert counts.get("inactive_accounts_erased", 0) == 0 and counts.get("inactive_notices_sent", 0) == 0
    assert api.client.get("/api/me", headers=bob).status_code == 200
    assert [e["action"] for e in _audit(api, patient_id(api, bob)) if e["action"].startswith("legal_hold")] == [
        "legal_hold.set"]


def test_an_erased_patients_audit_trail_goes_after_its_period(api):
    headers = _alice(api)
    pid = patient_id(api, headers)
    assert api.client.get("/api/me/access-log", headers=headers).status_code == 200
    assert api.client.delete("/api/me", headers=headers).status_code == 202
    assert _audit(api, pid)  # kept after erasure: the organisation's accountability record
    api.container.clock.advance(days=api.container.settings.retention_audit_days)
    counts = apply_retention_job(api.container)
    assert counts["audit_trails_deleted"] == 1 and _audit(api, pid) == []
