"""A change and its audit entry (and a share's consent) are one logical step
(shared_code/sharing/audit.py `with_entry`), on the fakes, with a fault at each step: an
acknowledged change is audited (at once, or by the sweeper), and a refused one leaves nothing
(at once, or once the sweeper has withdrawn it)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared_code.access import COMMENT
from shared_code.notifications.outbox import OUTBOX_PARTITION
from shared_code.ports.documents import Query
from shared_code.ports.errors import StoreError
from shared_code.settings import AUDIT, CLINICS, DIRECTORY, PATIENTS
from shared_code.sharing.audit import PENDING_ABANDON_AFTER, PENDING_PARTITION, SWEEP_MIN_AGE
from shared_code.sharing.grant_repository import EXPIRY_PARTITION
from shared_code.sharing.schemas import CommentIn
from tests.unit.conftest import clinician

CAL = clinician("cal")


def _docs(domain, container: str, partition: str, doc_type: str) -> list[dict]:
    page = domain.adapters.documents.query(container, Query(partition, {"type": doc_type}, limit=200))
    return [stored.doc for stored in page.items]


def _actions(domain, who) -> list[str]:
    return sorted(entry["action"] for entry in _docs(domain, AUDIT, who.patient_id, "audit"))


def _pending(domain) -> list[dict]:
    return _docs(domain, DIRECTORY, PENDING_PARTITION, "audit-pending")


def _sweep_later(domain, after: timedelta):
    domain.clock.advance(seconds=after.total_seconds())
    return domain.container.sharing.audit.sweep()


def _share_leftovers(domain, scene) -> dict[str, int]:
    pid = scene.alice.patient_id
    return {"consent": len(_docs(domain, PATIENTS, pid, "consent")), "share": len(_docs(domain, PATIENTS, pid, "share")),
            "expiry": len(_docs(domain, DIRECTORY, EXPIRY_PARTITION, "grant-expiry")),
            "grant": len(_docs(domain, CLINICS, scene.clinic_id, "grant")), "pending": len(_pending(domain))}


NOTHING = {"consent": 0, "share": 0, "expiry": 0, "grant": 0, "pending": 0}
ONE_SHARE = {"consent": 1, "share": 1, "expiry": 1, "grant": 1, "pending": 0}


def _on(container: str, partition: str | None = None, prefix: str | None = None):
    return lambda c, pk, id=None, *_: (c == container and (partition is None or pk == partition)
                                       and (prefix is None or (id or "").startswith(prefix)))


# --- a share: consent, timers' entry, both copies, audit entry ----------------------------------------
@pytest.mark.parametrize("step, when", [
    ("the pending marker", _on(DIRECTORY, PENDING_PARTITION)),
    ("the consent", _on(PATIENTS, prefix="cs_")),
    ("the timers' entry", _on(DIRECTORY, EXPIRY_PARTITION)),
    ("the patient's copy", _on(PATIENTS, prefix="g_")),
    ("the outbox marker", _on(DIRECTORY, OUTBOX_PARTITION)),
    ("the clinic's copy", _on(CLINICS, prefix="g_")),
])
@pytest.mark.parametrize("error", [TimeoutError("store down"), StoreError("refused")], ids=["timeout", "refused"])
def test_a_share_that_fails_at_any_step_leaves_nothing(domain, scene, step, when, error):
    domain.adapters.documents.faults.fail("create", error, when=when)
    with pytest.raises(type(error)):
        domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")
    _sweep_later(domain, PENDING_ABANDON_AFTER + SWEEP_MIN_AGE)
    assert _share_leftovers(domain, scene) == NOTHING, step
    assert _actions(domain, scene.alice) == []
    # and the patient can share again
    domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")
    assert _share_leftovers(domain, scene) == ONE_SHARE


def test_a_refused_share_leaves_no_consent_at_once(domain, scene):
    domain.adapters.documents.faults.fail("create", StoreError("refused"), when=_on(CLINICS, prefix="g_"))
    with pytest.raises(StoreError):
        domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")
    assert _share_leftovers(domain, scene) == NOTHING  # no sweep needed


@pytest.mark.parametrize("operation, when", [
    ("create", _on(AUDIT)),                          # the entry itself
    ("delete", _on(DIRECTORY, PENDING_PARTITION)),   # the marker, after the entry
])
def test_a_share_whose_audit_write_fails_is_still_made_and_audited_by_the_sweeper(domain, scene, operation, when):
    domain.adapters.documents.faults.fail(operation, TimeoutError("audit down"), when=when)
    grant = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")  # acknowledged: no 500
    assert domain.container.access.grant(CAL, scene.clinic_id, grant["id"], COMMENT).grant.id == grant["id"]
    assert _sweep_later(domain, SWEEP_MIN_AGE).confirmed == 1
    assert _actions(domain, scene.alice) == ["share.created"]  # once, even if it was written before
    assert _share_leftovers(domain, scene) == ONE_SHARE
    assert domain.container.sharing.audit.sweep().confirmed == 0


def test_the_sweeper_leaves_a_young_marker_and_an_unsettled_one_alone(domain, scene):
    domain.adapters.documents.faults.fail("create", TimeoutError("lost"), when=_on(CLINICS, prefix="g_"))
    with pytest.raises(TimeoutError):
        domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")
    assert domain.container.sharing.audit.sweep().waiting == 1          # may still be in flight
    assert _sweep_later(domain, SWEEP_MIN_AGE).waiting == 1             # not yet abandoned
    assert _share_leftovers(domain, scene)["pending"] == 1
    assert _sweep_later(domain, PENDING_ABANDON_AFTER).withdrawn == 1


# --- a clinician's comment: the comment, its notification, its audit entry ------------------------------
def _comment(domain, scene, text: str = "Looks like eczema."):
    checked = domain.container.access.grant(CAL, scene.clinic_id, scene.grant_id, COMMENT)
    return domain.container.sharing.comments.add_by_clinician(CAL, checked.clinic, checked.grant, CommentIn(text=text))


@pytest.fixture
def shared(domain, scene):
    scene.grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")["id"]
    return scene


def _comments(domain, scene) -> list[dict]:
    return _docs(domain, PATIENTS, scene.alice.patient_id, "comment")


def test_a_comment_whose_audit_write_fails_is_answered_and_audited_by_the_sweeper(domain, shared):
    """Issue 11.4: the comment was stored and the patient told, but the client got a 500 and no entry."""
    domain.adapters.documents.faults.fail("create", TimeoutError("audit down"), when=_on(AUDIT))
    comment = _comment(domain, shared)
    assert [c["id"] for c in _comments(domain, shared)] == [comment.id]
    assert _actions(domain, shared.alice) == ["share.created"]
    _sweep_later(domain, SWEEP_MIN_AGE)
    assert _actions(domain, shared.alice) == ["comment.created", "share.created"]
    entry = next(e for e in _docs(domain, AUDIT, shared.alice.patient_id, "audit") if e["action"] == "comment.created")
    assert entry["commentId"] == comment.id and "text" not in entry
    assert _pending(domain) == []


@pytest.mark.parametrize("error", [TimeoutError("store down"), StoreError("refused")], ids=["timeout", "refused"])
def test_a_comment_that_is_not_stored_is_never_audited(domain, shared, error):
    domain.adapters.documents.faults.fail("create", error, when=_on(PATIENTS, prefix="cm_"))
    with pytest.raises(type(error)):
        _comment(domain, shared)
    _sweep_later(domain, PENDING_ABANDON_AFTER + SWEEP_MIN_AGE)
    assert _comments(domain, shared) == [] and _actions(domain, shared.alice) == ["share.created"]
    assert _pending(domain) == []


def test_a_comment_stored_whose_answer_was_lost_is_audited(domain, shared):
    domain.adapters.documents.faults.fail("create", TimeoutError("answer lost"), after=True,
                                          when=_on(PATIENTS, prefix="cm_"))
    with pytest.raises(TimeoutError):
        _comment(domain, shared)
    _sweep_later(domain, SWEEP_MIN_AGE)
    assert len(_comments(domain, shared)) == 1
    assert _actions(domain, shared.alice) == ["comment.created", "share.created"]


def test_no_marker_no_change(domain, shared):
    domain.adapters.documents.faults.fail("create", TimeoutError("store down"), when=_on(DIRECTORY, PENDING_PARTITION))
    with pytest.raises(TimeoutError):
        _comment(domain, shared)
    assert _comments(domain, shared) == [] and _docs(domain, DIRECTORY, OUTBOX_PARTITION, "outbox") == []


def test_the_sweeper_runs_as_a_timer_every_minute_and_locally():
    from functions import schedules_bp
    from functions.local_triggers import local_jobs
    from tests.support.indexed import indexed_functions

    [timer] = indexed_functions()["complete_audit"]
    assert timer["type"] == "timerTrigger" and timer["schedule"] == "0 */1 * * * *"
    assert {job.name: job.run for job in local_jobs()}["complete_audit"] is schedules_bp.complete_audit_job


def test_the_timer_job_sweeps_the_containers_audit(domain, scene):
    from functions.schedules_bp import complete_audit_job

    domain.adapters.documents.faults.fail("create", TimeoutError("audit down"), when=_on(AUDIT))
    domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")
    domain.clock.advance(seconds=SWEEP_MIN_AGE.total_seconds())
    assert complete_audit_job(domain.container).confirmed == 1


# --- clinic administration: a clinic onboarded, a member added -----------------------------------------
def _clinic_actions(domain, clinic_id: str) -> list[str]:
    return sorted(e["action"] for e in _docs(domain, AUDIT, f"clinic:{clinic_id}", "audit"))


def test_a_member_whose_audit_write_fails_is_added_and_audited_by_the_sweeper(domain, scene):
    domain.adapters.documents.faults.fail("create", TimeoutError("audit down"), when=_on(AUDIT))
    member = domain.member(scene.clinic_id, "dee@nhs.net")
    assert member.email == "dee@nhs.net"
    _sweep_later(domain, SWEEP_MIN_AGE)
    assert _clinic_actions(domain, scene.clinic_id).count("member.added") == 3  # ada, cal, dee


def test_an_existing_member_refused_keeps_its_record_and_adds_no_entry(domain, scene):
    from shared_code.errors import MemberExists

    before = _clinic_actions(domain, scene.clinic_id)
    with pytest.raises(MemberExists):
        domain.member(scene.clinic_id, "cal@nhs.net")
    _sweep_later(domain, PENDING_ABANDON_AFTER + SWEEP_MIN_AGE)
    assert _clinic_actions(domain, scene.clinic_id) == before and _pending(domain) == []
    assert domain.container.sharing.member_records.get(scene.clinic_id, scene.cal_member_id) is not None


def test_a_clinic_whose_audit_write_fails_is_onboarded_and_audited_by_the_sweeper(domain):
    domain.adapters.documents.faults.fail("create", TimeoutError("audit down"),
                                          when=lambda c, pk, id=None, *_: c == AUDIT and id and pk.startswith("clinic:"),
                                          times=1)
    clinic_id = domain.clinic("BETA-DERM")
    assert "clinic.created" not in _clinic_actions(domain, clinic_id)
    _sweep_later(domain, SWEEP_MIN_AGE)
    assert _clinic_actions(domain, clinic_id) == ["clinic.created", "member.added"]


# --- a revocation and a member's removal: the change proven by the document's state -------------------
def _clinic_actions(domain, clinic_id: str) -> list[str]:
    return sorted(entry["action"] for entry in _docs(domain, AUDIT, f"clinic:{clinic_id}", "audit"))


@pytest.mark.parametrize("error", [TimeoutError("store down"), StoreError("refused")], ids=["timeout", "refused"])
def test_a_revocation_whose_audit_write_fails_is_audited_by_the_sweeper(domain, scene, error):
    grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")["id"]
    domain.adapters.documents.faults.fail("create", error, when=_on(AUDIT))
    domain.container.sharing.grants.revoke(None, scene.alice.patient_id, grant_id)  # acknowledged
    assert "share.revoked" not in _actions(domain, scene.alice)
    _sweep_later(domain, SWEEP_MIN_AGE)
    assert _actions(domain, scene.alice).count("share.revoked") == 1
    assert _pending(domain) == []


def test_a_revocation_that_never_reached_the_clinic_copy_is_not_audited(domain, scene):
    grant_id = domain.share(scene.alice, scene.folder_id, "ALPHA-DERM")["id"]
    domain.adapters.documents.faults.fail("replace", TimeoutError("lost"), when=_on(CLINICS, prefix="g_"))
    with pytest.raises(TimeoutError):
        domain.container.sharing.grants.revoke(None, scene.alice.patient_id, grant_id)
    _sweep_later(domain, PENDING_ABANDON_AFTER + SWEEP_MIN_AGE)
    assert "share.revoked" not in _actions(domain, scene.alice)
    assert _pending(domain) == []


@pytest.mark.parametrize("error", [TimeoutError("store down"), StoreError("refused")], ids=["timeout", "refused"])
def test_a_removal_whose_audit_write_fails_is_audited_by_the_sweeper(domain, scene, error):
    domain.adapters.documents.faults.fail("create", error, when=_on(AUDIT))
    domain.container.sharing.members.remove(CAL, scene.clinic_id, scene.cal_member_id)
    assert "member.removed" not in _clinic_actions(domain, scene.clinic_id)
    _sweep_later(domain, SWEEP_MIN_AGE)
    assert _clinic_actions(domain, scene.clinic_id).count("member.removed") == 1


def test_a_removal_that_did_not_happen_is_not_audited(domain, scene):
    domain.adapters.documents.faults.fail("delete", TimeoutError("lost"), when=_on(CLINICS, prefix="m_"))
    with pytest.raises(TimeoutError):
        domain.container.sharing.members.remove(CAL, scene.clinic_id, scene.cal_member_id)
    _sweep_later(domain, PENDING_ABANDON_AFTER + SWEEP_MIN_AGE)
    assert "member.removed" not in _clinic_actions(domain, scene.clinic_id)
    assert _pending(domain) == []
