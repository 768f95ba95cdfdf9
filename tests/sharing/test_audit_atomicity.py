"""A change and its audit entry are one logical step (shared_code/sharing/audit.py), end to end on
both families, with the fault injected at the document store adapter: a clinician's comment whose
audit write fails is answered 201 and audited by the `complete_audit` timer; a share whose clinic
copy is never written leaves no consent, no copy and no timers' entry. tests/unit/test_audit_atomicity.py
raises at every step on the fakes."""
from __future__ import annotations

import pytest

from functions.schedules_bp import complete_audit_job
from shared_code.ports.documents import Query
from shared_code.settings import AUDIT, CLINICS, DIRECTORY, PATIENTS
from shared_code.sharing.grant_repository import EXPIRY_PARTITION
from tests.support import steps
from tests.support.steps import Scene


def _fail_once(monkeypatch, documents, error: Exception, when) -> None:
    real = documents.create
    armed = [True]

    def create(container, partition_key, doc):
        if armed[0] and when(container, partition_key, doc):
            armed[0] = False
            raise error
        return real(container, partition_key, doc)

    monkeypatch.setattr(documents, "create", create)


def _count(api, container: str, partition: str, doc_type: str) -> int:
    return len(api.container.adapters.documents.query(container, Query(partition, {"type": doc_type}, limit=200)).items)


def _access_log(api, headers) -> list[str]:
    return [e["action"] for e in api.client.get("/api/me/access-log", headers=headers).json()["items"]]


def test_a_comment_whose_audit_write_fails_is_answered_and_audited_by_the_timer(api, monkeypatch):
    scene = Scene(api)
    _fail_once(monkeypatch, api.container.adapters.documents, TimeoutError("audit store down"),
               lambda container, pk, doc: container == AUDIT and doc.get("action") == "comment.created")
    response = api.client.post(scene.url("/comments"), headers=scene.cal, json={"text": "Looks like eczema."})
    assert response.status_code == 201, response.text
    listed = api.client.get(f"/api/folders/{scene.folder_id}/comments", headers=scene.alice).json()["items"]
    assert [c["id"] for c in listed] == [response.json()["id"]]
    assert "comment.created" not in _access_log(api, scene.alice)
    api.container.clock.advance(seconds=31)
    assert complete_audit_job(api.container).confirmed == 1
    assert _access_log(api, scene.alice).count("comment.created") == 1


def test_a_share_whose_clinic_copy_is_not_written_leaves_nothing(api, monkeypatch):
    scene = Scene(api)
    pid = steps.patient_id(api, scene.alice)
    folder_id = steps.folder(api, scene.alice, "second")
    before = {"consent": _count(api, PATIENTS, pid, "consent"), "share": _count(api, PATIENTS, pid, "share"),
              "expiry": _count(api, DIRECTORY, EXPIRY_PARTITION, "grant-expiry"),
              "grant": _count(api, CLINICS, scene.clinic_id, "grant")}
    _fail_once(monkeypatch, api.container.adapters.documents, TimeoutError("clinic copy not written"),
               lambda container, pk, doc: container == CLINICS and doc.get("type") == "grant")
    assert steps.share(api, scene.alice, folder_id, "newcastle-derm").status_code == 500
    api.container.clock.advance(minutes=10, seconds=31)
    assert complete_audit_job(api.container).withdrawn == 1
    after = {"consent": _count(api, PATIENTS, pid, "consent"), "share": _count(api, PATIENTS, pid, "share"),
             "expiry": _count(api, DIRECTORY, EXPIRY_PARTITION, "grant-expiry"),
             "grant": _count(api, CLINICS, scene.clinic_id, "grant")}
    assert after == before
    assert _access_log(api, scene.alice).count("share.created") == 0  # the log shows clinicians' actions only
    assert api.client.get(f"/api/folders/{folder_id}/shares", headers=scene.alice).json()["items"] == []


@pytest.fixture(autouse=True)
def _no_leftover_markers(api):
    yield
    assert _count(api, DIRECTORY, "audit-pending", "audit-pending") == 0
